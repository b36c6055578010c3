<?php
/**
 * One log line per failure.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Writes to PHP's error log, the one place a store owner or host looks when something
 * silently did not sync: `stocksync: <resource> <id>: <message>` for one entity that
 * could not be read, encoded or made acceptable to stocksync (Unsendable),
 * `stocksync: <resource> (<n> records): <message>` for a
 * request that could not be made.
 */
final class Logger {

	/** One entity. */
	public static function error( string $resource, int $id, string $message ): void {
		self::write( sprintf( '%s %d', $resource, $id ), $message );
	}

	/** One request: it names the resource and how many records it carried, never the body. */
	public static function request_error( string $resource, int $count, string $message ): void {
		self::write( sprintf( '%s (%d %s)', $resource, $count, 1 === $count ? 'record' : 'records' ), $message );
	}

	/**
	 * The message comes from exceptions and HTTP errors we do not control, so the API
	 * key is masked should one of them ever quote it. Callers never pass the body.
	 */
	private static function write( string $subject, string $message ): void {
		$key = Options::api_key();
		if ( '' !== $key ) {
			$message = str_replace( $key, '[api key]', $message );
		}
		error_log( sprintf( 'stocksync: %s: %s', $subject, $message ) ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log
	}
}
