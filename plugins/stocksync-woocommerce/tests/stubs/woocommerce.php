<?php
/**
 * WooCommerce classes and functions, as far as the plugin uses them. Objects hold the
 * values a data store would have read (money as strings, as WooCommerce has them) and
 * live in registries the fixtures fill:
 *
 * - wc_test_orders, wc_test_products: id => object (wc_get_order, wc_get_product)
 * - wc_test_customers: id => data array (new WC_Customer($id) reads it)
 *
 * A getter whose value the fixture did not give throws, so a field the plugin reads
 * that no fixture thought of fails loudly instead of passing as null; a value that is
 * a Closure is called, so a test can make any getter throw.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

function wc_test_reset(): void {
	$GLOBALS['wc_test_orders']    = [];
	$GLOBALS['wc_test_products']  = [];
	$GLOBALS['wc_test_customers'] = [];
}

class WC_DateTime extends DateTime {
}

abstract class WC_Data {
	/** @var array<string, mixed> */
	protected array $data;

	/** @param array<string, mixed> $data */
	public function __construct( array $data = [] ) {
		$this->data = $data;
	}

	public function get_id(): int {
		return $this->data['id'] ?? 0;
	}

	/**
	 * A copy with some values replaced, for a test's variant of a fixture.
	 *
	 * @param array<string, mixed> $values
	 * @return static
	 */
	public function with( array $values ): self {
		$copy       = clone $this;
		$copy->data = array_replace( $this->data, $values );
		return $copy;
	}

	/** @return mixed */
	protected function prop( string $key ) {
		if ( ! array_key_exists( $key, $this->data ) ) {
			throw new LogicException( static::class . " fixture {$this->get_id()} has no {$key}" );
		}
		$value = $this->data[ $key ];
		return $value instanceof Closure ? $value() : $value;
	}
}

abstract class WC_Abstract_Order extends WC_Data {
	public function get_parent_id() {
		return $this->prop( 'parent_id' );
	}
}

class WC_Order extends WC_Abstract_Order {
	/** 'shop_order' unless the fixture says otherwise ('shop_subscription' for WooCommerce Subscriptions' WC_Subscription). */
	public function get_type(): string {
		return $this->data['type'] ?? 'shop_order';
	}

	public function get_order_number() {
		return $this->prop( 'number' );
	}

	public function get_date_created() {
		return $this->prop( 'date_created' );
	}

	public function get_date_modified() {
		return $this->prop( 'date_modified' );
	}

	public function get_status() {
		return $this->prop( 'status' );
	}

	public function get_currency() {
		return $this->prop( 'currency' );
	}

	public function get_total() {
		return $this->prop( 'total' );
	}

	public function get_subtotal() {
		return $this->prop( 'subtotal' );
	}

	public function get_total_tax() {
		return $this->prop( 'total_tax' );
	}

	public function get_shipping_total() {
		return $this->prop( 'shipping_total' );
	}

	public function get_discount_total() {
		return $this->prop( 'discount_total' );
	}

	public function get_customer_id() {
		return $this->prop( 'customer_id' );
	}

	public function get_payment_method() {
		return $this->prop( 'payment_method' );
	}

	public function get_coupon_codes() {
		return $this->prop( 'coupon_codes' );
	}

	/** Keyed by item id, of the given type only, as WooCommerce. */
	public function get_items( string $type = 'line_item' ): array {
		$items = [];
		foreach ( $this->prop( 'items' ) as $item ) {
			if ( $item->get_type() === $type ) {
				$items[ $item->get_id() ] = $item;
			}
		}
		return $items;
	}
}

/** As in WooCommerce, a sibling of WC_Order, not a kind of it. */
class WC_Order_Refund extends WC_Abstract_Order {
	public function get_type(): string {
		return 'shop_order_refund';
	}
}

class WC_Order_Item_Product extends WC_Data {
	public function get_type(): string {
		return 'line_item';
	}

	public function get_product_id() {
		return $this->prop( 'product_id' );
	}

	public function get_variation_id() {
		return $this->prop( 'variation_id' );
	}

	public function get_name() {
		return $this->prop( 'name' );
	}

	public function get_quantity() {
		return $this->prop( 'quantity' );
	}

	public function get_subtotal() {
		return $this->prop( 'subtotal' );
	}

	public function get_total() {
		return $this->prop( 'total' );
	}

	/** @return WC_Product|false The variation if any, else the product; false once deleted. */
	public function get_product() {
		return wc_get_product( $this->get_variation_id() ?: $this->get_product_id() );
	}
}

class WC_Product extends WC_Data {
	public function get_parent_id() {
		return $this->prop( 'parent_id' );
	}

	public function get_type() {
		return $this->prop( 'type' );
	}

	public function get_status() {
		return $this->prop( 'status' );
	}

	public function get_name() {
		return $this->prop( 'name' );
	}

	/** @param string $context 'view' or 'edit': the same for a product, see WC_Product_Variation. */
	public function get_sku( string $context = 'view' ) {
		return $this->prop( 'sku' );
	}

	public function get_price() {
		return $this->prop( 'price' );
	}

	public function get_regular_price() {
		return $this->prop( 'regular_price' );
	}

	public function get_sale_price() {
		return $this->prop( 'sale_price' );
	}

	/** @return bool|string true or false; in the 'view' context 'parent' for a variation whose parent manages its stock. */
	public function get_manage_stock( string $context = 'view' ) {
		return $this->prop( 'manage_stock' );
	}

	public function get_stock_quantity( string $context = 'view' ) {
		return $this->prop( 'stock_quantity' );
	}

	public function get_stock_status() {
		return $this->prop( 'stock_status' );
	}

	public function get_category_ids() {
		return $this->prop( 'category_ids' );
	}

	public function get_date_created() {
		return $this->prop( 'date_created' );
	}

	public function get_date_modified() {
		return $this->prop( 'date_modified' );
	}
}

/**
 * Its fixture holds the variation's own values, as the 'edit' context answers them.
 * The 'view' context inherits from the parent as WooCommerce's does: the parent's SKU
 * when the variation has none, 'parent' and the parent's quantity when the variation
 * does not manage its stock and the parent does.
 */
class WC_Product_Variation extends WC_Product {
	public function get_sku( string $context = 'view' ) {
		$value = parent::get_sku( $context );
		if ( 'view' === $context && empty( $value ) ) {
			$value = $this->parent()->get_sku( 'edit' );
		}
		return $value;
	}

	public function get_manage_stock( string $context = 'view' ) {
		$value = parent::get_manage_stock( $context );
		if ( 'view' === $context && false === $value && true === $this->parent()->get_manage_stock( 'edit' ) ) {
			$value = 'parent';
		}
		return $value;
	}

	public function get_stock_quantity( string $context = 'view' ) {
		$value = parent::get_stock_quantity( $context );
		if ( 'view' === $context && 'parent' === $this->get_manage_stock( 'view' ) ) {
			$value = $this->parent()->get_stock_quantity( 'edit' );
		}
		return $value;
	}

	private function parent(): WC_Product {
		$parent = wc_get_product( $this->get_parent_id() );
		if ( ! $parent instanceof WC_Product ) {
			throw new LogicException( "variation fixture {$this->get_id()} has no parent" );
		}
		return $parent;
	}
}

class WC_Customer extends WC_Data {
	/** As WooCommerce: an id that no user has gives a customer with id 0, not an exception. */
	public function __construct( $id = 0 ) {
		parent::__construct( $GLOBALS['wc_test_customers'][ (int) $id ] ?? [] );
	}

	public function get_email() {
		return $this->prop( 'email' );
	}

	public function get_first_name() {
		return $this->prop( 'first_name' );
	}

	public function get_last_name() {
		return $this->prop( 'last_name' );
	}

	public function get_display_name() {
		return $this->prop( 'display_name' );
	}

	public function get_total_spent() {
		return $this->prop( 'total_spent' );
	}

	public function get_order_count() {
		return $this->prop( 'order_count' );
	}

	public function get_date_created() {
		return $this->prop( 'date_created' );
	}

	public function get_date_modified() {
		return $this->prop( 'date_modified' );
	}
}

/** @return WC_Order|WC_Order_Refund|false */
function wc_get_order( $id ) {
	return $GLOBALS['wc_test_orders'][ (int) $id ] ?? false;
}

/** @return WC_Product|false */
function wc_get_product( $id ) {
	return $GLOBALS['wc_test_products'][ (int) $id ] ?? false;
}

wc_test_reset();
