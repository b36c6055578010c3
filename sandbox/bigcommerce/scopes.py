"""The OAuth scopes of the sandbox's API account, and which routes need which.

Source: `bigcommerce/docs` `docs/start/authentication/api-accounts.mdx` (scope table)
and each reference's security scheme: the Catalog needs Products
(`store_v2_products`), the Inventory API Store Inventory (`store_inventory`), Settings
Information & Settings (`store_v2_information`), V2 orders Orders (`store_v2_orders`).
Every scope but the default has a `_read_only` form allowing only GET and HEAD; hooks
need only the default scope every API account has. A missing scope answers 403
(`docs/start/about/status-codes.mdx`: "App lacks required OAuth scopes"); the title is
the one reported in NangoHQ/nango#7026.

An account's scopes come from its credentials: `"scopes"`, comma-separated parameter
names; without it, every scope the sandbox models, with modify rights.
"""

from __future__ import annotations

from collections.abc import Mapping

#: (path under `/stores/<hash>/`, the scope family it needs), first match wins.
FAMILIES = (
    ("v3/catalog/", "store_v2_products"),
    ("v3/inventory/", "store_inventory"),
    ("v3/settings/", "store_v2_information"),
    ("v2/orders", "store_v2_orders"),
)
ALL_SCOPES = frozenset(family for _, family in FAMILIES)
#: The 403's title when a route needs a scope the account lacks.
MISSING_SCOPE = "You don't have a required scope to access the endpoint"
_READS = ("GET", "HEAD")


def granted_scopes(credentials: Mapping[str, str]) -> frozenset[str]:
    """The scopes an account was given (`credentials["scopes"]`), else all of them."""
    raw = credentials.get("scopes")
    if raw is None:
        return ALL_SCOPES
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def missing_scope(path: str, method: str, granted: frozenset[str]) -> str | None:
    """The scope family `method path` needs and `granted` lacks, or None."""
    for prefix, family in FAMILIES:
        if path.startswith(prefix):
            if family in granted or (method in _READS and f"{family}_read_only" in granted):
                return None
            return family
    return None
