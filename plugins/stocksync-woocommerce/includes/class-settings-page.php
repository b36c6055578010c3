<?php
/**
 * Settings > stocksync.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * The URL and the API key, through the Settings API: options.php checks the nonce and
 * the capability, then calls the sanitize callbacks below.
 *
 * The stored API key is never printed, not even as the field's value: the field is
 * always empty, an empty submission keeps the key, and a checkbox forgets it.
 */
final class Settings_Page {

	public const DISCONNECT_FIELD = 'stocksync_disconnect';

	private const SLUG  = 'stocksync';
	private const GROUP = 'stocksync';

	/** Where http is accepted: this machine, for development. */
	private const LOCAL_HOSTS = array( 'localhost', '127.0.0.1', '::1' );

	public function add_page(): void {
		add_options_page(
			__( 'stocksync', 'stocksync-woocommerce' ),
			__( 'stocksync', 'stocksync-woocommerce' ),
			'manage_options',
			self::SLUG,
			array( $this, 'render' )
		);
	}

	public function register(): void {
		register_setting(
			self::GROUP,
			Options::URL,
			array(
				'type'              => 'string',
				'sanitize_callback' => array( $this, 'sanitize_url' ),
				'default'           => '',
			)
		);
		register_setting(
			self::GROUP,
			Options::API_KEY,
			array(
				'type'              => 'string',
				'sanitize_callback' => array( $this, 'sanitize_api_key' ),
				'default'           => '',
			)
		);
	}

	/**
	 * An https URL, or empty; http only for this machine (localhost, 127.0.0.1, ::1),
	 * for development: anywhere else the API key would cross the network in clear text
	 * in every request's Authorization header. Anything else is refused with a notice
	 * and the stored URL stays, so a typo does not silently stop the sync.
	 *
	 * @param mixed $value As submitted.
	 */
	public function sanitize_url( $value ): string {
		$raw = is_string( $value ) ? trim( $value ) : '';
		if ( '' === $raw ) {
			return '';
		}
		$url    = esc_url_raw( $raw, array( 'http', 'https' ) );
		$scheme = strtolower( (string) wp_parse_url( $url, PHP_URL_SCHEME ) );
		$host   = strtolower( trim( (string) wp_parse_url( $url, PHP_URL_HOST ), '[]' ) );
		if ( ! in_array( $scheme, array( 'http', 'https' ), true ) || '' === $host ) {
			add_settings_error(
				Options::URL,
				'stocksync_url_invalid',
				__( 'The stocksync URL must start with https://. The previous URL is kept.', 'stocksync-woocommerce' )
			);
			return Options::url();
		}
		if ( 'http' === $scheme && ! in_array( $host, self::LOCAL_HOSTS, true ) ) {
			add_settings_error(
				Options::URL,
				'stocksync_url_insecure',
				__( 'The stocksync URL must start with https://: over http:// the API key would be sent in clear text (http:// is accepted only for localhost, 127.0.0.1 and ::1). The previous URL is kept.', 'stocksync-woocommerce' )
			);
			return Options::url();
		}
		return $url;
	}

	/**
	 * The submitted key; empty keeps the stored one, since the form never shows it.
	 *
	 * @param mixed $value As submitted.
	 */
	public function sanitize_api_key( $value ): string {
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- options.php has checked the nonce.
		if ( ! empty( $_POST[ self::DISCONNECT_FIELD ] ) ) {
			return '';
		}
		$key = is_string( $value ) ? trim( $value ) : '';
		return '' === $key ? Options::api_key() : $key;
	}

	public function render(): void {
		if ( ! current_user_can( 'manage_options' ) ) {
			return;
		}
		$has_key     = '' !== Options::api_key();
		$status      = Options::is_connected() ? __( 'Connected', 'stocksync-woocommerce' ) : __( 'Not connected', 'stocksync-woocommerce' );
		$placeholder = $has_key
			? __( 'A key is set. Leave empty to keep it.', 'stocksync-woocommerce' )
			: __( 'No key set', 'stocksync-woocommerce' );
		?>
<div class="wrap">
	<h1><?php echo esc_html( __( 'stocksync', 'stocksync-woocommerce' ) ); ?></h1>
	<p><strong><?php echo esc_html( $status ); ?></strong></p>
	<form method="post" action="options.php">
		<?php settings_fields( self::GROUP ); ?>
		<table class="form-table" role="presentation">
			<tr>
				<th scope="row"><label for="<?php echo esc_attr( Options::URL ); ?>"><?php echo esc_html( __( 'stocksync URL', 'stocksync-woocommerce' ) ); ?></label></th>
				<td><input type="url" class="regular-text code" id="<?php echo esc_attr( Options::URL ); ?>" name="<?php echo esc_attr( Options::URL ); ?>" value="<?php echo esc_url( Options::url() ); ?>" placeholder="https://stocksync.example.com"></td>
			</tr>
			<tr>
				<th scope="row"><label for="<?php echo esc_attr( Options::API_KEY ); ?>"><?php echo esc_html( __( 'API key', 'stocksync-woocommerce' ) ); ?></label></th>
				<td>
					<input type="password" class="regular-text" id="<?php echo esc_attr( Options::API_KEY ); ?>" name="<?php echo esc_attr( Options::API_KEY ); ?>" value="" autocomplete="new-password" placeholder="<?php echo esc_attr( $placeholder ); ?>">
					<?php if ( $has_key ) : ?>
					<p><label><input type="checkbox" name="<?php echo esc_attr( self::DISCONNECT_FIELD ); ?>" value="1"> <?php echo esc_html( __( 'Disconnect: forget the API key', 'stocksync-woocommerce' ) ); ?></label></p>
					<?php endif; ?>
				</td>
			</tr>
		</table>
		<?php submit_button(); ?>
	</form>
</div>
		<?php
	}
}
