<?php
/**
 * The plugin's two settings.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Where stocksync lives and the key it knows this store by. Read on every use, not
 * cached, so a change on the settings page applies to the very next request.
 */
final class Options {

	public const URL     = 'stocksync_url';
	public const API_KEY = 'stocksync_api_key';

	public static function url(): string {
		return (string) get_option( self::URL, '' );
	}

	public static function api_key(): string {
		return (string) get_option( self::API_KEY, '' );
	}

	/** Until both are set the plugin queues and sends nothing. */
	public static function is_connected(): bool {
		return '' !== self::url() && '' !== self::api_key();
	}

	/**
	 * Creates both options, which makes them autoloaded: without a persistent object
	 * cache, reading an option that does not exist costs a query on every request.
	 * add_option() leaves an existing value alone, so reactivating keeps the settings.
	 */
	public static function add(): void {
		add_option( self::URL, '' );
		add_option( self::API_KEY, '' );
	}

	public static function delete(): void {
		delete_option( self::URL );
		delete_option( self::API_KEY );
	}
}
