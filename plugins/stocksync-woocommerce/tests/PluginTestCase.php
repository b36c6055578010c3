<?php
/**
 * What every test starts from.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;
use Stocksync\WooCommerce\Options;
use Stocksync\WooCommerce\Plugin;

/**
 * WordPress right after loading the plugin, the fixture store, a connected plugin
 * hooked in, and PHP's error log captured in a file.
 */
abstract class PluginTestCase extends TestCase {

	protected const URL = 'https://stocksync.test';
	protected const KEY = 'sk_test_5f0c2a9e7b1d4c3a';

	protected Plugin $plugin;

	/** @var array<string, int> Fixture name => id. */
	protected array $ids;

	private string $log;

	/** @var string|false */
	private $previous_log;

	protected function setUp(): void {
		wp_test_reset( $GLOBALS['stocksync_test_loaded_actions'] );
		wc_test_reset();
		$_POST     = [];
		$this->ids = stocksync_fixtures();
		update_option( Options::URL, self::URL );
		update_option( Options::API_KEY, self::KEY );

		$this->log          = (string) tempnam( sys_get_temp_dir(), 'stocksync-log-' );
		$this->previous_log = ini_set( 'error_log', $this->log );

		$this->plugin = new Plugin();
		$this->plugin->hook();
	}

	protected function tearDown(): void {
		ini_set( 'error_log', (string) $this->previous_log );
		unlink( $this->log );
	}

	/**
	 * The envelopes posted so far, decoded.
	 *
	 * @return list<array<string, mixed>>
	 */
	protected function sent(): array {
		return array_map(
			static fn( array $request ): array => json_decode( $request['args']['body'], true, 512, JSON_THROW_ON_ERROR ),
			$GLOBALS['wp_test_requests']
		);
	}

	/**
	 * "resource action id id ..." of each request, its records' ids in the order sent,
	 * to compare at a glance.
	 *
	 * @return list<string>
	 */
	protected function sent_summary(): array {
		return array_map(
			static function ( array $envelope ): string {
				$ids = array_map(
					static fn( array $data ) => $data['wc_order_id'] ?? $data['wc_product_id'] ?? $data['wc_customer_id'] ?? $data['wc_category_id'],
					$envelope['data']
				);
				return trim( "{$envelope['resource']} {$envelope['action']} " . implode( ' ', $ids ) );
			},
			$this->sent()
		);
	}

	/**
	 * Products $first to $last, copies of the fixture product 201 with their own id and
	 * SKU, as a bulk edit or an import makes them.
	 *
	 * @return list<int> Their ids.
	 */
	protected function add_products( int $first, int $last ): array {
		$ids = range( $first, $last );
		foreach ( $ids as $id ) {
			$GLOBALS['wc_test_products'][ $id ] = wc_get_product( 201 )->with(
				[
					'id'   => $id,
					'sku'  => "BULK-{$id}",
					'name' => "Bulk product {$id}",
				]
			);
		}
		return $ids;
	}

	protected function logged(): string {
		return (string) file_get_contents( $this->log );
	}
}
