<?php
/**
 * WooCommerce objects as the arrays stocksync expects.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Pure transformers: read an object's getters, return the `data` of one envelope.
 *
 * Field names and types are a contract with stocksync's endpoint, so every value is
 * cast: WooCommerce hands out money as strings and ids as ints or numeric strings,
 * depending on the store's data store and version.
 */
final class Payloads {

	/**
	 * An order without anything personal: no e-mail, no billing or shipping address.
	 *
	 * @return array<string, mixed>
	 */
	public static function order( \WC_Order $order ): array {
		$items = array();
		foreach ( $order->get_items( 'line_item' ) as $item ) {
			// Filters on woocommerce_order_get_items may slip in other item types.
			if ( $item instanceof \WC_Order_Item_Product ) {
				$items[] = self::line_item( $item );
			}
		}
		return array(
			'wc_order_id'    => (int) $order->get_id(),
			'number'         => (string) $order->get_order_number(),
			'date_created'   => self::date( $order->get_date_created() ),
			'date_modified'  => self::date( $order->get_date_modified() ),
			'status'         => (string) $order->get_status(),
			'currency'       => (string) $order->get_currency(),
			'total'          => (float) $order->get_total(),
			'subtotal'       => (float) $order->get_subtotal(),
			'tax_total'      => (float) $order->get_total_tax(),
			'shipping_total' => (float) $order->get_shipping_total(),
			'discount_total' => (float) $order->get_discount_total(),
			'customer_id'    => (int) $order->get_customer_id(),
			'payment_method' => (string) $order->get_payment_method(),
			'coupon_used'    => implode( ',', $order->get_coupon_codes() ),
			'items'          => $items,
		);
	}

	/**
	 * Simple products, variable products and their variations alike.
	 *
	 * @return array<string, mixed>
	 */
	public static function product( \WC_Product $product ): array {
		$category_ids = array_values( array_map( 'intval', $product->get_category_ids() ) );
		$category_id  = $category_ids[0] ?? 0;
		$stock        = $product->get_stock_quantity();
		return array(
			'wc_product_id'  => (int) $product->get_id(),
			'parent_id'      => (int) $product->get_parent_id(),
			'type'           => (string) $product->get_type(),
			'status'         => (string) $product->get_status(),
			'name'           => (string) $product->get_name(),
			'sku'            => (string) $product->get_sku(),
			'price'          => self::price( $product->get_price() ),
			'regular_price'  => self::price( $product->get_regular_price() ),
			'sale_price'     => self::price( $product->get_sale_price() ),
			// A variation whose parent manages the stock answers 'parent': its own stock is not managed.
			'manage_stock'   => true === $product->get_manage_stock(),
			'stock_quantity' => null === $stock ? null : (int) $stock,
			'stock_status'   => (string) $product->get_stock_status(),
			'category_ids'   => $category_ids,
			'category_id'    => $category_id,
			'category_name'  => self::category_name( $category_id ),
			'created_at'     => self::date( $product->get_date_created() ),
			'updated_at'     => self::date( $product->get_date_modified() ),
		);
	}

	/** @return array<string, mixed> */
	public static function customer( \WC_Customer $customer ): array {
		return array(
			'wc_customer_id' => (int) $customer->get_id(),
			'email'          => (string) $customer->get_email(),
			'first_name'     => (string) $customer->get_first_name(),
			'last_name'      => (string) $customer->get_last_name(),
			'display_name'   => (string) $customer->get_display_name(),
			'total_spent'    => (float) $customer->get_total_spent(),
			'order_count'    => (int) $customer->get_order_count(),
			'created_at'     => self::date( $customer->get_date_created() ),
			'updated_at'     => self::date( $customer->get_date_modified() ),
		);
	}

	/** @return array<string, mixed> */
	public static function category( \WP_Term $term ): array {
		return array(
			'wc_category_id' => (int) $term->term_id,
			'name'           => (string) $term->name,
			'slug'           => (string) $term->slug,
			'parent_id'      => (int) $term->parent,
			'product_count'  => (int) $term->count,
		);
	}

	/** @return array<string, mixed> */
	private static function line_item( \WC_Order_Item_Product $item ): array {
		$product = $item->get_product();
		return array(
			'wc_item_id'    => (int) $item->get_id(),
			'wc_product_id' => (int) $item->get_product_id(),
			'variation_id'  => (int) $item->get_variation_id(),
			'product_name'  => (string) $item->get_name(),
			// The product may have been deleted since the order was placed.
			'sku'           => $product instanceof \WC_Product ? (string) $product->get_sku() : '',
			'quantity'      => (int) $item->get_quantity(),
			'subtotal'      => (float) $item->get_subtotal(),
			'total'         => (float) $item->get_total(),
		);
	}

	/** WooCommerce stores "no price" as ''; (float) would turn that into a price of 0. */
	private static function price( $value ): ?float {
		return null === $value || '' === $value ? null : (float) $value;
	}

	private static function category_name( int $term_id ): string {
		if ( 0 === $term_id ) {
			return '';
		}
		$term = get_term( $term_id, 'product_cat' );
		return $term instanceof \WP_Term ? (string) $term->name : '';
	}

	/** ISO 8601 with the offset WooCommerce gave the date (the site's time zone). */
	private static function date( ?\DateTimeInterface $date ): ?string {
		return null === $date ? null : $date->format( 'c' );
	}
}
