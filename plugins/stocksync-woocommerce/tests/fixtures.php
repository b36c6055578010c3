<?php
/**
 * One small store, shared by the tests and the harness: every fixture is a valid
 * record of the payload contract, so every body they produce can be posted for real.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

/**
 * Builds the store and puts it where wc_get_order(), wc_get_product(), new
 * WC_Customer() and get_term() find it.
 *
 * @return array<string, int> Fixture name => id.
 */
function stocksync_fixtures(): array {
	$date = static fn( string $iso ): WC_DateTime => new WC_DateTime( $iso );

	$terms = [
		new WP_Term( 11, 'Clothing', 'clothing', 'product_cat', 0, 3 ),
		new WP_Term( 12, 'Hoodies', 'hoodies', 'product_cat', 11, 1 ),
	];
	foreach ( $terms as $term ) {
		$GLOBALS['wp_test_terms'][ $term->term_id ] = $term;
	}

	$products = [
		new WC_Product(
			[
				'id'             => 201,
				'parent_id'      => 0,
				'type'           => 'simple',
				'status'         => 'publish',
				'name'           => 'Plugin T-shirt',
				'sku'            => 'PLUGIN-A',
				'price'          => '19.99',
				'regular_price'  => '24.99',
				'sale_price'     => '19.99',
				'manage_stock'   => true,
				'stock_quantity' => 5,
				'stock_status'   => 'instock',
				'category_ids'   => [ 11 ],
				'date_created'   => $date( '2026-11-02T09:00:00+01:00' ),
				'date_modified'  => $date( '2026-12-01T08:30:00+01:00' ),
			]
		),
		// A variable product managing the stock its 'parent' variation shares.
		new WC_Product(
			[
				'id'             => 203,
				'parent_id'      => 0,
				'type'           => 'variable',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie',
				'sku'            => 'PLUGIN-HOODIE',
				'price'          => '21.5',
				'regular_price'  => '',
				'sale_price'     => '',
				'manage_stock'   => true,
				'stock_quantity' => 7,
				'stock_status'   => 'instock',
				'category_ids'   => [ 12, 11 ],
				'date_created'   => $date( '2026-11-10T14:00:00+01:00' ),
				'date_modified'  => $date( '2026-11-30T17:45:10+01:00' ),
			]
		),
		// Variations have no categories of their own in WooCommerce.
		new WC_Product_Variation(
			[
				'id'             => 204,
				'parent_id'      => 203,
				'type'           => 'variation',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie - Blue',
				'sku'            => 'PLUGIN-B',
				'price'          => '21.50',
				'regular_price'  => '21.50',
				'sale_price'     => '',
				'manage_stock'   => true,
				'stock_quantity' => 3,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'date_created'   => $date( '2026-11-10T14:05:00+01:00' ),
				'date_modified'  => $date( '2026-11-30T17:45:12+01:00' ),
			]
		),
		// Its stock is the parent's: it manages none of its own, so in the 'view' context
		// WooCommerce answers 'parent' and the parent's quantity.
		new WC_Product_Variation(
			[
				'id'             => 205,
				'parent_id'      => 203,
				'type'           => 'variation',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie - Red',
				'sku'            => 'PLUGIN-C',
				'price'          => '23',
				'regular_price'  => '23',
				'sale_price'     => '',
				'manage_stock'   => false,
				'stock_quantity' => null,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'date_created'   => $date( '2026-11-10T14:06:00+01:00' ),
				'date_modified'  => $date( '2026-11-30T17:45:13+01:00' ),
			]
		),
		// No SKU of its own, its stock the parent's: in the 'view' context WooCommerce
		// answers the parent's SKU, 'parent' and the parent's quantity.
		new WC_Product_Variation(
			[
				'id'             => 208,
				'parent_id'      => 203,
				'type'           => 'variation',
				'status'         => 'publish',
				'name'           => 'Plugin Hoodie - Green',
				'sku'            => '',
				'price'          => '23',
				'regular_price'  => '23',
				'sale_price'     => '',
				'manage_stock'   => false,
				'stock_quantity' => null,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'date_created'   => $date( '2026-11-10T14:07:00+01:00' ),
				'date_modified'  => $date( '2026-11-30T17:45:14+01:00' ),
			]
		),
		// A draft: no SKU, no price, no stock tracking, no category, never modified.
		new WC_Product(
			[
				'id'             => 206,
				'parent_id'      => 0,
				'type'           => 'simple',
				'status'         => 'draft',
				'name'           => 'Plugin Draft',
				'sku'            => '',
				'price'          => '',
				'regular_price'  => '',
				'sale_price'     => '',
				'manage_stock'   => false,
				'stock_quantity' => null,
				'stock_status'   => 'instock',
				'category_ids'   => [],
				'date_created'   => $date( '2026-12-02T11:20:00+00:00' ),
				'date_modified'  => null,
			]
		),
	];
	foreach ( $products as $product ) {
		$GLOBALS['wc_test_products'][ $product->get_id() ] = $product;
	}

	$GLOBALS['wc_test_customers'][301] = [
		'id'            => 301,
		'email'         => 'ann@example.com',
		'first_name'    => 'Ann',
		'last_name'     => 'Lee',
		'display_name'  => 'Ann Lee',
		'total_spent'   => '75.23',
		'order_count'   => 1,
		'date_created'  => $date( '2026-10-20T16:00:00+02:00' ),
		'date_modified' => $date( '2026-12-01T10:15:30+01:00' ),
	];
	// Signed up, never ordered, never edited since.
	$GLOBALS['wc_test_customers'][302] = [
		'id'            => 302,
		'email'         => 'bob@example.com',
		'first_name'    => '',
		'last_name'     => '',
		'display_name'  => 'bob',
		'total_spent'   => '0.00',
		'order_count'   => 0,
		'date_created'  => $date( '2026-12-03T09:00:00+01:00' ),
		'date_modified' => null,
	];

	$orders = [
		// Ann's order: PLUGIN-A x2 with a 4.00 coupon, and the PLUGIN-B variation.
		new WC_Order(
			[
				'id'             => 101,
				'number'         => '101',
				'date_created'   => $date( '2026-12-01T10:15:00+01:00' ),
				'date_modified'  => $date( '2026-12-01T10:16:02+01:00' ),
				'status'         => 'processing',
				'currency'       => 'EUR',
				'total'          => '75.23',
				'subtotal'       => 61.48,
				'total_tax'      => '12.85',
				'shipping_total' => '4.90',
				'discount_total' => '4.00',
				'customer_id'    => 301,
				'payment_method' => 'stripe',
				'coupon_codes'   => [ 'save4' ],
				'items'          => [
					new WC_Order_Item_Product(
						[
							'id'           => 9001,
							'product_id'   => 201,
							'variation_id' => 0,
							'name'         => 'Plugin T-shirt',
							'quantity'     => 2,
							'subtotal'     => '39.98',
							'total'        => '35.98',
						]
					),
					new WC_Order_Item_Product(
						[
							'id'           => 9002,
							'product_id'   => 203,
							'variation_id' => 204,
							'name'         => 'Plugin Hoodie - Blue',
							'quantity'     => 1,
							'subtotal'     => '21.50',
							'total'        => '21.50',
						]
					),
				],
			]
		),
		// A guest's order of a product deleted since.
		new WC_Order(
			[
				'id'             => 102,
				'number'         => '102',
				'date_created'   => $date( '2026-12-02T18:40:00+01:00' ),
				'date_modified'  => $date( '2026-12-02T18:41:00+01:00' ),
				'status'         => 'on-hold',
				'currency'       => 'EUR',
				'total'          => '12.00',
				'subtotal'       => 10.0,
				'total_tax'      => '2.00',
				'shipping_total' => '0.00',
				'discount_total' => '0.00',
				'customer_id'    => 0,
				'payment_method' => 'bacs',
				'coupon_codes'   => [],
				'items'          => [
					new WC_Order_Item_Product(
						[
							'id'           => 9003,
							'product_id'   => 299,
							'variation_id' => 0,
							'name'         => 'Discontinued mug',
							'quantity'     => 1,
							'subtotal'     => '10.00',
							'total'        => '10.00',
						]
					),
				],
			]
		),
		new WC_Order_Refund( [ 'id' => 103, 'parent_id' => 101 ] ),
	];
	// As WooCommerce Subscriptions' WC_Subscription: a WC_Order, complete, of another type.
	$orders[] = $orders[0]->with( [ 'id' => 104, 'number' => '104', 'type' => 'shop_subscription' ] );
	foreach ( $orders as $order ) {
		$GLOBALS['wc_test_orders'][ $order->get_id() ] = $order;
	}

	return [
		'order'          => 101,
		'guest_order'    => 102,
		'refund'         => 103,
		'subscription'   => 104,
		'product'        => 201,
		'variable'       => 203,
		'variation'      => 204,
		'parent_stock'   => 205,
		'no_own_sku'     => 208,
		'bare_product'   => 206,
		'customer'       => 301,
		'new_customer'   => 302,
		'category'       => 11,
		'child_category' => 12,
	];
}
