<?php
/**
 * Strings and numbers as stocksync's endpoint accepts them.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * The endpoint refuses a whole request (up to 100 records) for one value it cannot
 * store, and the plugin never reads the answer, so every value is made acceptable
 * here: valid UTF-8 without NUL characters, no longer than its field allows (counted
 * in characters, as the endpoint counts), integers within their column.
 */
final class Text {

	/** The endpoint's integer columns are PostgreSQL's int4. */
	public const INT4_MAX = 2147483647;

	/** Money is numeric(18, 4): 14 digits before the point. */
	public const MONEY_LIMIT = 1e14;

	/**
	 * Python's str.isspace(), by which the endpoint calls a string blank.
	 */
	private const BLANK = '/^[\x{0009}-\x{000D}\x{001C}-\x{0020}\x{0085}\x{00A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]*$/u';

	/**
	 * Valid UTF-8 without NUL characters, cut to $max characters (0: no limit).
	 *
	 * @param mixed $value What a getter gave.
	 */
	public static function clean( $value, int $max = 0 ): string {
		$text = str_replace( "\0", '', self::utf8( self::string( $value ) ) );
		return $max > 0 ? self::truncate( $text, $max ) : $text;
	}

	/**
	 * The value if it is valid UTF-8 without NUL characters, else ''. For a SKU, which
	 * must reach stocksync exactly as the store has it or not at all: a repaired SKU
	 * could be another product's. '' is no SKU, a record stocksync does not track.
	 *
	 * @param mixed $value What a getter gave.
	 */
	public static function exact( $value ): string {
		$text = self::string( $value );
		return self::is_utf8( $text ) && false === strpos( $text, "\0" ) ? $text : '';
	}

	/** Empty or only whitespace, as the endpoint sees it. $text must be valid UTF-8. */
	public static function is_blank( string $text ): bool {
		return 1 === preg_match( self::BLANK, $text );
	}

	/**
	 * An integer within [$min, $max]: what is beyond is the nearest bound, what is not a
	 * number (or NaN) is 0 brought within.
	 *
	 * @param mixed $value What a getter gave: an int, a float or a numeric string.
	 */
	public static function integer( $value, int $min, int $max ): int {
		if ( is_int( $value ) ) {
			return max( $min, min( $max, $value ) );
		}
		$number = is_float( $value ) || is_numeric( $value ) ? (float) $value : 0.0;
		if ( is_nan( $number ) ) {
			$number = 0.0;
		}
		// Compared as a float before the cast: (int) of a float beyond PHP_INT_MAX is undefined.
		if ( $number >= $max ) {
			return $max;
		}
		if ( $number <= $min ) {
			return $min;
		}
		return (int) $number;
	}

	/** Whether an amount can be stored: finite and below MONEY_LIMIT either way. */
	public static function is_money( float $amount ): bool {
		return is_finite( $amount ) && abs( $amount ) < self::MONEY_LIMIT;
	}

	public static function is_utf8( string $text ): bool {
		return 1 === preg_match( '//u', $text );
	}

	/** $text with every invalid UTF-8 sequence replaced (mbstring) or dropped (without it). */
	public static function utf8( string $text ): string {
		if ( self::is_utf8( $text ) ) {
			return $text;
		}
		if ( function_exists( 'mb_convert_encoding' ) ) {
			$converted = mb_convert_encoding( $text, 'UTF-8', 'UTF-8' );
			if ( is_string( $converted ) && self::is_utf8( $converted ) ) {
				return $converted;
			}
		}
		return self::utf8_without_mbstring( $text );
	}

	/**
	 * The fallback of utf8(), public for its test: keeps each well-formed sequence
	 * (RFC 3629: no overlong form, no surrogate, nothing above U+10FFFF), drops every
	 * other byte from 0x80 up. PCRE is always there, mbstring and iconv may not be.
	 */
	public static function utf8_without_mbstring( string $text ): string {
		return (string) preg_replace(
			'/([\xC2-\xDF][\x80-\xBF]|\xE0[\xA0-\xBF][\x80-\xBF]|[\xE1-\xEC\xEE\xEF][\x80-\xBF]{2}|\xED[\x80-\x9F][\x80-\xBF]'
				. '|\xF0[\x90-\xBF][\x80-\xBF]{2}|[\xF1-\xF3][\x80-\xBF]{3}|\xF4[\x80-\x8F][\x80-\xBF]{2})|[\x80-\xFF]/',
			'$1',
			$text
		);
	}

	/** The first $max characters of valid UTF-8 $text. */
	public static function truncate( string $text, int $max ): string {
		if ( strlen( $text ) <= $max ) {
			return $text; // No more bytes than $max, so no more characters.
		}
		// WordPress defines mb_substr() itself where mbstring is missing.
		return function_exists( 'mb_substr' ) ? mb_substr( $text, 0, $max, 'UTF-8' ) : self::truncate_bytes( $text, $max );
	}

	/**
	 * The fallback of truncate(), public for its test: at most $max bytes of valid UTF-8
	 * $text, so at most $max characters, without the last character if the cut split it.
	 */
	public static function truncate_bytes( string $text, int $max ): string {
		$cut = substr( $text, 0, $max );
		$end = strlen( $cut );
		// Back over continuation bytes (10xxxxxx) to the first byte of the last character.
		$start = $end - 1;
		while ( $start >= 0 && 0x80 === ( ord( $cut[ $start ] ) & 0xC0 ) ) {
			--$start;
		}
		if ( $start < 0 ) {
			return '';
		}
		$lead   = ord( $cut[ $start ] );
		$length = $lead < 0x80 ? 1 : ( $lead >= 0xF0 ? 4 : ( $lead >= 0xE0 ? 3 : 2 ) );
		return $start + $length > $end ? substr( $cut, 0, $start ) : $cut;
	}

	/** @param mixed $value */
	private static function string( $value ): string {
		return is_scalar( $value ) || ( is_object( $value ) && method_exists( $value, '__toString' ) ) ? (string) $value : '';
	}
}
