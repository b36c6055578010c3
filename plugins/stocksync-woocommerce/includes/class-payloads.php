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
 *
 * Every record also keeps within the endpoint's limits, since one record it refuses
 * loses its whole request: strings are valid UTF-8 without NUL characters and cut to
 * their field's length, quantities brought within their column. A record that cannot
 * be made acceptable (a customer without an e-mail address, a category without a
 * name, an amount of 10^14 or more) throws an Unsendable: the sender logs it and sends
 * the others.
 */
final class Payloads {

	/** Fields' lengths in characters, as the endpoint allows them. */
	private const ORDER_NUMBER = 100;
	private const STATUS       = 40;
	private const CURRENCY     = 10;
	private const NAME         = 500;
	private const PERSON_NAME  = 200;
	private const EMAIL        = 320;
	private const TERM         = 200;

	/**
	 * The dates stocksync takes, as Unix times: from 0001-01-02 (UTC) to before
	 * 9999-12-31 (UTC), what it can hold in any time zone.
	 */
	private const EARLIEST_DATE = -62135510400;
	private const LATEST_DATE   = 253402214400;

	/**
	 * An order without anything personal: no e-mail, no billing or shipping address.
	 *
	 * @return array<string, mixed>
	 * @throws Unsendable When an amount is beyond what stocksync stores.
	 */
	public static function order( \WC_Order $order ): array {
		$items = array();
		foreach ( $order->get_items( 'line_item' ) as $item ) {
			// Filters on woocommerce_order_get_items may slip in other item types.
			if ( $item instanceof \WC_Order_Item_Product ) {
				$items[] = self::line_item( $item );
			}
		}
		$status = Text::clean( $order->get_status(), self::STATUS );
		return array(
			'wc_order_id'    => (int) $order->get_id(),
			'number'         => Text::clean( $order->get_order_number(), self::ORDER_NUMBER ),
			'date_created'   => self::date( $order->get_date_created() ),
			'date_modified'  => self::date( $order->get_date_modified() ),
			// What WooCommerce itself answers for an order without a status.
			'status'         => Text::is_blank( $status ) ? 'pending' : $status,
			'currency'       => Text::clean( $order->get_currency(), self::CURRENCY ),
			'total'          => self::money( $order->get_total(), 'total' ),
			'subtotal'       => self::money( $order->get_subtotal(), 'subtotal' ),
			'tax_total'      => self::money( $order->get_total_tax(), 'tax_total' ),
			'shipping_total' => self::money( $order->get_shipping_total(), 'shipping_total' ),
			'discount_total' => self::money( $order->get_discount_total(), 'discount_total' ),
			'customer_id'    => (int) $order->get_customer_id(),
			'payment_method' => Text::clean( $order->get_payment_method() ),
			'coupon_used'    => Text::clean( implode( ',', $order->get_coupon_codes() ) ),
			'items'          => $items,
		);
	}

	/**
	 * Simple products, variable products and their variations alike.
	 *
	 * A variation is read in the 'edit' context, its own values: in the 'view' context
	 * WooCommerce answers the parent's SKU for a variation without one, and 'parent'
	 * and the parent's quantity for one whose stock the parent manages. Sent, that
	 * would put the variation under its parent's SKU and mark that SKU untracked.
	 *
	 * @return array<string, mixed>
	 * @throws Unsendable When a price is beyond what stocksync stores.
	 */
	public static function product( \WC_Product $product ): array {
		$category_ids = array_values( array_map( 'intval', $product->get_category_ids() ) );
		$category_id  = $category_ids[0] ?? 0;
		$context      = $product instanceof \WC_Product_Variation ? 'edit' : 'view';
		// Own stock only: a variation whose parent manages the stock has none.
		$manage_stock = true === $product->get_manage_stock( $context );
		$stock        = $manage_stock ? $product->get_stock_quantity( $context ) : null;
		return array(
			'wc_product_id'  => (int) $product->get_id(),
			'parent_id'      => (int) $product->get_parent_id(),
			'type'           => Text::clean( $product->get_type(), self::STATUS ),
			'status'         => Text::clean( $product->get_status(), self::STATUS ),
			'name'           => Text::clean( $product->get_name(), self::NAME ),
			'sku'            => self::sku( $product ),
			'price'          => self::price( $product->get_price(), 'price' ),
			'regular_price'  => self::price( $product->get_regular_price(), 'regular_price' ),
			'sale_price'     => self::price( $product->get_sale_price(), 'sale_price' ),
			'manage_stock'   => $manage_stock,
			'stock_quantity' => null === $stock ? null : Text::integer( $stock, -Text::INT4_MAX, Text::INT4_MAX ),
			'stock_status'   => Text::clean( $product->get_stock_status(), self::STATUS ),
			'category_ids'   => $category_ids,
			'category_id'    => $category_id,
			'category_name'  => self::category_name( $category_id ),
			'created_at'     => self::date( $product->get_date_created() ),
			'updated_at'     => self::date( $product->get_date_modified() ),
		);
	}

	/**
	 * @return array<string, mixed>
	 * @throws Unsendable Without an e-mail address, which stocksync requires.
	 */
	public static function customer( \WC_Customer $customer ): array {
		$email = Text::clean( $customer->get_email(), self::EMAIL );
		if ( Text::is_blank( $email ) ) {
			throw new Unsendable( 'no e-mail address, not sent' );
		}
		return array(
			'wc_customer_id' => (int) $customer->get_id(),
			'email'          => $email,
			'first_name'     => Text::clean( $customer->get_first_name(), self::PERSON_NAME ),
			'last_name'      => Text::clean( $customer->get_last_name(), self::PERSON_NAME ),
			'display_name'   => Text::clean( $customer->get_display_name() ),
			'total_spent'    => self::money( $customer->get_total_spent(), 'total_spent' ),
			'order_count'    => (int) $customer->get_order_count(),
			'created_at'     => self::date( $customer->get_date_created() ),
			'updated_at'     => self::date( $customer->get_date_modified() ),
		);
	}

	/**
	 * @return array<string, mixed>
	 * @throws Unsendable Without a name, which stocksync requires.
	 */
	public static function category( \WP_Term $term ): array {
		$name = Text::clean( $term->name, self::TERM );
		if ( Text::is_blank( $name ) ) {
			throw new Unsendable( 'no name, not sent' );
		}
		return array(
			'wc_category_id' => (int) $term->term_id,
			'name'           => $name,
			'slug'           => Text::clean( $term->slug, self::TERM ),
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
			'product_name'  => Text::clean( $item->get_name(), self::NAME ),
			// The product may have been deleted since the order was placed.
			'sku'           => $product instanceof \WC_Product ? self::sku( $product ) : '',
			'quantity'      => Text::integer( $item->get_quantity(), 0, Text::INT4_MAX ),
			'subtotal'      => self::money( $item->get_subtotal(), 'line subtotal' ),
			'total'         => self::money( $item->get_total(), 'line total' ),
		);
	}

	/**
	 * A variation's own SKU, '' if it has none (never its parent's). Exact or '': see
	 * Text::exact().
	 */
	private static function sku( \WC_Product $product ): string {
		return Text::exact( $product instanceof \WC_Product_Variation ? $product->get_sku( 'edit' ) : $product->get_sku() );
	}

	/**
	 * An amount stocksync can store.
	 *
	 * @param mixed $value A decimal string or a number.
	 * @throws Unsendable When it is not finite or not below 10^14 either way.
	 */
	private static function money( $value, string $field ): float {
		$amount = (float) $value;
		if ( ! Text::is_money( $amount ) ) {
			throw new Unsendable( "{$field} is not an amount below 10^14, not sent" );
		}
		return $amount;
	}

	/**
	 * WooCommerce stores "no price" as ''; (float) would turn that into a price of 0.
	 *
	 * @param mixed $value
	 */
	private static function price( $value, string $field ): ?float {
		return null === $value || '' === $value ? null : self::money( $value, $field );
	}

	private static function category_name( int $term_id ): string {
		if ( 0 === $term_id ) {
			return '';
		}
		$term = get_term( $term_id, 'product_cat' );
		return $term instanceof \WP_Term ? Text::clean( $term->name ) : '';
	}

	/**
	 * ISO 8601 with the offset WooCommerce gave the date (the site's time zone); null
	 * outside the calendar stocksync holds.
	 */
	private static function date( ?\DateTimeInterface $date ): ?string {
		if ( null === $date ) {
			return null;
		}
		$time = $date->getTimestamp();
		return $time >= self::EARLIEST_DATE && $time < self::LATEST_DATE ? $date->format( 'c' ) : null;
	}
}
