<?php
/**
 * A record stocksync would refuse.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Thrown by Payloads for a record no change can make acceptable to the endpoint (which
 * would refuse the whole request it is in). The message says why and ends with "not
 * sent"; it never quotes the value, which may be personal.
 */
final class Unsendable extends \RuntimeException {
}
