"""The providers' view of a request's headers, read lazily from the WSGI environ."""

from __future__ import annotations

import pytest

from api.receiver import RequestHeaders

ENVIRON = {
    "HTTP_X_SHOPIFY_TOPIC": "products/update",
    "HTTP_WEBHOOK_ID": "msg_1",
    "CONTENT_TYPE": "application/json",
    "CONTENT_LENGTH": "",
    "PATH_INFO": "/webhooks/shopify/1",
}


def test_a_header_is_found_by_any_case_of_its_name() -> None:
    headers = RequestHeaders(ENVIRON)
    assert headers["x-shopify-topic"] == "products/update"
    assert headers.get("X-Shopify-Topic") == "products/update"
    assert headers.get("content-type") == "application/json"
    assert "webhook-id" in headers


def test_an_absent_or_empty_unprefixed_header_is_missing() -> None:
    headers = RequestHeaders(ENVIRON)
    assert headers.get("x-wc-webhook-signature") is None
    assert headers.get("content-length", "none") == "none"
    assert "content-length" not in headers and "path-info" not in headers
    with pytest.raises(KeyError):
        headers["x-missing"]


def test_iterating_lists_every_header_lower_cased() -> None:
    headers = RequestHeaders(ENVIRON)
    assert dict(headers) == {
        "x-shopify-topic": "products/update",
        "webhook-id": "msg_1",
        "content-type": "application/json",
    }
    assert len(headers) == 3
