"""Business Central notifications: clientState as the only authenticity, and one event
per notification (api/webhooks/businesscentral.py; docs/platforms.md section 7).

The handshake (`?validationToken=`) is the receiver's, tested in tests/api/test_receiver.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from api.webhooks import businesscentral
from api.webhooks.event import Event, MalformedPayload, SignatureError
from models import EventKind
from tests.factories import signed

COMPANY = "api/v2.0/companies(b18aed47-c385-49d2-b954-dbdf8ad71780)"
ITEM_ID = "26814998-936a-401c-81c1-0e848a64971d"
MODIFIED = "2026-12-01T12:00:00.283Z"


def _notification(change: str = "updated", **fields: Any) -> dict[str, Any]:
    return {
        "subscriptionId": "webhookItemsId",
        "clientState": signed.CLIENT_STATE,
        "expirationDateTime": "2026-12-04T12:00:00Z",
        "resource": f"{COMPANY}/items({ITEM_ID.upper()})",
        "changeType": change,
        "lastModifiedDateTime": MODIFIED,
        **fields,
    }


def _body(*notifications: Any) -> bytes:
    return json.dumps({"value": list(notifications)}).encode()


def test_one_post_of_matching_notifications_is_accepted() -> None:
    businesscentral.verify(_body(_notification(), _notification()), {}, signed.CLIENT_STATE)


@pytest.mark.parametrize(
    "body",
    [
        _body(_notification(clientState="forged")),
        _body(_notification(clientState="")),
        _body(_notification(clientState=None)),
        _body(_notification(clientState=1)),
        _body({k: v for k, v in _notification().items() if k != "clientState"}),
        # Every notification must carry it, not only the first.
        _body(_notification(), _notification(clientState="forged")),
    ],
    ids=["wrong", "empty", "null", "number", "absent", "second-wrong"],
)
def test_a_notification_without_the_client_state_is_refused(body: bytes) -> None:
    with pytest.raises(SignatureError, match="clientState"):
        businesscentral.verify(body, {}, signed.CLIENT_STATE)


@pytest.mark.parametrize(
    "body",
    [
        b"{nope",
        b"\xff",
        b"[]",
        json.dumps({"value": []}).encode(),
        json.dumps({"value": _notification()}).encode(),
        json.dumps({"notifications": [_notification()]}).encode(),
        _body(signed.CLIENT_STATE),
    ],
    ids=["not-json", "not-utf8", "array", "empty", "not-a-list", "no-value", "not-objects"],
)
def test_a_body_without_notifications_is_refused_as_malformed(body: bytes) -> None:
    """Refused at verification: without notifications there is no clientState to check."""
    with pytest.raises(SignatureError, match="malformed"):
        businesscentral.verify(body, {}, signed.CLIENT_STATE)


def test_a_deeply_nested_body_is_refused_as_malformed() -> None:
    """verify reads clientState through load_json, which let json's RecursionError
    escape: anyone could get a 500 from this endpoint with 1 KB of '[', no secret needed."""
    with pytest.raises(SignatureError):
        businesscentral.verify(b"[" * 1000, {}, signed.CLIENT_STATE)


@pytest.mark.parametrize("change", ["created", "updated"])
def test_an_item_notification_is_a_change_of_that_item(change: str) -> None:
    notification = _notification(change)
    resource = notification["resource"]
    assert businesscentral.parse(_body(notification), {}) == [
        Event(
            topic=f"items.{change}",
            kind=EventKind.ERP_ITEM_CHANGED,
            entity=ITEM_ID,
            # docs/platforms.md: BC's dedupe key is
            # (subscriptionId, resource, lastModifiedDateTime).
            delivery_id=f"webhookItemsId:{resource}:{MODIFIED}",
            occurred_at=datetime(2026, 12, 1, 12, 0, 0, 283000, tzinfo=UTC),
            payload=notification,
        )
    ]


def test_a_collection_notification_names_the_query_to_re_read() -> None:
    """Over 1,000 changes in the 30 s window arrive as one `collection` notification
    whose resource is a $filter query."""
    query = f"{COMPANY}/items?$filter=lastModifiedDateTime%20gt%202026-12-01T11:59:30Z"
    [event] = businesscentral.parse(_body(_notification("collection", resource=query)), {})
    assert (event.kind, event.entity) == (EventKind.ERP_COLLECTION, query)


def test_a_deletion_is_an_item_change_whose_re_read_finds_it_gone() -> None:
    [event] = businesscentral.parse(_body(_notification("deleted")), {})
    assert (event.kind, event.topic) == (EventKind.ERP_ITEM_CHANGED, "items.deleted")
    assert event.entity == ITEM_ID


def test_each_notification_of_a_post_is_its_own_event() -> None:
    other = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    body = _body(_notification(), _notification(resource=f"{COMPANY}/items({other})"))
    assert [e.entity for e in businesscentral.parse(body, {})] == [ITEM_ID, other]


@pytest.mark.parametrize(
    "fields",
    [{"changeType": None}, {"changeType": 1}, {"resource": None}, {"resource": ["items"]}],
    ids=["no-change", "numeric-change", "no-resource", "list-resource"],
)
def test_a_notification_without_change_or_resource_is_malformed(fields: dict[str, Any]) -> None:
    with pytest.raises(MalformedPayload):
        businesscentral.parse(_body(_notification(**fields)), {})


@pytest.mark.parametrize("modified", [None, "", 1.5], ids=["absent", "empty", "number"])
def test_a_notification_without_its_time_has_no_delivery_id(modified: object) -> None:
    """The key would name no one change: two updates of the item would share it, and the
    second would be taken for a redelivery of the first for a day."""
    [event] = businesscentral.parse(_body(_notification(lastModifiedDateTime=modified)), {})
    assert event.delivery_id is None and event.entity == ITEM_ID


def test_a_notification_time_outside_the_calendar_is_malformed() -> None:
    """0001-01-01T00:00:00+01:00 is year 0 in UTC; the receiver logs the refusal and
    answers 200 (REFUSAL_STATUS)."""
    notification = _notification(lastModifiedDateTime="0001-01-01T00:00:00+01:00")
    with pytest.raises(MalformedPayload, match="outside the calendar"):
        businesscentral.parse(_body(notification), {})
