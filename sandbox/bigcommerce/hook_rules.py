"""BigCommerce's rules for webhooks ("hooks"), as the sandbox applies them.

Sources: public copy of `bigcommerce/docs` (HEAD 24f580c): `reference/webhooks.v3.yml`,
`docs/integrations/webhooks/overview.mdx`, `events/index.mdx`; docs/platforms.md
section 3.

- A hook is `{id, client_id, store_hash, scope, destination, is_active, headers,
  created_at, updated_at}`, times in Unix seconds (`webhook_Full`).
- The destination must be HTTPS served on port 443 ("custom ports are not currently
  supported"). What BigCommerce answers otherwise is not documented beyond "422: missing
  or unacceptable data ... listed in the errors object"; the sandbox answers that 422
  with `errors.destination` (the exact wording is UNCONFIRMED).
- Scopes may end in `/*`: `store/product/*` "fires for all store/product events", and
  `store/cart/*` "also fires for store/cart/lineItem events", so a wildcard covers
  every deeper scope of its prefix (INFERRED for deeper product scopes such as
  `store/product/inventory/updated`).
- At most one hook per (client, scope, destination) and 10 per (client, scope)
  (overview.mdx, "Platform limits"). How a create over either limit is refused is not
  documented; the sandbox answers 422 (UNCONFIRMED).
- About 48 h after the first failed delivery, once its retries are spent, the hook is
  deactivated (`is_active` false); `PUT {"is_active": true}` restores it. A hook is also
  deactivated after 90 days of inactivity; the sandbox counts inactivity from the last
  event sent to it, or its last update (what "inactivity" means is UNCONFIRMED).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sandbox.hooks import Hook

#: From the first failed delivery to deactivation (overview.mdx, retry table: 48 h).
FAILING_LIMIT = timedelta(hours=48)
#: Inactivity after which a hook is deactivated (webhooks.v3.yml, `is_active`).
IDLE_LIMIT = timedelta(days=90)
#: Hooks per (client, scope) (overview.mdx, "Platform limits").
MAX_PER_SCOPE = 10
#: `extra` key: when the last event was sent to the hook (for the idle rule).
LAST_EVENT = "last_event_at"

#: A scope as the events reference writes them: `store/` and words, maybe `/*` last.
#: Whether BigCommerce refuses a well-formed scope it does not know is UNCONFIRMED.
_SCOPE = re.compile(r"store(/[A-Za-z]+)+(/\*)?")


def scope_problem(scope: Any) -> str | None:
    """Why `scope` cannot be subscribed to, or None."""
    if not isinstance(scope, str) or not scope:
        return "error.path.missing."
    if _SCOPE.fullmatch(scope) is None:
        return f"Invalid scope {scope}"
    return None


def destination_problem(destination: Any) -> str | None:
    """Why BigCommerce refuses `destination`, or None: HTTPS on port 443 only."""
    if not isinstance(destination, str) or not destination:
        return "error.path.missing."
    try:
        parts = urlsplit(destination)
        port = parts.port
    except ValueError:
        return "The destination must be a valid URL"
    if parts.scheme != "https" or not parts.hostname:
        return "The destination must be an HTTPS URL"
    if port not in (None, 443):
        return "The destination must be served on port 443; custom ports are not supported"
    return None


def headers_problem(headers: Any) -> str | None:
    """Why `headers` is not a string-to-string object (or null), or None."""
    if headers is None:
        return None
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        return "headers must be an object of strings"
    return None


def scope_matches(pattern: str, scope: str) -> bool:
    """Whether a hook subscribed to `pattern` receives an event of `scope`."""
    if pattern.endswith("/*"):
        return scope.startswith(pattern[:-1])
    return pattern == scope


def hook_json(hook: Hook, *, client_id: str, store_hash: str) -> dict[str, Any]:
    """A hook as the V3 API shows it (`webhook_Full`)."""
    return {
        "id": int(hook.id),
        "client_id": client_id,
        "store_hash": store_hash,
        "scope": hook.topic,
        "destination": hook.url,
        "is_active": hook.active,
        "headers": hook.extra.get("headers"),
        "created_at": int(hook.created_at.timestamp()),
        "updated_at": int(hook.updated_at.timestamp()),
    }


def deactivation_due(hook: Hook, now: datetime) -> bool:
    """Whether BigCommerce would have deactivated this active hook by `now`: failing
    for 48 h since its first failed delivery, or idle for 90 days."""
    if not hook.active:
        return False
    if hook.failing_since is not None and now - hook.failing_since >= FAILING_LIMIT:
        return True
    last_event = hook.extra.get(LAST_EVENT)
    idle_since = max(hook.updated_at, last_event) if last_event else hook.updated_at
    return now - idle_since >= IDLE_LIMIT


def reactivate(hook: Hook) -> None:
    """`is_active` set back to true: the failures so far no longer count."""
    hook.active = True
    hook.failures, hook.failing_since = 0, None
