<?php
/**
 * Wires the plugin into WordPress and WooCommerce.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Owns the list of every hook the plugin adds, so that deactivation removes exactly
 * those, with the same callbacks and priority.
 */
final class Plugin {

	public const VERSION = '1.0.0';

	/** After WooCommerce's own handlers at the default 10 have finished with the object. */
	public const PRIORITY = 20;

	/**
	 * Hook => [resource, action] it queues. Variations carry the stock of variable products.
	 */
	private const ENTITY_HOOKS = array(
		'woocommerce_new_order'                => array( 'order', 'created' ),
		'woocommerce_update_order'             => array( 'order', 'updated' ),
		'woocommerce_new_product'              => array( 'product', 'created' ),
		'woocommerce_update_product'           => array( 'product', 'updated' ),
		'woocommerce_new_product_variation'    => array( 'product', 'created' ),
		'woocommerce_update_product_variation' => array( 'product', 'updated' ),
		'woocommerce_created_customer'         => array( 'customer', 'created' ),
		'woocommerce_update_customer'          => array( 'customer', 'updated' ),
		'create_product_cat'                   => array( 'category', 'created' ),
		'edited_product_cat'                   => array( 'category', 'updated' ),
	);

	/**
	 * Fired by wc_update_product_stock() (an order reducing stock, a refund restocking,
	 * a REST stock update), which writes the stock without saving the product, so
	 * without the update hooks above. They pass the product or variation whose stock
	 * changed: the parent, for a variation whose parent manages the stock.
	 */
	private const STOCK_HOOKS = array(
		'woocommerce_product_set_stock',
		'woocommerce_variation_set_stock',
	);

	private static ?Plugin $instance = null;

	/**
	 * Every hook this plugin adds, with its callback.
	 *
	 * @var list<array{0: string, 1: callable}>
	 */
	private array $hooks = array();

	public function __construct() {
		$sender = new Sender();
		foreach ( self::ENTITY_HOOKS as $hook => list( $resource, $action ) ) {
			$this->hooks[] = array(
				$hook,
				static function ( $id ) use ( $sender, $resource, $action ): void {
					$sender->queue( $resource, $action, $id );
				},
			);
		}
		foreach ( self::STOCK_HOOKS as $hook ) {
			$this->hooks[] = array(
				$hook,
				static function ( $product ) use ( $sender ): void {
					try {
						$id = $product instanceof \WC_Product ? $product->get_id() : 0;
					} catch ( \Throwable $e ) {
						return; // No id, nothing to queue nor to name in a log line.
					}
					$sender->queue( 'product', 'updated', $id );
				},
			);
		}
		$this->hooks[] = array( 'shutdown', array( $sender, 'flush' ) );
		$this->hooks[] = array( 'before_woocommerce_init', array( $this, 'declare_compatibility' ) );

		$settings      = new Settings_Page();
		$this->hooks[] = array( 'admin_menu', array( $settings, 'add_page' ) );
		$this->hooks[] = array( 'admin_init', array( $settings, 'register' ) );
	}

	/** The one instance whose callbacks plugins_loaded adds and deactivation removes. */
	public static function instance(): Plugin {
		if ( null === self::$instance ) {
			self::$instance = new self();
		}
		return self::$instance;
	}

	/** On plugins_loaded. */
	public static function boot(): void {
		self::instance()->hook();
	}

	public static function activate(): void {
		Options::add();
	}

	/** Also drops what is still queued: shutdown no longer flushes it. */
	public static function deactivate(): void {
		self::instance()->unhook();
	}

	/**
	 * On before_woocommerce_init: compatible with WooCommerce's custom order tables
	 * (HPOS), since orders are read only through wc_get_order() and WC_Order's getters,
	 * which work with either storage. WooCommerce before 7.1 has no FeaturesUtil.
	 */
	public function declare_compatibility(): void {
		if ( class_exists( \Automattic\WooCommerce\Utilities\FeaturesUtil::class ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', self::file(), true );
		}
	}

	/** The plugin's main file, by which WordPress and WooCommerce know the plugin. */
	public static function file(): string {
		return dirname( __DIR__ ) . '/stocksync-woocommerce.php';
	}

	public function hook(): void {
		foreach ( $this->hooks as list( $hook, $callback ) ) {
			// Only the id matters: the object a hook passes may be half-saved (the stock
			// hooks pass only the object, so theirs take its id).
			add_action( $hook, $callback, self::PRIORITY, 1 );
		}
	}

	public function unhook(): void {
		foreach ( $this->hooks as list( $hook, $callback ) ) {
			remove_action( $hook, $callback, self::PRIORITY );
		}
	}
}
