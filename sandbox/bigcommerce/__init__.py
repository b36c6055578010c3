"""A faithful local BigCommerce: V3 catalog reads, batch stock writes, rate limits, webhooks,
and orders that lower the store's own levels.

`app` (quota headers, problem-shaped errors), `routes` (the V3 routes), `problems`
(BigCommerce's error shape and quota headers), `catalog` (products and variants),
`state` (the write rules), `webhooks` (payloads and Standard Webhooks signatures),
`orders` (order data, statuses and stock rules), `order_desk` (placing, moving and
refunding orders) and `order_routes` (V2 order reads and the `/_sandbox/orders` knobs).
Behaviour follows docs/platforms.md sections 3 and 4.
"""

from sandbox.bigcommerce.app import create_app

__all__ = ["create_app"]
