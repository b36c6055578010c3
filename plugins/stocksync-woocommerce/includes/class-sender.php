<?php
/**
 * Collects the changes of one request and sends them when it ends.
 *
 * @package Stocksync\WooCommerce
 */

declare(strict_types=1);

namespace Stocksync\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Hooks only queue; shutdown sends. WooCommerce fires woocommerce_new_order before the
 * order's items are saved and fires update hooks several times per save, so each
 * entity is sent once per request, re-read at the end when it is complete.
 *
 * The records are sent grouped, one request per resource and action (and per
 * MAX_RECORDS of them): WordPress's cURL transport waits for each answer up to the
 * timeout even when not blocking, so one request per entity would make a bulk edit of
 * 300 products wait for 300 answers in a row.
 *
 * Nothing here may break WooCommerce: every failure is logged, never rethrown.
 */
final class Sender {

	/**
	 * Records per request: well under the endpoint's limits of 1000 records and 2 MiB
	 * per body (100 products make about 40 KB, 100 orders of 10 line items about
	 * 200 KB), and each request stays a short transaction on stocksync's side.
	 */
	public const MAX_RECORDS = 100;

	/**
	 * Bytes of records per request, half the endpoint's 2 MiB body limit: 100 orders
	 * averaging some 70 line items would not fit in 2 MiB, so a request also ends here.
	 * A single record larger than this still goes, alone.
	 */
	public const MAX_BYTES = 1048576;

	/**
	 * Pending entities in arrival order, keyed "resource:id".
	 *
	 * @var array<string, array{resource: string, id: int, action: string}>
	 */
	private array $queue = array();

	/**
	 * Remembers one change. 'created' wins over 'updated': a product created and then
	 * saved again in the same request is new to stocksync.
	 *
	 * @param mixed $id As the hook passed it (an int, or a numeric string from some callers).
	 */
	public function queue( string $resource, string $action, $id ): void {
		$id = (int) $id;
		try {
			if ( $id <= 0 || ! Options::is_connected() ) {
				return;
			}
			$key = $resource . ':' . $id;
			if ( 'created' === ( $this->queue[ $key ]['action'] ?? '' ) ) {
				$action = 'created';
			}
			$this->queue[ $key ] = array(
				'resource' => $resource,
				'id'       => $id,
				'action'   => $action,
			);
		} catch ( \Throwable $e ) {
			Logger::error( $resource, $id, $e->getMessage() );
		}
	}

	/**
	 * On shutdown: reads every queued entity as it is now, then posts them grouped by
	 * resource and action, the groups in the order their first entity changed, each as
	 * `data: [ ...records ]` (a list even of one) in requests of at most MAX_RECORDS.
	 */
	public function flush(): void {
		$queue       = $this->queue;
		$this->queue = array();
		try {
			if ( array() === $queue || ! Options::is_connected() ) {
				return;
			}
		} catch ( \Throwable $e ) {
			return; // Without its settings nothing can be sent, nor logged: the log masks the key.
		}
		foreach ( $this->groups( $queue ) as $group ) {
			foreach ( self::chunks( $group['records'] ) as $records ) {
				$this->post( $group['resource'], $group['action'], $records );
			}
		}
	}

	/**
	 * The queued entities that can be sent, each encoded, grouped by resource and action.
	 * Each is read in its own try: one failing is logged and left out, the others go.
	 *
	 * @param array<string, array{resource: string, id: int, action: string}> $queue
	 * @return array<string, array{resource: string, action: string, records: list<string>}>
	 */
	private function groups( array $queue ): array {
		$groups = array();
		foreach ( $queue as $entry ) {
			try {
				$record = $this->record( $entry['resource'], $entry['id'] );
			} catch ( \Throwable $e ) {
				Logger::error( $entry['resource'], $entry['id'], $e->getMessage() );
				continue;
			}
			if ( null === $record ) {
				continue;
			}
			$key = $entry['resource'] . ' ' . $entry['action'];
			if ( ! isset( $groups[ $key ] ) ) {
				$groups[ $key ] = array(
					'resource' => $entry['resource'],
					'action'   => $entry['action'],
					'records'  => array(),
				);
			}
			$groups[ $key ]['records'][] = $record;
		}
		return $groups;
	}

	/**
	 * Consecutive runs of at most MAX_RECORDS records and MAX_BYTES bytes.
	 *
	 * @param list<string> $records Each one JSON-encoded record.
	 * @return list<list<string>>
	 */
	private static function chunks( array $records ): array {
		$chunks = array();
		$chunk  = array();
		$bytes  = 0;
		foreach ( $records as $record ) {
			$size = strlen( $record ) + 1; // And its comma.
			if ( array() !== $chunk && ( count( $chunk ) >= self::MAX_RECORDS || $bytes + $size > self::MAX_BYTES ) ) {
				$chunks[] = $chunk;
				$chunk    = array();
				$bytes    = 0;
			}
			$chunk[] = $record;
			$bytes  += $size;
		}
		if ( array() !== $chunk ) {
			$chunks[] = $chunk;
		}
		return $chunks;
	}

	/**
	 * One request. A failure is logged with the resource and the number of records,
	 * never the key or the body.
	 *
	 * @param list<string> $records Each one JSON-encoded record.
	 */
	private function post( string $resource, string $action, array $records ): void {
		try {
			// The records are JSON already: the envelope is written around them, not encoded again.
			$body     = '{"resource":' . wp_json_encode( $resource )
				. ',"action":' . wp_json_encode( $action )
				. ',"data":[' . implode( ',', $records ) . ']}';
			$response = wp_remote_post(
				trailingslashit( Options::url() ) . 'api/sync/webhook',
				array(
					// The answer is not read. WordPress's cURL transport still waits for it, up to the timeout.
					'timeout'     => 3,
					'blocking'    => false,
					'redirection' => 0,
					'headers'     => array(
						'Content-Type'  => 'application/json',
						'Authorization' => 'Bearer ' . Options::api_key(),
						'User-Agent'    => 'stocksync-woocommerce/' . Plugin::VERSION,
					),
					'body'        => $body,
				)
			);
			if ( is_wp_error( $response ) ) {
				Logger::request_error( $resource, count( $records ), $response->get_error_message() );
			}
		} catch ( \Throwable $e ) {
			Logger::request_error( $resource, count( $records ), $e->getMessage() );
		}
	}

	/**
	 * The entity as it is now, as one JSON record, or null when it is gone or is not
	 * ours to send.
	 *
	 * @throws \RuntimeException When it cannot be encoded (the message does not quote it).
	 */
	private function record( string $resource, int $id ): ?string {
		$data = $this->payload( $resource, $id );
		if ( null === $data ) {
			return null;
		}
		// JSON_PRESERVE_ZERO_FRACTION: 23.0 goes out as 23.0, not 23, so money stays a float.
		$json = wp_json_encode( $data, JSON_PRESERVE_ZERO_FRACTION );
		if ( false === $json ) {
			throw new \RuntimeException( 'cannot encode the payload as JSON: ' . json_last_error_msg() );
		}
		return $json;
	}

	/**
	 * The entity as it is now, or null when it is gone or is not ours to send.
	 *
	 * @return array<string, mixed>|null
	 */
	private function payload( string $resource, int $id ): ?array {
		switch ( $resource ) {
			case 'order':
				$order = wc_get_order( $id );
				// A refund is a WC_Order_Refund, a sibling of WC_Order, not an order. A WooCommerce
				// Subscriptions subscription is a WC_Order of type shop_subscription: no stock to hold.
				return $order instanceof \WC_Order && 'shop_order' === $order->get_type() ? Payloads::order( $order ) : null;
			case 'product':
				$product = wc_get_product( $id );
				return $product instanceof \WC_Product ? Payloads::product( $product ) : null;
			case 'customer':
				// For a deleted user WooCommerce does not throw: it gives a customer with id 0.
				$customer = new \WC_Customer( $id );
				return $customer->get_id() === $id ? Payloads::customer( $customer ) : null;
			case 'category':
				$term = get_term( $id, 'product_cat' );
				return $term instanceof \WP_Term ? Payloads::category( $term ) : null;
			default:
				return null;
		}
	}
}
