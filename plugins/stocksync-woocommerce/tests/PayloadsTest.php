<?php
/**
 * The payload contract, field by field and type by type, as it goes over the wire:
 * each test fires a hook as WooCommerce does, ends the request, and decodes the body,
 * whose `data` is a list even of one record. Between them they produce every resource
 * with both actions (see STOCKSYNC_CAPTURE_DIR); SenderTest adds multi-record bodies.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

final class PayloadsTest extends PluginTestCase {

	public function test_an_order_created_with_two_line_items(): void {
		do_action( 'woocommerce_new_order', 101, wc_get_order( 101 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'order',
			'created',
			[
				'wc_order_id'    => 101,
				'number'         => '101',
				'date_created'   => '2026-12-01T10:15:00+01:00',
				'date_modified'  => '2026-12-01T10:16:02+01:00',
				'status'         => 'processing',
				'currency'       => 'EUR',
				'total'          => 75.23,
				'subtotal'       => 61.48,
				'tax_total'      => 12.85,
				'shipping_total' => 4.9,
				'discount_total' => 4.0,
				'customer_id'    => 301,
				'payment_method' => 'stripe',
				'coupon_used'    => 'save4',
				'items'          => [
					[
						'wc_item_id'    => 9001,
						'wc_product_id' => 201,
						'variation_id'  => 0,
						'product_name'  => 'Plugin T-shirt',
						'sku'           => 'PLUGIN-A',
						'quantity'      => 2,
						'subtotal'      => 39.98,
						'total'         => 35.98,
					],
					[
						'wc_item_id'    => 9002,
						'wc_product_id' => 203,
						'variation_id'  => 204,
						'product_name'  => 'Plugin Hoodie - Blue',
						'sku'           => 'PLUGIN-B',
						'quantity'      => 1,
						'subtotal'      => 21.5,
						'total'         => 21.5,
					],
				],
			]
		);
	}

	public function test_a_guest_order_updated_whose_product_is_gone(): void {
		do_action( 'woocommerce_update_order', 102, wc_get_order( 102 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'order',
			'updated',
			[
				'wc_order_id'    => 102,
				'number'         => '102',
				'date_created'   => '2026-12-02T18:40:00+01:00',
				'date_modified'  => '2026-12-02T18:41:00+01:00',
				'status'         => 'on-hold',
				'currency'       => 'EUR',
				'total'          => 12.0,
				'subtotal'       => 10.0,
				'tax_total'      => 2.0,
				'shipping_total' => 0.0,
				'discount_total' => 0.0,
				'customer_id'    => 0,
				'payment_method' => 'bacs',
				'coupon_used'    => '',
				'items'          => [
					[
						'wc_item_id'    => 9003,
						'wc_product_id' => 299,
						'variation_id'  => 0,
						'product_name'  => 'Discontinued mug',
						'sku'           => '',
						'quantity'      => 1,
						'subtotal'      => 10.0,
						'total'         => 10.0,
					],
				],
			]
		);
	}

	public function test_an_order_has_no_email_nor_address(): void {
		do_action( 'woocommerce_new_order', 101, wc_get_order( 101 ) );
		do_action( 'shutdown' );

		$body = $GLOBALS['wp_test_requests'][0]['args']['body'];
		$this->assertStringNotContainsString( '@', $body );
		$this->assertStringNotContainsString( 'billing', $body );
		$this->assertStringNotContainsString( 'shipping_address', $body );
	}

	public function test_a_simple_product_updated(): void {
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'product',
			'updated',
			[
				'wc_product_id'  => 201,
				'parent_id'      => 0,
				'type'           => 'simple',
				'status'         => 'publish',
				'name'           => 'Plugin T-shirt',
				'sku'            => 'PLUGIN-A',
				'price'          => 19.99,
				'regular_price'  => 24.99,
				'sale_price'     => 19.99,
				'manage_stock'   => true,
				'stock_quantity' => 5,
				'stock_status'   => 'instock',
				'category_ids'   => [ 11 ],
				'category_id'    => 11,
				'category_name'  => 'Clothing',
				'created_at'     => '2026-11-02T09:00:00+01:00',
				'updated_at'     => '2026-12-01T08:30:00+01:00',
			]
		);
	}

	public function test_a_product_created_without_sku_price_stock_category_or_modification_date(): void {
		do_action( 'woocommerce_new_product', 206, wc_get_product( 206 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'product',
			'created',
			[
				'wc_product_id'  => 206,
				'parent_id'      => 0,
				'type'           => 'simple',
				'status'         => 'draft',
				'name'           => 'Plugin Draft',
				'sku'            => '',
				'price'          => null,
				'regular_price'  => null,
				'sale_price'     => null,
				'manage_stock'   => false,
				'stock_quantity' => null,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'category_id'    => 0,
				'category_name'  => '',
				'created_at'     => '2026-12-02T11:20:00+00:00',
				'updated_at'     => null,
			]
		);
	}

	public function test_a_variable_product_updated(): void {
		do_action( 'woocommerce_update_product', 203, wc_get_product( 203 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'product',
			'updated',
			[
				'wc_product_id'  => 203,
				'parent_id'      => 0,
				'type'           => 'variable',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie',
				'sku'            => 'PLUGIN-HOODIE',
				'price'          => 21.5,
				'regular_price'  => null,
				'sale_price'     => null,
				'manage_stock'   => true,
				'stock_quantity' => 7,
				'stock_status'   => 'instock',
				'category_ids'   => [ 12, 11 ],
				'category_id'    => 12,
				'category_name'  => 'Hoodies',
				'created_at'     => '2026-11-10T14:00:00+01:00',
				'updated_at'     => '2026-11-30T17:45:10+01:00',
			]
		);
	}

	public function test_a_variation_created_with_its_own_stock(): void {
		do_action( 'woocommerce_new_product_variation', 204, wc_get_product( 204 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'product',
			'created',
			[
				'wc_product_id'  => 204,
				'parent_id'      => 203,
				'type'           => 'variation',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie - Blue',
				'sku'            => 'PLUGIN-B',
				'price'          => 21.5,
				'regular_price'  => 21.5,
				'sale_price'     => null,
				'manage_stock'   => true,
				'stock_quantity' => 3,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'category_id'    => 0,
				'category_name'  => '',
				'created_at'     => '2026-11-10T14:05:00+01:00',
				'updated_at'     => '2026-11-30T17:45:12+01:00',
			]
		);
	}

	public function test_a_variation_updated_whose_stock_its_parent_manages(): void {
		do_action( 'woocommerce_update_product_variation', 205, wc_get_product( 205 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'product',
			'updated',
			[
				'wc_product_id'  => 205,
				'parent_id'      => 203,
				'type'           => 'variation',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie - Red',
				'sku'            => 'PLUGIN-C',
				'price'          => 23.0,
				'regular_price'  => 23.0,
				'sale_price'     => null,
				// Its own values: the parent's quantity is the parent's record's.
				'manage_stock'   => false,
				'stock_quantity' => null,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'category_id'    => 0,
				'category_name'  => '',
				'created_at'     => '2026-11-10T14:06:00+01:00',
				'updated_at'     => '2026-11-30T17:45:13+01:00',
			]
		);
	}

	/** What the test below relies on: the stubs answer as WooCommerce's variations. */
	public function test_in_the_view_context_a_variation_answers_its_parents_sku_and_stock(): void {
		$variation = wc_get_product( 208 );
		$this->assertSame( [ 'PLUGIN-HOODIE', 'parent', 7 ], [ $variation->get_sku(), $variation->get_manage_stock(), $variation->get_stock_quantity() ] );
		$this->assertSame( [ '', false, null ], [ $variation->get_sku( 'edit' ), $variation->get_manage_stock( 'edit' ), $variation->get_stock_quantity( 'edit' ) ] );
		// With a SKU of its own, that one; managing its own stock, its own quantity.
		$own = wc_get_product( 204 );
		$this->assertSame( [ 'PLUGIN-B', true, 3 ], [ $own->get_sku(), $own->get_manage_stock(), $own->get_stock_quantity() ] );
		// A parent that does not manage the stock lends none.
		$GLOBALS['wc_test_products'][203] = wc_get_product( 203 )->with( [ 'manage_stock' => false, 'stock_quantity' => null ] );
		$this->assertSame( [ false, null ], [ $variation->get_manage_stock(), $variation->get_stock_quantity() ] );
	}

	public function test_a_variation_without_a_sku_of_its_own_is_sent_without_one_never_with_its_parents(): void {
		do_action( 'woocommerce_update_product_variation', 208, wc_get_product( 208 ) );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'product',
			'updated',
			[
				'wc_product_id'  => 208,
				'parent_id'      => 203,
				'type'           => 'variation',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie - Green',
				'sku'            => '',
				'price'          => 23.0,
				'regular_price'  => 23.0,
				'sale_price'     => null,
				'manage_stock'   => false,
				'stock_quantity' => null,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'category_id'    => 0,
				'category_name'  => '',
				'created_at'     => '2026-11-10T14:07:00+01:00',
				'updated_at'     => '2026-11-30T17:45:14+01:00',
			]
		);
		$this->assertStringNotContainsString( 'PLUGIN-HOODIE', $GLOBALS['wp_test_requests'][0]['args']['body'] );
	}

	public function test_an_order_line_of_a_variation_without_a_sku_of_its_own_has_none(): void {
		$GLOBALS['wc_test_orders'][105] = wc_get_order( 101 )->with(
			[
				'id'     => 105,
				'number' => '105',
				'items'  => [
					new WC_Order_Item_Product(
						[
							'id'           => 9005,
							'product_id'   => 203,
							'variation_id' => 208,
							'name'         => 'Plugin Hoodie - Green',
							'quantity'     => 1,
							'subtotal'     => '23.00',
							'total'        => '23.00',
						]
					),
				],
			]
		);
		do_action( 'woocommerce_new_order', 105, wc_get_order( 105 ) );
		do_action( 'shutdown' );

		$this->assertSame( '', $this->sent()[0]['data'][0]['items'][0]['sku'] );
		$this->assertStringNotContainsString( 'PLUGIN-HOODIE', $GLOBALS['wp_test_requests'][0]['args']['body'] );
	}

	public function test_a_customer_created(): void {
		do_action( 'woocommerce_created_customer', 301, [ 'user_email' => 'ann@example.com' ], false );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'customer',
			'created',
			[
				'wc_customer_id' => 301,
				'email'          => 'ann@example.com',
				'first_name'     => 'Ann',
				'last_name'      => 'Lee',
				'display_name'   => 'Ann Lee',
				'total_spent'    => 75.23,
				'order_count'    => 1,
				'created_at'     => '2026-10-20T16:00:00+02:00',
				'updated_at'     => '2026-12-01T10:15:30+01:00',
			]
		);
	}

	public function test_a_customer_updated_who_never_ordered(): void {
		do_action( 'woocommerce_update_customer', 302 );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'customer',
			'updated',
			[
				'wc_customer_id' => 302,
				'email'          => 'bob@example.com',
				'first_name'     => '',
				'last_name'      => '',
				'display_name'   => 'bob',
				'total_spent'    => 0.0,
				'order_count'    => 0,
				'created_at'     => '2026-12-03T09:00:00+01:00',
				'updated_at'     => null,
			]
		);
	}

	public function test_a_top_level_category_created(): void {
		do_action( 'create_product_cat', 11, 111 );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'category',
			'created',
			[
				'wc_category_id' => 11,
				'name'           => 'Clothing',
				'slug'           => 'clothing',
				'parent_id'      => 0,
				'product_count'  => 3,
			]
		);
	}

	public function test_a_child_category_updated(): void {
		do_action( 'edited_product_cat', 12, 112 );
		do_action( 'shutdown' );

		$this->assertSentOnly(
			'category',
			'updated',
			[
				'wc_category_id' => 12,
				'name'           => 'Hoodies',
				'slug'           => 'hoodies',
				'parent_id'      => 11,
				'product_count'  => 1,
			]
		);
	}

	/**
	 * Exactly one request was made, of the one record $record.
	 *
	 * @param array<string, mixed> $record
	 */
	private function assertSentOnly( string $resource, string $action, array $record ): void {
		$data = [ $record ];
		$this->assertSame( [ compact( 'resource', 'action', 'data' ) ], $this->sent() );
	}
}
