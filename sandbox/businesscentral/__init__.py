"""Business Central sandbox: the Entra ID token endpoint, the v2.0 items API, webhooks.

`app` (bearer check, OData faults), `entra` (the token endpoint), `items` (companies
and items), `ledger_api` (item ledger entries), `sales_api` (sales orders, their
lines, posted shipments), `lists` (one
OData list answer), `subscriptions` (create, list, renew, delete, with the validation
handshake, on the sandbox's clock), `notices` (what an answer to a notification does to
its subscription), `state` (the company's items, its subscriptions and notifications),
`sales` (sales documents), `ledger` (every stock movement as item ledger entries),
`control` (import and ship orders, post item journals and purchase receipts; the app's
permissions)
and `odata` (OData conventions).
Behaviour follows docs/platforms.md section 7.
"""

from sandbox.businesscentral.app import create_app

__all__ = ["create_app"]
