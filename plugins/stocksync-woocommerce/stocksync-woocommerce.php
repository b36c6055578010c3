<?php
/**
 * Plugin Name:          stocksync for WooCommerce
 * Description:          Sends this store's orders, products, customers and categories to stocksync as they change.
 * Version:              1.0.0
 * Requires PHP:         7.4
 * Requires Plugins:     woocommerce
 * WC requires at least: 6.0
 * License:              GPL-2.0-or-later
 * License URI:          https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:          stocksync-woocommerce
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

defined( 'ABSPATH' ) || exit;

require_once __DIR__ . '/includes/class-options.php';
require_once __DIR__ . '/includes/class-logger.php';
require_once __DIR__ . '/includes/class-text.php';
require_once __DIR__ . '/includes/class-unsendable.php';
require_once __DIR__ . '/includes/class-payloads.php';
require_once __DIR__ . '/includes/class-sender.php';
require_once __DIR__ . '/includes/class-settings-page.php';
require_once __DIR__ . '/includes/class-plugin.php';

register_activation_hook( __FILE__, array( \Stocksync\WooCommerce\Plugin::class, 'activate' ) );
register_deactivation_hook( __FILE__, array( \Stocksync\WooCommerce\Plugin::class, 'deactivate' ) );
add_action( 'plugins_loaded', array( \Stocksync\WooCommerce\Plugin::class, 'boot' ) );
