<?php
/**
 * Sends the fixture store to a real stocksync, through the plugin's own code.
 *
 * Usage: STOCKSYNC_API_KEY=<api key> php plugins/stocksync-woocommerce/tests/harness/send.php <stocksync base URL>
 *
 * The key comes from the environment: a command line is readable by every user of the machine.
 *
 * Loads the same stubs as the tests and the real plugin file, fires the hooks as
 * WooCommerce would (an order created, a product updated, a customer created, a
 * category updated) and ends the request: the plugin groups by resource and action, so
 * that is 4 requests, each with `data` a list of one record. Here wp_remote_post
 * really posts, blocking, and prints one JSON line per request: {"resource", "action",
 * "status", "body"}. Exit 0 once every request got an answer, whatever its status; 1
 * if one could not be made (the plugin's own log line says why, on stderr).
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

$stocksync_api_key = (string) getenv( 'STOCKSYNC_API_KEY' );
if ( 2 !== $argc || '' === $stocksync_api_key ) {
	fwrite( STDERR, "usage: STOCKSYNC_API_KEY=<api key> php {$argv[0]} <stocksync base URL>\n" );
	exit( 2 );
}

define( 'ABSPATH', dirname( __DIR__, 2 ) . '/' );

require __DIR__ . '/../stubs/wordpress.php';
require __DIR__ . '/../stubs/woocommerce.php';
require __DIR__ . '/../../stocksync-woocommerce.php';
require __DIR__ . '/../fixtures.php';

/**
 * The transport: the request for real, over PHP's streams. Blocking whatever the
 * plugin asked, since the point is to see the answer.
 *
 * @return array|WP_Error As wp_remote_post.
 */
function stocksync_harness_post( string $url, array $args ) {
	$headers = [];
	foreach ( $args['headers'] as $name => $value ) {
		$headers[] = "{$name}: {$value}";
	}
	$context = stream_context_create(
		[
			'http' => [
				'method'          => 'POST',
				'header'          => implode( "\r\n", $headers ),
				'content'         => $args['body'],
				'ignore_errors'   => true,
				'timeout'         => 10,
				'follow_location' => 0, // As 'redirection' => 0.
			],
		]
	);
	$http_response_header = [];
	$answer               = @file_get_contents( $url, false, $context ); // phpcs:ignore WordPress.PHP.NoSilencedErrors -- the failure is reported below.
	if ( false === $answer || ! preg_match( '#^HTTP/\S+\s+(\d{3})#', $http_response_header[0] ?? '', $match ) ) {
		$GLOBALS['stocksync_harness_failures']++;
		return new WP_Error( 'http_request_failed', error_get_last()['message'] ?? 'no answer' );
	}
	$status   = (int) $match[1];
	$envelope = json_decode( $args['body'], true );
	$decoded  = json_decode( $answer, true );
	echo json_encode(
		[
			'resource' => $envelope['resource'],
			'action'   => $envelope['action'],
			'status'   => $status,
			'body'     => JSON_ERROR_NONE === json_last_error() ? $decoded : $answer,
		],
		JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE
	) . "\n";
	return [ 'headers' => [], 'body' => $answer, 'response' => [ 'code' => $status, 'message' => '' ] ];
}

$GLOBALS['stocksync_harness_failures'] = 0;
$GLOBALS['wp_test_transport']          = 'stocksync_harness_post';

update_option( 'stocksync_url', $argv[1] );
update_option( 'stocksync_api_key', $stocksync_api_key );
do_action( 'plugins_loaded' );

$ids = stocksync_fixtures();
do_action( 'woocommerce_new_order', $ids['order'], wc_get_order( $ids['order'] ) );
do_action( 'woocommerce_update_product', $ids['product'], wc_get_product( $ids['product'] ) );
do_action( 'woocommerce_created_customer', $ids['customer'], [ 'user_email' => 'ann@example.com' ], false );
do_action( 'edited_product_cat', $ids['category'], $ids['category'] );
do_action( 'shutdown' );

// One request per resource and action fired above.
$expected = 4;
$made     = count( $GLOBALS['wp_test_requests'] ) - $GLOBALS['stocksync_harness_failures'];
if ( $made !== $expected ) {
	fwrite( STDERR, "stocksync harness: {$made} of {$expected} requests got an answer (see the stocksync: lines above)\n" );
	exit( 1 );
}
exit( 0 );
