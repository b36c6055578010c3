"""Zoho Inventory sandbox: the accounts token endpoint, the items API and item webhooks.

`app` (token and organization checks, Zoho-shaped faults), `oauth` (the accounts
server's token endpoint), `items` (the items routes, with the modified-since filter),
`control` (sales orders and their steps, inventory adjustments; invoices, shipments and
adjustments stamp the item and send no webhook), `state` (the organization's items
and tokens) and `errors`.
Behaviour follows docs/platforms.md section 6.
"""

from sandbox.zoho.app import create_app

__all__ = ["create_app"]
