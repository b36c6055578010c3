"""A Shopify sandbox: the GraphQL Admin API the connector uses, and signed stock webhooks.

`app` (the endpoint, token check and throttle), `graphql` (the operations it answers,
with `queries`, `inventory` and `subscriptions`; `selection` cuts each answer to the
fields asked), `bulk` (bulk query operations and their JSONL files; cursor pages stop
at 25,000 objects in `queries`), `state` (variants and stock), `webhooks` (Shopify's signature and
headers), `deliveries` (subscriptions' retries and deletion on the sandbox clock).
Behaviour follows docs/platforms.md section 5.
"""

from sandbox.shopify.app import create_app

__all__ = ["create_app"]
