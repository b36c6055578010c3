"""Zoho Inventory sandbox: the accounts token endpoint, the items API and item webhooks.

`app` (token and organization checks, Zoho-shaped faults), `oauth` (the accounts
server's token endpoint), `items` (the items routes), `control` (committing stock, as
a sales order does), `state` (the organization's items and tokens) and `errors`.
Behaviour follows docs/platforms.md section 6.
"""

from sandbox.zoho.app import create_app

__all__ = ["create_app"]
