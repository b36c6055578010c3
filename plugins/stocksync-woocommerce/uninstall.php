<?php
/**
 * Deleting the plugin deletes its settings, the API key included.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

require_once __DIR__ . '/includes/class-options.php';

\Stocksync\WooCommerce\Options::delete();
