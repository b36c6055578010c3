"""Refusals of write-only fields name the field and the rule, never the value sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.admin_api import Api, Shop, error_code

LEAK = "LEAKME-0123456789"

#: Wrong values for both write-only fields, each carrying LEAK, each breaking a rule.
WRONG: dict[str, Any] = {
    "too long": {"api_key": LEAK * 1000},
    "wrong value type": {"api_key": [LEAK]},
    "too many entries": {f"k{i}": LEAK for i in range(60)},
    "list": [LEAK],
    "nested object": {"token": {"inner": LEAK}},
}
#: ... and for one of them: credentials are an object, a secret may be a string.
ONLY = {
    "credentials": {"string for an object": LEAK},
    "webhook_secret": {"string too long": LEAK * 100, "empty object": {}},
}
CASES = [(field, case) for field in ONLY for case in sorted({**WRONG, **ONLY[field]})]

SITE = {
    "check": False,  # no platform behind these addresses
    "name": "leaky",
    "platform": "shopify",
    "base_url": "https://leaky.example",
    "source": "erp",
    "credentials": {"access_token": "fine"},
}
SOURCE = {
    "check": False,  # no platform behind these addresses
    "name": "leaky-erp",
    "kind": "zoho",
    "base_url": "https://www.zohoapis.com",
    "credentials": {"client_id": "fine"},
}


@pytest.mark.parametrize(("field", "case"), CASES)
def test_a_refused_secret_is_not_echoed(api: Api, shop: Shop, field: str, case: str) -> None:
    """Issue 19 item 4: `body.credentials: 'LEAKME…' is not of type 'object'`."""
    value = {**WRONG, **ONLY[field]}[case]
    for method, path, body in (
        (api.post, "/api/sites", {**SITE, field: value}),
        (api.post, "/api/sources", {**SOURCE, field: value}),
        (api.patch, f"/api/sites/{shop.site_id}", {field: value}),
        (api.patch, f"/api/sources/{shop.source_id}", {field: value}),
    ):
        answer = method(path, body)
        assert answer.status_code == 422 and error_code(answer) == "invalid", (path, case)
        message = answer.json["error"]["message"]
        assert f"body.{field}" in message, (path, case, message)
        assert LEAK not in answer.text and "LEAKME" not in answer.text, (path, case, message)


def test_other_fields_still_say_what_was_wrong(api: Api, shop: Shop) -> None:
    answer = api.post("/api/sites", {**SITE, "platform": "magento"})
    assert "'magento' is not one of" in answer.json["error"]["message"]
