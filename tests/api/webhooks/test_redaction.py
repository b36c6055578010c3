"""The owner's secret taken out of stored payloads, wherever it appears in them."""

from __future__ import annotations

import json

from api.webhooks.event import Event
from api.webhooks.redaction import REDACTED, without_secret


def _event(payload: object) -> Event:
    return Event(topic="t", kind=None, entity="e", payload=payload)


def test_every_value_of_the_secret_goes_from_values_text_keys_and_lists() -> None:
    payload = {
        "clientState": "s3cret",
        "nested": [{"note": "token=s3cret&x=1"}, ["hmac-k"]],
        "s3cret": 1,
        "count": 3,
    }
    [event] = without_secret([_event(payload)], {"token": "s3cret", "hmac_key": "hmac-k"})
    text = json.dumps(event.payload)
    assert "s3cret" not in text and "hmac-k" not in text
    assert event.payload["nested"][0]["note"] == f"token={REDACTED}&x=1"
    assert event.payload["count"] == 3 and event.payload[REDACTED] == 1
