"""A faithful local BigCommerce: V3 catalog reads, batch stock writes, rate limits, webhooks.

`app` (quota headers, problem-shaped errors), `routes` (the V3 routes), `problems`
(BigCommerce's error shape and quota headers), `catalog` (products and variants),
`state` (the write rules) and `webhooks` (payloads and Standard Webhooks signatures).
Behaviour follows docs/platforms.md sections 3 and 4.
"""

from sandbox.bigcommerce.app import create_app

__all__ = ["create_app"]
