<?php
/**
 * Queueing, once per request, skipping, grouping into requests, failures, and the
 * request itself.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

use Stocksync\WooCommerce\Options;
use Stocksync\WooCommerce\Payloads;
use Stocksync\WooCommerce\Sender;

final class SenderTest extends PluginTestCase {

	/** @return array<string, array{string}> */
	public function missing_options(): array {
		return [
			'no URL' => [ Options::URL ],
			'no key' => [ Options::API_KEY ],
		];
	}

	/** @dataProvider missing_options */
	public function test_nothing_is_sent_unless_both_options_are_set( string $missing ): void {
		update_option( $missing, '' );

		$this->fire_one_of_each();
		do_action( 'shutdown' );

		$this->assertSame( [], $GLOBALS['wp_test_requests'] );
	}

	public function test_nothing_is_sent_when_disconnected_before_the_request_ends(): void {
		$this->fire_one_of_each();
		delete_option( Options::API_KEY );
		do_action( 'shutdown' );

		$this->assertSame( [], $GLOBALS['wp_test_requests'] );
	}

	public function test_one_post_per_resource_and_action_each_a_list_even_of_one(): void {
		$this->fire_one_of_each();
		do_action( 'shutdown' );

		$this->assertSame(
			[ 'order created 101', 'product updated 201', 'customer created 301', 'category updated 11' ],
			$this->sent_summary()
		);
	}

	public function test_created_then_updated_is_one_record_created(): void {
		do_action( 'woocommerce_new_order', 101, wc_get_order( 101 ) );
		do_action( 'woocommerce_update_order', 101, wc_get_order( 101 ) );
		do_action( 'woocommerce_update_order', 101, wc_get_order( 101 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'order created 101' ], $this->sent_summary() );
	}

	public function test_updated_then_created_is_one_record_created(): void {
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_new_product', 201, wc_get_product( 201 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'product created 201' ], $this->sent_summary() );
	}

	public function test_two_updates_are_one_record(): void {
		do_action( 'woocommerce_update_customer', 301 );
		do_action( 'woocommerce_update_customer', 301 );
		do_action( 'shutdown' );

		$this->assertSame( [ 'customer updated 301' ], $this->sent_summary() );
	}

	public function test_two_products_updated_are_one_post_of_two_records(): void {
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_update_product_variation', 205, wc_get_product( 205 ) );
		do_action( 'shutdown' );

		$this->assertSame(
			[
				[
					'resource' => 'product',
					'action'   => 'updated',
					// Field by field, PayloadsTest pins what Payloads gives.
					'data'     => [ Payloads::product( wc_get_product( 201 ) ), Payloads::product( wc_get_product( 205 ) ) ],
				],
			],
			$this->sent()
		);
	}

	public function test_a_multi_record_body_byte_for_byte(): void {
		do_action( 'edited_product_cat', 11, 111 );
		do_action( 'edited_product_cat', 12, 112 );
		do_action( 'shutdown' );

		$this->assertCount( 1, $GLOBALS['wp_test_requests'] );
		$this->assertSame(
			'{"resource":"category","action":"updated","data":['
				. '{"wc_category_id":11,"name":"Clothing","slug":"clothing","parent_id":0,"product_count":3},'
				. '{"wc_category_id":12,"name":"Hoodies","slug":"hoodies","parent_id":11,"product_count":1}]}',
			$GLOBALS['wp_test_requests'][0]['args']['body']
		);
	}

	public function test_an_order_and_a_product_are_two_posts(): void {
		do_action( 'woocommerce_update_order', 101, wc_get_order( 101 ) );
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'order updated 101', 'product updated 201' ], $this->sent_summary() );
	}

	public function test_groups_go_in_the_order_their_first_entity_changed(): void {
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_update_order', 102, wc_get_order( 102 ) );
		do_action( 'woocommerce_new_product', 206, wc_get_product( 206 ) );
		do_action( 'woocommerce_update_product', 203, wc_get_product( 203 ) );
		do_action( 'woocommerce_update_customer', 302 );
		do_action( 'woocommerce_new_product_variation', 204, wc_get_product( 204 ) );
		do_action( 'woocommerce_new_order', 101, wc_get_order( 101 ) );
		do_action( 'shutdown' );

		$this->assertSame(
			[
				'product updated 201 203',
				'order updated 102',
				'product created 206 204',
				'customer updated 302',
				'order created 101',
			],
			$this->sent_summary()
		);
	}

	public function test_250_products_are_three_posts_of_100_100_and_50(): void {
		$ids = $this->add_products( 1001, 1250 );
		foreach ( $ids as $id ) {
			do_action( 'woocommerce_update_product', $id, wc_get_product( $id ) );
		}
		do_action( 'shutdown' );

		$sent = $this->sent();
		$this->assertSame( [ 100, 100, 50 ], array_map( static fn( array $envelope ): int => count( $envelope['data'] ), $sent ) );
		$this->assertSame( $ids, array_merge( ...array_map( static fn( array $envelope ): array => array_column( $envelope['data'], 'wc_product_id' ), $sent ) ) );
		foreach ( $sent as $envelope ) {
			$this->assertSame( [ 'product', 'updated' ], [ $envelope['resource'], $envelope['action'] ] );
		}
		$this->assertSame( 100, Sender::MAX_RECORDS );
	}

	public function test_large_orders_are_split_to_stay_under_the_byte_budget(): void {
		// Some 2,600 line items make an order of about 400 KB: two fit in MAX_BYTES, three do not.
		$ids = range( 1101, 1105 );
		foreach ( $ids as $id ) {
			$items = [];
			for ( $i = 1; $i <= 2600; $i++ ) {
				$items[] = new WC_Order_Item_Product(
					[
						'id'           => $id * 10000 + $i,
						'product_id'   => 201,
						'variation_id' => 0,
						'name'         => 'Plugin T-shirt',
						'quantity'     => 1,
						'subtotal'     => '19.99',
						'total'        => '19.99',
					]
				);
			}
			$GLOBALS['wc_test_orders'][ $id ] = wc_get_order( 101 )->with( [ 'id' => $id, 'number' => (string) $id, 'items' => $items ] );
			do_action( 'woocommerce_update_order', $id, wc_get_order( $id ) );
		}
		do_action( 'shutdown' );

		$this->assertSame( [ 'order updated 1101 1102', 'order updated 1103 1104', 'order updated 1105' ], $this->sent_summary() );
		foreach ( $GLOBALS['wp_test_requests'] as $request ) {
			$this->assertLessThan( Sender::MAX_BYTES + 100, strlen( $request['args']['body'] ) );
		}
		$this->assertGreaterThan( Sender::MAX_BYTES / 3, strlen( $GLOBALS['wp_test_requests'][2]['args']['body'] ) );
	}

	public function test_the_entity_is_read_when_the_request_ends_not_when_the_hook_fires(): void {
		// WooCommerce fires woocommerce_new_order before it saves the items.
		$complete                     = wc_get_order( 101 );
		$GLOBALS['wc_test_orders'][101] = $complete->with( [ 'items' => [] ] );
		do_action( 'woocommerce_new_order', 101, $GLOBALS['wc_test_orders'][101] );
		$GLOBALS['wc_test_orders'][101] = $complete;
		do_action( 'shutdown' );

		$this->assertCount( 2, $this->sent()[0]['data'][0]['items'] );
	}

	public function test_a_second_shutdown_sends_nothing_again(): void {
		do_action( 'woocommerce_update_customer', 301 );
		do_action( 'shutdown' );
		do_action( 'shutdown' );

		$this->assertCount( 1, $GLOBALS['wp_test_requests'] );
	}

	/** @return array<string, array{string, int}> */
	public function unsendable(): array {
		return [
			'a refund'           => [ 'woocommerce_new_order', 103 ],
			'a subscription'     => [ 'woocommerce_update_order', 104 ],
			'a vanished order'   => [ 'woocommerce_update_order', 199 ],
			'a vanished product' => [ 'woocommerce_update_product', 299 ],
			'a vanished user'    => [ 'woocommerce_update_customer', 399 ],
			'a vanished term'    => [ 'edited_product_cat', 19 ],
		];
	}

	/** @dataProvider unsendable */
	public function test_is_skipped_quietly( string $hook, int $id ): void {
		do_action( $hook, $id );
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'product updated 201' ], $this->sent_summary() );
		$this->assertSame( '', $this->logged() );
	}

	public function test_a_subscription_is_a_complete_order_but_for_its_type(): void {
		$subscription = wc_get_order( 104 );
		$this->assertInstanceOf( WC_Order::class, $subscription );
		$this->assertSame( 'shop_subscription', $subscription->get_type() );
		$this->assertSame( 'shop_order', wc_get_order( 101 )->get_type() );
		$this->assertSame( 'shop_order_refund', wc_get_order( 103 )->get_type() );
		// Without its type it would be sent: the type alone is why the test above skips it.
		$this->assertSame( 104, Payloads::order( $subscription )['wc_order_id'] );
	}

	public function test_an_entity_throwing_is_logged_without_the_key_and_the_rest_of_its_post_still_goes(): void {
		$GLOBALS['wc_test_products'][207] = wc_get_product( 201 )->with(
			[
				'id'   => 207,
				'name' => static function (): void {
					throw new RuntimeException( 'lost the database while sending Bearer ' . self::KEY );
				},
			]
		);

		do_action( 'woocommerce_new_order', 101, wc_get_order( 101 ) );
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_update_product', 207, $GLOBALS['wc_test_products'][207] );
		do_action( 'woocommerce_update_product', 203, wc_get_product( 203 ) );
		do_action( 'woocommerce_update_customer', 301 );
		do_action( 'shutdown' );

		$this->assertSame( [ 'order created 101', 'product updated 201 203', 'customer updated 301' ], $this->sent_summary() );
		$this->assertStringContainsString( 'stocksync: product 207: lost the database while sending Bearer [api key]', $this->logged() );
		$this->assertStringNotContainsString( self::KEY, $this->logged() );
	}

	public function test_an_http_error_is_logged_with_the_resource_and_count_and_the_other_posts_still_go(): void {
		$GLOBALS['wp_test_transport'] = static fn(): WP_Error => new WP_Error( 'http_request_failed', 'cURL error 7: Failed to connect to stocksync.test port 443' );

		$this->fire_one_of_each();
		do_action( 'woocommerce_update_product', 203, wc_get_product( 203 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'order created 101', 'product updated 201 203', 'customer created 301', 'category updated 11' ], $this->sent_summary() );
		$this->assertStringContainsString( 'stocksync: order (1 record): cURL error 7: Failed to connect to stocksync.test port 443', $this->logged() );
		$this->assertStringContainsString( 'stocksync: product (2 records): cURL error 7: Failed to connect to stocksync.test port 443', $this->logged() );
		$this->assertSame( 4, substr_count( $this->logged(), 'cURL error 7' ) );
		$this->assertStringNotContainsString( self::KEY, $this->logged() );
		$this->assertStringNotContainsString( 'PLUGIN-A', $this->logged() );
	}

	public function test_a_post_throwing_is_logged_and_the_next_post_still_goes(): void {
		$GLOBALS['wp_test_transport'] = static function ( string $url, array $args ): array {
			if ( false !== strpos( $args['body'], '"resource":"order"' ) ) {
				throw new RuntimeException( 'a filter broke: Authorization: Bearer ' . self::KEY );
			}
			return [ 'headers' => [], 'body' => '', 'response' => [ 'code' => 200, 'message' => 'OK' ] ];
		};

		$this->fire_one_of_each();
		do_action( 'shutdown' );

		$this->assertCount( 4, $GLOBALS['wp_test_requests'] );
		$this->assertSame( "stocksync: order (1 record): a filter broke: Authorization: Bearer [api key]\n", preg_replace( '/^\[[^\]]*\] /m', '', $this->logged() ) );
	}

	/** Infinite, which JSON cannot even encode: left out before it is tried. */
	public function test_a_record_stocksync_would_refuse_is_logged_and_left_out_of_its_post(): void {
		$GLOBALS['wc_test_products'][201] = wc_get_product( 201 )->with( [ 'price' => '1e999' ] );

		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_update_product', 203, wc_get_product( 203 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'product updated 203' ], $this->sent_summary() );
		$this->assertStringContainsString( 'stocksync: product 201: price is not an amount below 10^14, not sent', $this->logged() );
		$this->assertStringNotContainsString( 'Plugin T-shirt', $this->logged() );
	}

	public function test_a_stock_change_that_saves_no_product_sends_it_as_updated(): void {
		// wc_update_product_stock() passes the product or variation, not its id.
		do_action( 'woocommerce_product_set_stock', wc_get_product( 201 ) );
		do_action( 'woocommerce_variation_set_stock', wc_get_product( 204 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'product updated 201 204' ], $this->sent_summary() );
		$this->assertSame( [ 5, 3 ], array_column( $this->sent()[0]['data'], 'stock_quantity' ) );
		$this->assertSame( '', $this->logged() );
	}

	public function test_selling_a_variation_whose_parent_holds_the_stock_sends_the_parent(): void {
		// As wc_update_product_stock() for variation 205: it writes the stock of the product
		// that manages it, and fires the hook for that one.
		do_action( 'woocommerce_product_set_stock', wc_get_product( 203 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'product updated 203' ], $this->sent_summary() );
		$this->assertSame( [ 'PLUGIN-HOODIE', true, 7 ], [ $this->sent()[0]['data'][0]['sku'], $this->sent()[0]['data'][0]['manage_stock'], $this->sent()[0]['data'][0]['stock_quantity'] ] );
	}

	public function test_a_stock_change_joins_the_other_changes_of_its_product(): void {
		do_action( 'woocommerce_new_product', 206, wc_get_product( 206 ) );
		do_action( 'woocommerce_product_set_stock', wc_get_product( 206 ) );
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_product_set_stock', wc_get_product( 201 ) );
		do_action( 'woocommerce_product_set_stock', wc_get_product( 201 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ 'product created 206', 'product updated 201' ], $this->sent_summary() );
	}

	/** @return array<string, array{mixed}> */
	public function not_products(): array {
		return [
			'an id'    => [ 201 ],
			'null'     => [ null ],
			'an order' => [ new WC_Order( [ 'id' => 101 ] ) ],
		];
	}

	/**
	 * Only what WooCommerce passes is understood; anything else another plugin fires the
	 * hook with is ignored, quietly.
	 *
	 * @dataProvider not_products
	 * @param mixed $argument
	 */
	public function test_a_stock_hook_fired_without_a_product_queues_nothing( $argument ): void {
		do_action( 'woocommerce_product_set_stock', $argument );
		do_action( 'woocommerce_variation_set_stock', $argument );
		do_action( 'shutdown' );

		$this->assertSame( [], $GLOBALS['wp_test_requests'] );
		$this->assertSame( '', $this->logged() );
	}

	public function test_nothing_left_to_send_makes_no_post(): void {
		do_action( 'woocommerce_new_order', 103 );
		do_action( 'woocommerce_update_product', 299 );
		do_action( 'shutdown' );

		$this->assertSame( [], $GLOBALS['wp_test_requests'] );
	}

	/** @return array<string, array{string, string}> */
	public function urls(): array {
		return [
			'without a trailing slash' => [ 'https://stocksync.test', 'https://stocksync.test/api/sync/webhook' ],
			'with a trailing slash'    => [ 'https://stocksync.test/', 'https://stocksync.test/api/sync/webhook' ],
			'under a path'             => [ 'http://10.0.0.5:8000/stocksync/', 'http://10.0.0.5:8000/stocksync/api/sync/webhook' ],
		];
	}

	/** @dataProvider urls */
	public function test_the_request( string $option, string $url ): void {
		update_option( Options::URL, $option );

		$this->fire_one_of_each();
		do_action( 'shutdown' );

		$this->assertCount( 4, $GLOBALS['wp_test_requests'] );
		foreach ( $GLOBALS['wp_test_requests'] as [ 'url' => $sent_url, 'args' => $args ] ) {
			$this->assertSame( $url, $sent_url );
			$body = $args['body'];
			unset( $args['body'] );
			$this->assertSame(
				[
					'timeout'     => 3,
					'blocking'    => false,
					'redirection' => 0,
					'headers'     => [
						'Content-Type'  => 'application/json',
						'Authorization' => 'Bearer ' . self::KEY,
						'User-Agent'    => 'stocksync-woocommerce/1.0.0',
					],
				],
				$args
			);
			$envelope = json_decode( $body, true, 512, JSON_THROW_ON_ERROR );
			$this->assertSame( [ 'resource', 'action', 'data' ], array_keys( $envelope ) );
			$this->assertSame( array_values( $envelope['data'] ), $envelope['data'] );
			$this->assertNotEmpty( $envelope['data'] );
		}
	}

	/** An order created, a product updated, a customer created, a category updated. */
	private function fire_one_of_each(): void {
		do_action( 'woocommerce_new_order', 101, wc_get_order( 101 ) );
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_created_customer', 301, [], false );
		do_action( 'edited_product_cat', 11, 111 );
	}
}
