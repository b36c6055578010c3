"""Take the owner's secret out of what is stored of a delivery.

Business Central echoes its secret (`clientState`) in every notification, and a Zoho
body is whatever the merchant wrote, the token included if they put it there. The copy
kept in `webhook_log.payload` is shown by the admin API and the dashboard, so it must
hold no secret (docs/style.md rule 17). Store platforms write their bodies themselves
and sign them with the secret, never carrying it: their payloads are stored as sent.
"""

from __future__ import annotations

from dataclasses import replace

from api.webhooks.event import Event, Secret
from models.json_strings import map_strings

REDACTED = "[redacted]"


def without_secret(events: list[Event], secret: Secret) -> list[Event]:
    """`events` whose payloads have every value of `secret` replaced by REDACTED,
    wherever it appears: a whole value, inside free text, or a key."""
    values = [secret] if isinstance(secret, str) else [v for v in secret.values() if v]

    def clean(text: str) -> str:
        for value in values:
            text = text.replace(value, REDACTED)
        return text

    return [replace(event, payload=map_strings(event.payload, clean)) for event in events]
