"""Take the owner's secret out of what is stored of a delivery.

Business Central echoes its secret (`clientState`) in every notification, and a Zoho
body is whatever the merchant wrote, the token included if they put it there. The copy
kept in `webhook_log.payload` is shown by the admin API and the dashboard, so it must
hold no secret (docs/style.md rule 17). Store platforms write their bodies themselves
and sign them with the secret, never carrying it: their payloads are stored as sent.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from api.webhooks.event import Event, Secret

REDACTED = "[redacted]"


def without_secret(events: list[Event], secret: Secret) -> list[Event]:
    """`events` whose payloads have every value of `secret` replaced by REDACTED,
    wherever it appears: a whole value, inside free text, or a key."""
    values = [secret] if isinstance(secret, str) else [v for v in secret.values() if v]
    return [replace(event, payload=_redacted(event.payload, values)) for event in events]


def _redacted(payload: Any, secrets: list[str]) -> Any:
    """`payload` (freshly parsed JSON, ours to change) with `secrets` replaced, walked
    without recursion: JSON nested a thousand deep must not overflow the stack here."""
    if isinstance(payload, str):
        return _clean(payload, secrets)
    pending = [payload]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, value in items:
                node[_clean(key, secrets)] = _cleaned(value, secrets, pending)
        elif isinstance(node, list):
            node[:] = [_cleaned(value, secrets, pending) for value in node]
    return payload


def _cleaned(value: Any, secrets: list[str], pending: list[Any]) -> Any:
    if isinstance(value, str):
        return _clean(value, secrets)
    if isinstance(value, dict | list):
        pending.append(value)
    return value


def _clean(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
