<?php
/**
 * The WordPress functions the plugin calls, small enough to read, with their state in
 * globals that tests inspect and wp_test_reset() clears:
 *
 * - wp_test_actions: hook => priority => list of [callback, accepted_args]
 * - wp_test_options: option name => value
 * - wp_test_requests: every wp_remote_post call, [url, args]
 * - wp_test_request_listeners: callables told of every request (the capture)
 * - wp_test_transport: what wp_remote_post answers with; null answers 200
 * - wp_test_terms, wp_test_settings, wp_test_settings_errors, wp_test_pages, wp_test_can
 *
 * @package Stocksync\WooCommerce\Tests
 */

declare(strict_types=1);

/** Back to an empty WordPress; $actions are the hooks to start from. */
function wp_test_reset( array $actions = [] ): void {
	$GLOBALS['wp_test_actions']         = $actions;
	$GLOBALS['wp_test_options']         = [];
	$GLOBALS['wp_test_requests']        = [];
	$GLOBALS['wp_test_transport']       = null;
	$GLOBALS['wp_test_terms']           = [];
	$GLOBALS['wp_test_settings']        = [];
	$GLOBALS['wp_test_settings_errors'] = [];
	$GLOBALS['wp_test_pages']           = [];
	$GLOBALS['wp_test_can']             = true;
	$GLOBALS['wp_test_request_listeners'] ??= [];
}

// Hooks.

function add_action( string $hook, $callback, int $priority = 10, int $accepted_args = 1 ): bool {
	$GLOBALS['wp_test_actions'][ $hook ][ $priority ][] = [ $callback, $accepted_args ];
	return true;
}

function remove_action( string $hook, $callback, int $priority = 10 ): bool {
	$before = $GLOBALS['wp_test_actions'][ $hook ][ $priority ] ?? [];
	$after  = array_values( array_filter( $before, static fn( array $entry ): bool => $entry[0] !== $callback ) );
	if ( [] === $after ) {
		unset( $GLOBALS['wp_test_actions'][ $hook ][ $priority ] );
	} else {
		$GLOBALS['wp_test_actions'][ $hook ][ $priority ] = $after;
	}
	if ( [] === ( $GLOBALS['wp_test_actions'][ $hook ] ?? null ) ) {
		unset( $GLOBALS['wp_test_actions'][ $hook ] );
	}
	return count( $after ) < count( $before );
}

/** As WordPress: without a callback, whether any is hooked; with one, its priority or false. */
function has_action( string $hook, $callback = false ) {
	foreach ( $GLOBALS['wp_test_actions'][ $hook ] ?? [] as $priority => $entries ) {
		foreach ( $entries as $entry ) {
			if ( false === $callback || $entry[0] === $callback ) {
				return false === $callback ? true : $priority;
			}
		}
	}
	return false;
}

function do_action( string $hook, ...$args ): void {
	$byPriority = $GLOBALS['wp_test_actions'][ $hook ] ?? [];
	ksort( $byPriority );
	foreach ( $byPriority as $entries ) {
		foreach ( $entries as [ $callback, $accepted_args ] ) {
			$callback( ...array_slice( $args, 0, $accepted_args ) );
		}
	}
}

function plugin_basename( string $file ): string {
	return basename( dirname( $file ) ) . '/' . basename( $file );
}

function register_activation_hook( string $file, $callback ): void {
	add_action( 'activate_' . plugin_basename( $file ), $callback );
}

function register_deactivation_hook( string $file, $callback ): void {
	add_action( 'deactivate_' . plugin_basename( $file ), $callback );
}

// Options.

function get_option( string $name, $default = false ) {
	return array_key_exists( $name, $GLOBALS['wp_test_options'] ) ? $GLOBALS['wp_test_options'][ $name ] : $default;
}

function add_option( string $name, $value = '' ): bool {
	if ( array_key_exists( $name, $GLOBALS['wp_test_options'] ) ) {
		return false;
	}
	$GLOBALS['wp_test_options'][ $name ] = $value;
	return true;
}

function update_option( string $name, $value ): bool {
	$GLOBALS['wp_test_options'][ $name ] = $value;
	return true;
}

function delete_option( string $name ): bool {
	$existed = array_key_exists( $name, $GLOBALS['wp_test_options'] );
	unset( $GLOBALS['wp_test_options'][ $name ] );
	return $existed;
}

// HTTP.

class WP_Error {
	private string $code;
	private string $message;

	public function __construct( string $code = '', string $message = '' ) {
		$this->code    = $code;
		$this->message = $message;
	}

	public function get_error_code(): string {
		return $this->code;
	}

	public function get_error_message(): string {
		return $this->message;
	}
}

function is_wp_error( $thing ): bool {
	return $thing instanceof WP_Error;
}

/**
 * Records the request, shows it to every listener, then answers with the transport:
 * tests swap it to fail, the harness to really send.
 *
 * @return array|WP_Error
 */
function wp_remote_post( string $url, array $args = [] ) {
	$GLOBALS['wp_test_requests'][] = [ 'url' => $url, 'args' => $args ];
	foreach ( $GLOBALS['wp_test_request_listeners'] as $listener ) {
		$listener( $url, $args );
	}
	$transport = $GLOBALS['wp_test_transport'];
	return null === $transport
		? [ 'headers' => [], 'body' => '', 'response' => [ 'code' => 200, 'message' => 'OK' ] ]
		: $transport( $url, $args );
}

/** @return string|false */
function wp_json_encode( $data, int $options = 0, int $depth = 512 ) {
	return json_encode( $data, $options, $depth );
}

// Strings and URLs.

function trailingslashit( string $value ): string {
	return rtrim( $value, '/\\' ) . '/';
}

function wp_parse_url( string $url, int $component = -1 ) {
	return parse_url( $url, $component );
}

/** As WordPress: '' for a protocol not allowed, http:// added to a bare host. */
function esc_url_raw( string $url, ?array $protocols = null ): string {
	$url = trim( $url );
	if ( '' === $url ) {
		return '';
	}
	if ( ! preg_match( '#^[a-z][a-z0-9+.-]*:#i', $url ) && ! preg_match( '#^[/\#?]#', $url ) ) {
		$url = 'http://' . $url;
	}
	$scheme = strtolower( (string) parse_url( $url, PHP_URL_SCHEME ) );
	$allowed = $protocols ?? [ 'http', 'https', 'ftp', 'mailto' ];
	if ( '' !== $scheme && ! in_array( $scheme, $allowed, true ) ) {
		return '';
	}
	return str_replace( [ ' ', '"', "'", '<', '>' ], [ '%20', '%22', '%27', '%3C', '%3E' ], $url );
}

function esc_url( string $url, ?array $protocols = null ): string {
	return htmlspecialchars( esc_url_raw( $url, $protocols ), ENT_QUOTES, 'UTF-8' );
}

function esc_html( string $text ): string {
	return htmlspecialchars( $text, ENT_QUOTES, 'UTF-8' );
}

function esc_attr( string $text ): string {
	return htmlspecialchars( $text, ENT_QUOTES, 'UTF-8' );
}

function __( string $text, string $domain = 'default' ): string {
	return $text;
}

// Admin.

function current_user_can( string $capability ): bool {
	return $GLOBALS['wp_test_can'];
}

function add_options_page( string $page_title, string $menu_title, string $capability, string $slug, callable $callback ): string {
	$GLOBALS['wp_test_pages'][ $slug ] = compact( 'page_title', 'menu_title', 'capability', 'callback' );
	return 'settings_page_' . $slug;
}

function register_setting( string $group, string $name, array $args = [] ): void {
	$GLOBALS['wp_test_settings'][ $name ] = [ 'group' => $group, 'args' => $args ];
}

function add_settings_error( string $setting, string $code, string $message, string $type = 'error' ): void {
	$GLOBALS['wp_test_settings_errors'][] = compact( 'setting', 'code', 'message', 'type' );
}

function settings_fields( string $group ): void {
	echo '<input type="hidden" name="option_page" value="' . esc_attr( $group ) . '">';
	echo '<input type="hidden" name="action" value="update">';
	echo '<input type="hidden" name="_wpnonce" value="nonce">';
}

function submit_button(): void {
	echo '<input type="submit" name="submit" class="button button-primary" value="Save Changes">';
}

// Taxonomies.

class WP_Term {
	public int $term_id;
	public string $name;
	public string $slug;
	public string $taxonomy;
	public int $parent;
	public int $count;

	public function __construct( int $term_id, string $name, string $slug, string $taxonomy, int $parent, int $count ) {
		$this->term_id  = $term_id;
		$this->name     = $name;
		$this->slug     = $slug;
		$this->taxonomy = $taxonomy;
		$this->parent   = $parent;
		$this->count    = $count;
	}
}

/** A term from wp_test_terms, or null as WordPress when there is none. */
function get_term( $id, string $taxonomy = '' ): ?WP_Term {
	$term = $GLOBALS['wp_test_terms'][ (int) $id ] ?? null;
	return null !== $term && ( '' === $taxonomy || $term->taxonomy === $taxonomy ) ? $term : null;
}

wp_test_reset();
