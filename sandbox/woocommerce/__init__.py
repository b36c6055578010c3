"""A WooCommerce store: the REST API v3 product routes stocksync uses, and its webhooks.

`app` (faults in WordPress's error shape), `products` (the routes), `paging`
(WordPress's collection parameters), `auth` (key/secret by Basic or OAuth 1.0a),
`catalog` (products and variations), `state`, `errors`, `webhooks` (WooCommerce's
body encoding, signature and headers), `webhook_routes` and `hook_rules` (the
`/wc/v3/webhooks` API and WC's rules for those webhooks), and `key_routes` (API keys
with their permissions). Behaviour follows docs/platforms.md sections 1 and 2.
"""

from sandbox.woocommerce.app import create_app

__all__ = ["create_app"]
