<?php
/**
 * Settings > stocksync: the API key never shown, kept, replaced or forgotten; only
 * https URLs, and http ones of this machine.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

use Stocksync\WooCommerce\Options;
use Stocksync\WooCommerce\Settings_Page;

final class SettingsPageTest extends PluginTestCase {

	private Settings_Page $page;

	protected function setUp(): void {
		parent::setUp();
		do_action( 'admin_menu', '' );
		do_action( 'admin_init' );
		$this->page = $GLOBALS['wp_test_pages']['stocksync']['callback'][0];
	}

	public function test_the_page_is_under_settings_for_manage_options(): void {
		$page = $GLOBALS['wp_test_pages']['stocksync'];
		$this->assertSame( 'manage_options', $page['capability'] );
		$this->assertSame( [ $this->page, 'render' ], $page['callback'] );
	}

	public function test_both_options_are_registered_with_sanitize_callbacks(): void {
		$this->assertSame( [ Options::URL, Options::API_KEY ], array_keys( $GLOBALS['wp_test_settings'] ) );
		$this->assertSame( [ $this->page, 'sanitize_url' ], $GLOBALS['wp_test_settings'][ Options::URL ]['args']['sanitize_callback'] );
		$this->assertSame( [ $this->page, 'sanitize_api_key' ], $GLOBALS['wp_test_settings'][ Options::API_KEY ]['args']['sanitize_callback'] );
		$this->assertSame( 'stocksync', $GLOBALS['wp_test_settings'][ Options::API_KEY ]['group'] );
	}

	public function test_the_page_never_shows_the_key(): void {
		$key = 'sk_live_<b>&"quoted"</b>';
		update_option( Options::API_KEY, $key );

		$html = $this->render();

		$this->assertStringNotContainsString( $key, $html );
		$this->assertStringNotContainsString( esc_attr( $key ), $html );
		$this->assertStringNotContainsString( 'sk_live', $html );
		$this->assertStringContainsString( 'type="password"', $html );
		$this->assertStringContainsString( 'value=""', $html );
		$this->assertStringContainsString( 'A key is set. Leave empty to keep it.', $html );
		$this->assertStringContainsString( 'name="stocksync_disconnect"', $html );
		$this->assertStringContainsString( 'Connected', $html );
		$this->assertStringContainsString( 'value="https://stocksync.test"', $html );
		$this->assertStringContainsString( 'name="option_page" value="stocksync"', $html );
	}

	public function test_the_page_without_a_key(): void {
		update_option( Options::API_KEY, '' );

		$html = $this->render();

		$this->assertStringContainsString( 'Not connected', $html );
		$this->assertStringContainsString( 'placeholder="No key set"', $html );
		$this->assertStringNotContainsString( 'stocksync_disconnect', $html );
	}

	public function test_the_url_is_escaped(): void {
		update_option( Options::URL, 'https://stocksync.test/?a="><script>alert(1)</script>' );

		$this->assertStringNotContainsString( '<script>', $this->render() );
	}

	public function test_the_page_shows_nothing_to_who_may_not_manage_options(): void {
		$GLOBALS['wp_test_can'] = false;

		$this->assertSame( '', $this->render() );
	}

	public function test_an_empty_key_keeps_the_stored_one(): void {
		$this->assertSame( self::KEY, $this->page->sanitize_api_key( '' ) );
		$this->assertSame( self::KEY, $this->page->sanitize_api_key( '   ' ) );
		$this->assertSame( self::KEY, $this->page->sanitize_api_key( [ 'not', 'a', 'string' ] ) );
	}

	public function test_a_new_key_replaces_the_stored_one(): void {
		$this->assertSame( 'sk_new', $this->page->sanitize_api_key( " sk_new\n" ) );
	}

	public function test_disconnect_forgets_the_key(): void {
		$_POST[ Settings_Page::DISCONNECT_FIELD ] = '1';

		$this->assertSame( '', $this->page->sanitize_api_key( '' ) );
		$this->assertSame( '', $this->page->sanitize_api_key( 'sk_typed_anyway' ) );
	}

	/** @return array<string, array{string}> */
	public function refused_urls(): array {
		return [
			'ftp'        => [ 'ftp://stocksync.example.com' ],
			'javascript' => [ 'javascript:alert(1)' ],
			'file'       => [ 'file:///etc/passwd' ],
			'no host'    => [ 'https://' ],
		];
	}

	/** @dataProvider refused_urls */
	public function test_a_url_that_is_not_http_is_refused_and_the_old_one_kept( string $url ): void {
		$this->assertSame( self::URL, $this->page->sanitize_url( $url ) );
		$this->assertCount( 1, $GLOBALS['wp_test_settings_errors'] );
		$this->assertSame( Options::URL, $GLOBALS['wp_test_settings_errors'][0]['setting'] );
	}

	public function test_an_https_url_is_accepted(): void {
		$this->assertSame( 'https://stocksync.example.com/hub', $this->page->sanitize_url( 'https://stocksync.example.com/hub' ) );
		$this->assertSame( 'https://10.0.0.5:8443/', $this->page->sanitize_url( ' https://10.0.0.5:8443/ ' ) );
		$this->assertSame( [], $GLOBALS['wp_test_settings_errors'] );
	}

	/** @return array<string, array{string}> */
	public function local_urls(): array {
		return [
			'localhost' => [ 'http://localhost:8000/' ],
			'LOCALHOST' => [ 'http://LOCALHOST/stocksync' ],
			'127.0.0.1' => [ 'http://127.0.0.1:5000' ],
			'::1'       => [ 'http://[::1]:8000/' ],
		];
	}

	/**
	 * Development: the key does not leave the machine.
	 *
	 * @dataProvider local_urls
	 */
	public function test_an_http_url_of_this_machine_is_accepted( string $url ): void {
		$this->assertSame( $url, $this->page->sanitize_url( $url ) );
		$this->assertSame( [], $GLOBALS['wp_test_settings_errors'] );
	}

	/** @return array<string, array{string}> */
	public function insecure_urls(): array {
		return [
			'a domain'              => [ 'http://stocksync.example.com' ],
			'a LAN address'         => [ 'http://10.0.0.5:8000/' ],
			'a bare host'           => [ 'stocksync.example.com' ],
			'localhost as a prefix' => [ 'http://localhost.example.com/' ],
			'localhost as userinfo' => [ 'http://localhost@stocksync.example.com/' ],
			'another loopback'      => [ 'http://127.0.0.2/' ],
		];
	}

	/**
	 * Over http the Bearer key would cross the network in clear text.
	 *
	 * @dataProvider insecure_urls
	 */
	public function test_an_http_url_elsewhere_is_refused_saying_https_is_required_and_the_old_one_kept( string $url ): void {
		$this->assertSame( self::URL, $this->page->sanitize_url( $url ) );
		$this->assertCount( 1, $GLOBALS['wp_test_settings_errors'] );
		$error = $GLOBALS['wp_test_settings_errors'][0];
		$this->assertSame( [ Options::URL, 'stocksync_url_insecure', 'error' ], [ $error['setting'], $error['code'], $error['type'] ] );
		$this->assertStringContainsString( 'must start with https://', $error['message'] );
		$this->assertStringContainsString( 'The previous URL is kept.', $error['message'] );
	}

	public function test_an_empty_url_is_accepted(): void {
		$this->assertSame( '', $this->page->sanitize_url( '' ) );
		$this->assertSame( [], $GLOBALS['wp_test_settings_errors'] );
	}

	private function render(): string {
		ob_start();
		$this->page->render();
		return (string) ob_get_clean();
	}
}
