<?php
/**
 * WooCommerce's FeaturesUtil (7.1 and later), recording each declaration. Not loaded by
 * the bootstrap, so that the class is absent unless a test requires this file: the
 * plugin must also work with WooCommerce before 7.1.
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

namespace Automattic\WooCommerce\Utilities;

class FeaturesUtil {
	/** @var list<array{0: string, 1: string, 2: bool}> feature, plugin file, compatible */
	public static array $declared = [];

	public static function declare_compatibility( string $feature_id, string $plugin_file, bool $positive_compatibility = true ): bool {
		self::$declared[] = [ $feature_id, $plugin_file, $positive_compatibility ];
		return true;
	}
}
