<?php
/**
 * PHPUnit's bootstrap: the WordPress and WooCommerce stubs, then the plugin's file
 * loaded as WordPress loads it.
 *
 * With STOCKSYNC_CAPTURE_DIR set, every request body is also written there, exactly as
 * sent, as NNN-<resource>-<action>.json: a Python test posts them to the real endpoint.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

define( 'ABSPATH', __DIR__ . '/' );

require __DIR__ . '/stubs/wordpress.php';
require __DIR__ . '/stubs/woocommerce.php';
require __DIR__ . '/../stocksync-woocommerce.php';
require __DIR__ . '/fixtures.php';
require __DIR__ . '/PluginTestCase.php';

// The hooks as WordPress has them right after loading the plugin: each test starts here.
$GLOBALS['stocksync_test_loaded_actions'] = $GLOBALS['wp_test_actions'];

$stocksync_capture_dir = (string) getenv( 'STOCKSYNC_CAPTURE_DIR' );
if ( '' !== $stocksync_capture_dir ) {
	if ( ! is_dir( $stocksync_capture_dir ) && ! mkdir( $stocksync_capture_dir, 0777, true ) ) {
		throw new RuntimeException( "cannot create {$stocksync_capture_dir}" );
	}
	$GLOBALS['wp_test_request_listeners'][] = static function ( string $url, array $args ) use ( $stocksync_capture_dir ): void {
		static $count = 0;
		$envelope = json_decode( $args['body'], true, 512, JSON_THROW_ON_ERROR );
		$name     = sprintf( '%03d-%s-%s.json', ++$count, $envelope['resource'], $envelope['action'] );
		file_put_contents( $stocksync_capture_dir . '/' . $name, $args['body'] );
	};
}
