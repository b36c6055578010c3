<?php
/**
 * Records within the endpoint's limits. It refuses a whole request for one record it
 * cannot store, and the plugin never reads the answer, so a record breaking a limit
 * would take up to 99 others with it. Each test sends its record beside a valid one:
 * with STOCKSYNC_CAPTURE_DIR, the Python side posts these bodies to the real endpoint
 * and requires them taken.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

use Stocksync\WooCommerce\Text;

final class LimitsTest extends PluginTestCase {

	private const INT4_MAX = 2147483647;

	public function test_over_long_strings_are_cut_to_their_fields_length_in_characters(): void {
		$GLOBALS['wc_test_orders'][105] = wc_get_order( 101 )->with(
			[
				'id'       => 105,
				'number'   => str_repeat( '№', 150 ),
				'status'   => str_repeat( 'wc-status-', 5 ),
				'currency' => 'EUR-EUR-EUR-EUR',
				'items'    => [ $this->line( 9051, [ 'name' => str_repeat( 'ü', 600 ) ] ) ],
			]
		);
		$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with(
			[
				'id'           => 210,
				'sku'          => 'PLUGIN-LONG',
				'name'         => str_repeat( '日', 600 ),
				'type'         => str_repeat( 'type-', 10 ),
				'status'       => str_repeat( 'status-', 10 ),
				'stock_status' => str_repeat( 'instock-', 10 ),
			]
		);
		$GLOBALS['wc_test_customers'][303] = $this->customer(
			303,
			[
				'email'      => str_repeat( 'a', 320 ) . '@example.com',
				'first_name' => str_repeat( 'É', 250 ),
				'last_name'  => str_repeat( 'L', 250 ),
			]
		);
		$GLOBALS['wp_test_terms'][13] = new WP_Term( 13, str_repeat( 'Ç', 250 ), str_repeat( 'c', 250 ), 'product_cat', 0, 0 );

		do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
		do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
		do_action( 'woocommerce_update_customer', 303 );
		do_action( 'edited_product_cat', 13, 113 );
		do_action( 'shutdown' );

		[ $order, $product, $customer, $category ] = $this->records();
		$this->assertSame( str_repeat( '№', 100 ), $order['number'] );
		$this->assertSame( 'wc-status-wc-status-wc-status-wc-status-', $order['status'] );
		$this->assertSame( 'EUR-EUR-EU', $order['currency'] );
		$this->assertSame( str_repeat( 'ü', 500 ), $order['items'][0]['product_name'] );
		$this->assertSame( str_repeat( '日', 500 ), $product['name'] );
		$this->assertSame( [ 40, 40, 40 ], array_map( 'strlen', [ $product['type'], $product['status'], $product['stock_status'] ] ) );
		$this->assertSame( str_repeat( 'a', 320 ), $customer['email'] );
		$this->assertSame( str_repeat( 'É', 200 ), $customer['first_name'] );
		$this->assertSame( str_repeat( 'L', 200 ), $customer['last_name'] );
		$this->assertSame( str_repeat( 'Ç', 200 ), $category['name'] );
		$this->assertSame( str_repeat( 'c', 200 ), $category['slug'] );
		$this->assertSame( '', $this->logged() );
	}

	/** The SKU alone is never cut: a cut SKU could be another product's. */
	public function test_a_long_sku_is_sent_whole(): void {
		$sku                              = str_repeat( 'S', 300 );
		$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with( [ 'id' => 210, 'sku' => $sku ] );

		do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
		do_action( 'shutdown' );

		$this->assertSame( $sku, $this->records()[0]['sku'] );
	}

	public function test_nul_characters_are_stripped_from_every_string(): void {
		$GLOBALS['wc_test_orders'][105]    = wc_get_order( 101 )->with(
			[
				'id'             => 105,
				'number'         => "10\x005",
				'payment_method' => "stripe\x00",
				'coupon_codes'   => [ "save\x004" ],
				'items'          => [ $this->line( 9051, [ 'name' => "Plugin\x00 T-shirt" ] ) ],
			]
		);
		$GLOBALS['wc_test_customers'][303] = $this->customer( 303, [ 'email' => "ann\x00@example.com", 'display_name' => "\x00Ann" ] );
		$GLOBALS['wp_test_terms'][11]      = new WP_Term( 11, "Cloth\x00ing", "cloth\x00ing", 'product_cat', 0, 3 );

		do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
		do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
		do_action( 'woocommerce_update_customer', 303 );
		do_action( 'edited_product_cat', 11, 111 );
		do_action( 'shutdown' );

		[ $order, $product, $customer, $category ] = $this->records();
		$this->assertSame( [ '105', 'stripe', 'save4', 'Plugin T-shirt' ], [ $order['number'], $order['payment_method'], $order['coupon_used'], $order['items'][0]['product_name'] ] );
		$this->assertSame( 'Clothing', $product['category_name'] );
		$this->assertSame( [ 'ann@example.com', 'Ann' ], [ $customer['email'], $customer['display_name'] ] );
		$this->assertSame( [ 'Clothing', 'clothing' ], [ $category['name'], $category['slug'] ] );
		foreach ( $GLOBALS['wp_test_requests'] as $request ) {
			$this->assertStringNotContainsString( '\u0000', $request['args']['body'] );
		}
	}

	public function test_invalid_utf8_is_replaced(): void {
		$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with(
			[
				'id'   => 210,
				'sku'  => 'PLUGIN-LATIN1',
				// Latin-1, a CESU-8 surrogate, an overlong '/', a truncated character.
				'name' => "Caf\xE9 \xED\xA0\x80 \xC0\xAF \xE6\x97",
			]
		);
		$GLOBALS['wp_test_terms'][13]     = new WP_Term( 13, "Pr\xEAt-\xE0-porter", 'pret-a-porter', 'product_cat', 0, 0 );

		do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
		do_action( 'edited_product_cat', 13, 113 );
		do_action( 'shutdown' );

		// Each invalid sequence is one '?', mbstring's substitute.
		[ $product, $category ] = $this->records();
		$this->assertSame( 'Caf? ??? ?? ?', $product['name'] );
		$this->assertSame( 'Pr?t-?-porter', $category['name'] );
		$this->assertSame( '', $this->logged() );
	}

	/** A SKU that is not exact is not sent at all: repaired, it could be another product's. */
	public function test_a_sku_with_a_nul_or_invalid_utf8_is_sent_as_none(): void {
		$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with( [ 'id' => 210, 'sku' => "PLUGIN-A\x00" ] );
		$GLOBALS['wc_test_products'][211] = wc_get_product( 201 )->with( [ 'id' => 211, 'sku' => "PLUGIN-\xC1" ] );
		$GLOBALS['wc_test_orders'][105]   = wc_get_order( 101 )->with(
			[
				'id'    => 105,
				'items' => [ $this->line( 9051, [ 'product_id' => 210 ] ), $this->line( 9052, [ 'product_id' => 211 ] ) ],
			]
		);

		do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
		do_action( 'woocommerce_update_product', 211, wc_get_product( 211 ) );
		do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
		do_action( 'shutdown' );

		[ $first, $second, $order ] = $this->records();
		$this->assertSame( [ '', '' ], [ $first['sku'], $second['sku'] ] );
		$this->assertSame( [ '', '' ], array_column( $order['items'], 'sku' ) );
	}

	public function test_quantities_are_brought_within_their_columns(): void {
		$GLOBALS['wc_test_orders'][105] = wc_get_order( 101 )->with(
			[
				'id'    => 105,
				'items' => [
					$this->line( 9051, [ 'quantity' => -3 ] ),
					$this->line( 9052, [ 'quantity' => 3e9 ] ),
					$this->line( 9053, [ 'quantity' => '7' ] ),
					$this->line( 9054, [ 'quantity' => PHP_INT_MAX ] ),
					$this->line( 9055, [ 'quantity' => 2.5 ] ),
				],
			]
		);
		$stocks = [ 210 => 5e9, 211 => -5e9, 212 => '-12', 213 => PHP_INT_MIN, 214 => 1e30 ];
		foreach ( $stocks as $id => $stock ) {
			$GLOBALS['wc_test_products'][ $id ] = wc_get_product( 201 )->with( [ 'id' => $id, 'sku' => "PLUGIN-STOCK-{$id}", 'stock_quantity' => $stock ] );
			do_action( 'woocommerce_product_set_stock', wc_get_product( $id ) );
		}
		do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
		do_action( 'shutdown' );

		[ $products, $order ] = $this->sent();
		$this->assertSame( [ self::INT4_MAX, -self::INT4_MAX, -12, -self::INT4_MAX, self::INT4_MAX ], array_column( $products['data'], 'stock_quantity' ) );
		$this->assertSame( [ 0, self::INT4_MAX, 7, self::INT4_MAX, 2 ], array_column( $order['data'][0]['items'], 'quantity' ) );
	}

	/** @return array<string, array{string}> */
	public function no_emails(): array {
		return [
			'empty'            => [ '' ],
			'spaces'           => [ " \t " ],
			'a NUL'            => [ "\x00" ],
			'a no-break space' => [ "\u{00A0}" ],
		];
	}

	/** @dataProvider no_emails */
	public function test_a_customer_without_an_email_address_is_not_sent_and_logged( string $email ): void {
		$GLOBALS['wc_test_customers'][303] = $this->customer( 303, [ 'email' => $email ] );

		do_action( 'woocommerce_update_customer', 301 );
		do_action( 'woocommerce_update_customer', 303 );
		do_action( 'woocommerce_update_customer', 302 );
		do_action( 'shutdown' );

		$this->assertSame( [ 'customer updated 301 302' ], $this->sent_summary() );
		$this->assertSame( "stocksync: customer 303: no e-mail address, not sent\n", $this->log_lines() );
	}

	/** @return array<string, array{string}> */
	public function no_names(): array {
		return [
			'empty'                => [ '' ],
			'spaces'               => [ '   ' ],
			'an ideographic space' => [ "\u{3000}" ],
			'a NUL'                => [ "\x00" ],
		];
	}

	/** @dataProvider no_names */
	public function test_a_category_without_a_name_is_not_sent_and_logged( string $name ): void {
		$GLOBALS['wp_test_terms'][13] = new WP_Term( 13, $name, 'unnamed', 'product_cat', 0, 0 );

		do_action( 'edited_product_cat', 11, 111 );
		do_action( 'edited_product_cat', 13, 113 );
		do_action( 'edited_product_cat', 12, 112 );
		do_action( 'shutdown' );

		$this->assertSame( [ 'category updated 11 12' ], $this->sent_summary() );
		$this->assertSame( "stocksync: category 13: no name, not sent\n", $this->log_lines() );
	}

	public function test_an_order_without_a_status_is_sent_as_pending_as_woocommerce_answers(): void {
		$GLOBALS['wc_test_orders'][105] = wc_get_order( 101 )->with( [ 'id' => 105, 'status' => ' ' ] );

		do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
		do_action( 'shutdown' );

		$this->assertSame( 'pending', $this->records()[0]['status'] );
	}

	/** @return array<string, array{string, string, mixed, string}> */
	public function amounts_beyond(): array {
		return [
			'an order total of 10^14'   => [ 'order', 'total', '1e14', 'total' ],
			'a negative order total'    => [ 'order', 'total', '-100000000000000', 'total' ],
			'an infinite tax total'     => [ 'order', 'total_tax', INF, 'tax_total' ],
			'a NaN shipping total'      => [ 'order', 'shipping_total', NAN, 'shipping_total' ],
			'a line total'              => [ 'line', 'total', '1e15', 'line total' ],
			'a regular price'           => [ 'product', 'regular_price', '123456789012345', 'regular_price' ],
			'a sale price'              => [ 'product', 'sale_price', -INF, 'sale_price' ],
			'a customer\'s total spent' => [ 'customer', 'total_spent', '1e20', 'total_spent' ],
		];
	}

	/**
	 * stocksync stores money as numeric(18, 4). The record cannot be sent without lying
	 * about an amount, so it is not sent, and the log says which.
	 *
	 * @dataProvider amounts_beyond
	 * @param mixed $amount
	 */
	public function test_an_amount_of_10_to_the_14_or_more_leaves_its_record_out_and_is_logged( string $kind, string $field, $amount, string $named ): void {
		switch ( $kind ) {
			case 'order':
			case 'line':
				$values = 'order' === $kind ? [ $field => $amount ] : [ 'items' => [ $this->line( 9051, [ $field => $amount ] ) ] ];
				$GLOBALS['wc_test_orders'][105] = wc_get_order( 101 )->with( [ 'id' => 105 ] + $values );
				do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
				do_action( 'woocommerce_update_order', 102, wc_get_order( 102 ) );
				$expected = [ 'order updated 102' ];
				$resource = 'order 105';
				break;
			case 'product':
				$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with( [ 'id' => 210, $field => $amount ] );
				do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
				do_action( 'woocommerce_update_product', 201, wc_get_product( 201 ) );
				$expected = [ 'product updated 201' ];
				$resource = 'product 210';
				break;
			default:
				$GLOBALS['wc_test_customers'][303] = $this->customer( 303, [ $field => $amount ] );
				do_action( 'woocommerce_update_customer', 303 );
				do_action( 'woocommerce_update_customer', 301 );
				$expected = [ 'customer updated 301' ];
				$resource = 'customer 303';
		}
		do_action( 'shutdown' );

		$this->assertSame( $expected, $this->sent_summary() );
		$this->assertSame( "stocksync: {$resource}: {$named} is not an amount below 10^14, not sent\n", $this->log_lines() );
	}

	public function test_the_largest_amounts_below_10_to_the_14_are_sent(): void {
		$GLOBALS['wc_test_orders'][105] = wc_get_order( 101 )->with(
			[
				'id'             => 105,
				'total'          => '99999999999999.98',
				'discount_total' => -99999999999999.98,
			]
		);

		do_action( 'woocommerce_update_order', 105, wc_get_order( 105 ) );
		do_action( 'shutdown' );

		$this->assertStringContainsString( '"total":99999999999999.98,', $GLOBALS['wp_test_requests'][0]['args']['body'] );
		$this->assertSame( -99999999999999.98, $this->records()[0]['discount_total'] );
	}

	/** @return array<string, array{WC_DateTime}> */
	public function dates_beyond(): array {
		return [
			'the year 10000'              => [ ( new WC_DateTime( '2026-01-01T00:00:00+00:00' ) )->setDate( 10000, 1, 1 ) ],
			'9999-12-31 in UTC'           => [ new WC_DateTime( '9999-12-31T00:00:00+00:00' ) ],
			'9999-12-31 in UTC, from -05' => [ new WC_DateTime( '9999-12-30T20:00:00-05:00' ) ],
			'0001-01-01 in UTC'           => [ new WC_DateTime( '0001-01-01T23:59:59+00:00' ) ],
			'0001-01-01 in UTC, from +01' => [ new WC_DateTime( '0001-01-02T00:30:00+01:00' ) ],
		];
	}

	/**
	 * stocksync takes the dates from 0001-01-02 to before 9999-12-31 in UTC, which it can
	 * hold in any time zone.
	 *
	 * @dataProvider dates_beyond
	 */
	public function test_a_date_beyond_stocksyncs_calendar_is_sent_as_none( WC_DateTime $date ): void {
		$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with( [ 'id' => 210, 'date_created' => $date ] );

		do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
		do_action( 'shutdown' );

		$this->assertNull( $this->records()[0]['created_at'] );
		$this->assertSame( '2026-12-01T08:30:00+01:00', $this->records()[0]['updated_at'] );
	}

	public function test_the_first_and_last_dates_of_stocksyncs_calendar_are_sent(): void {
		$GLOBALS['wc_test_products'][210] = wc_get_product( 201 )->with(
			[
				'id'            => 210,
				'date_created'  => new WC_DateTime( '0001-01-02T01:00:00+01:00' ),
				'date_modified' => new WC_DateTime( '9999-12-30T23:59:59+00:00' ),
			]
		);

		do_action( 'woocommerce_update_product', 210, wc_get_product( 210 ) );
		do_action( 'shutdown' );

		$this->assertSame( [ '0001-01-02T01:00:00+01:00', '9999-12-30T23:59:59+00:00' ], [ $this->records()[0]['created_at'], $this->records()[0]['updated_at'] ] );
	}

	// Text's rules one by one, its fallbacks for a PHP without mbstring among them.

	public function test_clean_counts_characters_not_bytes(): void {
		$this->assertSame( 'añ日𝄞', Text::clean( 'añ日𝄞xyz', 4 ) );
		$this->assertSame( 'añ日𝄞', Text::clean( 'añ日𝄞', 4 ) );
		$this->assertSame( 'abc', Text::clean( 'abc', 0 ) );
		$this->assertSame( '12', Text::clean( 12 ) );
		$this->assertSame( '', Text::clean( null ) );
		$this->assertSame( '', Text::clean( [ 'an', 'array' ] ) );
	}

	/** @return array<string, array{string, string}> */
	public function invalid_utf8(): array {
		return [
			'valid'                => [ "añ日\u{1D11E}", "añ日\u{1D11E}" ],
			'Latin-1'              => [ "Caf\xE9", 'Caf' ],
			'a lone continuation'  => [ "a\x80b", 'ab' ],
			'an overlong /'        => [ "a\xC0\xAFb", 'ab' ],
			'a surrogate'          => [ "a\xED\xA0\x80b", 'ab' ],
			'above U+10FFFF'       => [ "a\xF4\x90\x80\x80b", 'ab' ],
			'a truncated 日'        => [ "a\xE6\x97", 'a' ],
			'a truncated 日 then 日' => [ "\xE6\x97\xE6\x97\xA5", '日' ],
			'5 bytes'              => [ "a\xF8\x88\x80\x80\x80b", 'ab' ],
			'U+10FFFF and U+FFFF'  => [ "\xF4\x8F\xBF\xBF\xEF\xBF\xBF", "\u{10FFFF}\u{FFFF}" ],
		];
	}

	/** @dataProvider invalid_utf8 */
	public function test_without_mbstring_invalid_utf8_is_dropped( string $text, string $expected ): void {
		$this->assertSame( $expected, Text::utf8_without_mbstring( $text ) );
		$this->assertTrue( Text::is_utf8( Text::utf8( $text ) ) );
	}

	public function test_without_mbstring_a_cut_is_at_most_max_bytes_and_never_splits_a_character(): void {
		$text = "a\u{00F1}\u{65E5}\u{1D11E}b\u{1D11E}\u{65E5}\u{00F1}a";
		for ( $max = 0; $max <= strlen( $text ) + 1; $max++ ) {
			$cut = Text::truncate_bytes( $text, $max );
			$this->assertTrue( Text::is_utf8( $cut ), "max {$max}" );
			$this->assertLessThanOrEqual( $max, strlen( $cut ), "max {$max}" );
			$this->assertSame( substr( $text, 0, strlen( $cut ) ), $cut, "max {$max}" );
			// Nothing more would fit: the next character is longer than what is left.
			$next = mb_substr( substr( $text, strlen( $cut ) ), 0, 1, 'UTF-8' );
			$this->assertTrue( '' === $next || strlen( $cut ) + strlen( $next ) > $max, "max {$max}" );
		}
	}

	public function test_is_blank_as_the_endpoint_sees_it(): void {
		foreach ( [ '', ' ', "\t\n\r\x0B\x0C", "\x1C\x1F", "\u{0085}\u{00A0}\u{1680}\u{2000}\u{200A}\u{2028}\u{2029}\u{202F}\u{205F}\u{3000}" ] as $blank ) {
			$this->assertTrue( Text::is_blank( $blank ), json_encode( $blank ) );
		}
		// Python's str.strip() keeps these: the zero-width space and U+180E are not whitespace to it.
		foreach ( [ 'a', ' a ', "\u{200B}", "\u{180E}", "\u{FEFF}" ] as $text ) {
			$this->assertFalse( Text::is_blank( $text ), json_encode( $text ) );
		}
	}

	public function test_integer_brings_any_number_within_its_bounds(): void {
		$this->assertSame( [ 5, 0, 10, 7, 2, 0, 10, 0, 0, 10 ], array_map( static fn( $value ): int => Text::integer( $value, 0, 10 ), [ 5, -1, 11, '7', 2.9, NAN, INF, '-INF', 'abc', 1e300 ] ) );
		$this->assertSame( self::INT4_MAX, Text::integer( PHP_INT_MAX, -self::INT4_MAX, self::INT4_MAX ) );
		$this->assertSame( -self::INT4_MAX, Text::integer( (float) PHP_INT_MIN * 4, -self::INT4_MAX, self::INT4_MAX ) );
		$this->assertSame( 0, Text::integer( null, -5, 5 ) );
	}

	/**
	 * A line item of the fixture order's first, with some values replaced.
	 *
	 * @param array<string, mixed> $values
	 */
	private function line( int $id, array $values ): WC_Order_Item_Product {
		return wc_get_order( 101 )->get_items()[9001]->with( [ 'id' => $id ] + $values );
	}

	/**
	 * Customer 301's data under another id, with some values replaced.
	 *
	 * @param array<string, mixed> $values
	 * @return array<string, mixed>
	 */
	private function customer( int $id, array $values ): array {
		return array_replace( $GLOBALS['wc_test_customers'][301], [ 'id' => $id ], $values );
	}

	/**
	 * Every record sent, across requests, in the order sent.
	 *
	 * @return list<array<string, mixed>>
	 */
	private function records(): array {
		return array_merge( ...array_map( static fn( array $envelope ): array => $envelope['data'], $this->sent() ) );
	}

	/** The log without its dates. */
	private function log_lines(): string {
		return (string) preg_replace( '/^\[[^\]]*\] /m', '', $this->logged() );
	}
}
