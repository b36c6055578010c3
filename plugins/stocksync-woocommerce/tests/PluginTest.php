<?php
/**
 * The plugin's life cycle: what it hooks, and that deactivation unhooks all of it.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

use Automattic\WooCommerce\Utilities\FeaturesUtil;
use Stocksync\WooCommerce\Options;
use Stocksync\WooCommerce\Plugin;

final class PluginTest extends PluginTestCase {

	private const HOOKS = [
		'woocommerce_new_order',
		'woocommerce_update_order',
		'woocommerce_new_product',
		'woocommerce_update_product',
		'woocommerce_new_product_variation',
		'woocommerce_update_product_variation',
		'woocommerce_created_customer',
		'woocommerce_update_customer',
		'create_product_cat',
		'edited_product_cat',
		'woocommerce_product_set_stock',
		'woocommerce_variation_set_stock',
		'shutdown',
		'before_woocommerce_init',
		'admin_menu',
		'admin_init',
	];

	/** As WordPress names the plugin: its folder and file, whatever the folder is called. */
	private string $plugin_name;

	protected function setUp(): void {
		parent::setUp();
		$this->plugin_name = plugin_basename( dirname( __DIR__ ) . '/stocksync-woocommerce.php' );
		// Only what loading the plugin's file did: these tests boot it as WordPress does.
		$this->plugin->unhook();
	}

	public function test_loading_the_file_hooks_nothing_but_boot_activation_and_deactivation(): void {
		$this->assertSame( 10, has_action( 'plugins_loaded', [ Plugin::class, 'boot' ] ) );
		$this->assertSame( 10, has_action( 'activate_' . $this->plugin_name, [ Plugin::class, 'activate' ] ) );
		$this->assertSame( 10, has_action( 'deactivate_' . $this->plugin_name, [ Plugin::class, 'deactivate' ] ) );
		foreach ( self::HOOKS as $hook ) {
			$this->assertFalse( has_action( $hook ), $hook );
		}
	}

	public function test_boot_hooks_everything_at_priority_20_and_deactivation_removes_all_of_it(): void {
		do_action( 'plugins_loaded' );
		foreach ( self::HOOKS as $hook ) {
			$this->assertSame( [ 20 ], array_keys( $GLOBALS['wp_test_actions'][ $hook ] ?? [] ), $hook );
			$this->assertCount( 1, $GLOBALS['wp_test_actions'][ $hook ][20], $hook );
			$this->assertSame( 1, $GLOBALS['wp_test_actions'][ $hook ][20][0][1], "$hook accepted_args" );
		}

		do_action( 'deactivate_' . $this->plugin_name );

		foreach ( self::HOOKS as $hook ) {
			$this->assertFalse( has_action( $hook ), $hook );
		}
	}

	public function test_after_deactivation_nothing_queued_is_sent(): void {
		do_action( 'plugins_loaded' );
		do_action( 'woocommerce_new_order', $this->ids['order'], wc_get_order( $this->ids['order'] ) );

		do_action( 'deactivate_' . $this->plugin_name );
		do_action( 'shutdown' );

		$this->assertSame( [], $GLOBALS['wp_test_requests'] );
	}

	public function test_it_declares_itself_compatible_with_custom_order_tables_before_woocommerce_init(): void {
		require_once __DIR__ . '/stubs/features-util.php';
		FeaturesUtil::$declared = [];
		do_action( 'plugins_loaded' );
		$this->assertSame( [], FeaturesUtil::$declared, 'not before WooCommerce asks' );

		do_action( 'before_woocommerce_init' );

		$file = dirname( __DIR__ ) . '/stocksync-woocommerce.php';
		$this->assertSame( [ [ 'custom_order_tables', $file, true ] ], FeaturesUtil::$declared );
		$this->assertSame( $this->plugin_name, plugin_basename( $file ) );
		$this->assertFileExists( $file );
	}

	/**
	 * WooCommerce before 7.1 has no FeaturesUtil. In a process of its own, where no test
	 * has loaded the stub.
	 *
	 * @runInSeparateProcess
	 * @preserveGlobalState disabled
	 */
	public function test_without_features_util_before_woocommerce_init_does_nothing(): void {
		$this->assertFalse( class_exists( FeaturesUtil::class ) );
		do_action( 'plugins_loaded' );

		do_action( 'before_woocommerce_init' );

		$this->assertFalse( class_exists( FeaturesUtil::class ) );
		$this->assertSame( [], $GLOBALS['wp_test_requests'] );
	}

	public function test_activation_creates_the_options_and_keeps_existing_values(): void {
		delete_option( Options::API_KEY );

		do_action( 'activate_' . $this->plugin_name );

		$this->assertSame( [ Options::URL => self::URL, Options::API_KEY => '' ], $GLOBALS['wp_test_options'] );
	}

	/** The User-Agent says Plugin::VERSION; WordPress reads the header and the readme. */
	public function test_the_version_is_the_same_everywhere(): void {
		$version = preg_quote( Plugin::VERSION, '/' );
		$this->assertMatchesRegularExpression( "/^ \\* Version:\\s+{$version}$/m", (string) file_get_contents( __DIR__ . '/../stocksync-woocommerce.php' ) );
		$this->assertMatchesRegularExpression( "/^Stable tag: {$version}$/m", (string) file_get_contents( __DIR__ . '/../readme.txt' ) );
	}

	public function test_uninstall_deletes_both_options(): void {
		define( 'WP_UNINSTALL_PLUGIN', $this->plugin_name );

		require __DIR__ . '/../uninstall.php';

		$this->assertSame( [], $GLOBALS['wp_test_options'] );
	}
}
