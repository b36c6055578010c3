"""Random paths, queries, headers and bodies against every route of the app: never a 5xx.

The routes are read from the app's own url_map, so a route added later is fuzzed
without anyone listing it. Each path parameter gets ids in every spelling issue 19
found (other scripts' digits, huge, negative, text), the admin token is sent often
enough to reach body parsing, and bodies mix random bytes, random JSON and the issue's
hostile bodies (tests/support/hostile.py). Through Flask's test client, as
test_receiver_fuzz.py: the property is about the app's code paths; the real-HTTP cases
are in tests/functional/test_hostile_input.py.
"""

from __future__ import annotations

import json
import re
import string
from urllib.parse import quote

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import hostile
from tests.support.admin_api import TOKEN
from tests.support.receiver import Owners

#: Not ours: flask's static files.
SKIPPED = {"static"}
#: Probes whose 503 is their answer, not a failure: the fuzz's own requests queue
#: messages no worker consumes here, which /readyz/consumers reports as it should.
PROBES = ("/readyz",)
_ARGUMENT = re.compile(r"<(?:[^>:]+:)?[^>]+>")

segments = st.one_of(
    st.integers(min_value=-3, max_value=12).map(str),
    st.sampled_from(
        [
            *hostile.UNICODE_IDS.values(),
            "9" * 30,
            "0" * 25 + "1",
            "1e3",
            "..",
            "%00",
            "woocommerce",
            "businesscentral",
            "shopify",
            "standard",
            "zoho",
            "bigcommerce",
        ]
    ),
    st.text(min_size=1, max_size=12),
)
query_values = st.one_of(
    st.sampled_from([*hostile.UNICODE_IDS.values(), "1", "-1", "9" * 40, "", "true", "1e400"]),
    st.text(max_size=20),
)
queries = st.dictionaries(
    st.sampled_from(
        [
            "limit",
            "offset",
            "status",
            "site_id",
            "source_id",
            "q",
            "cursor",
            "since",
            "validationToken",
            "token",
            "provider",
            "x",
        ]
    ),
    query_values,
    max_size=3,
)
printable = st.text(alphabet=string.printable.strip() + " ", max_size=40)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.one_of(
            st.just(f"Bearer {TOKEN}"), st.just(f"bearer {TOKEN}"), printable
        ),
        "Content-Type": st.sampled_from(
            ["application/json", "application/x-www-form-urlencoded", "text/plain", "", "x/y"]
        ),
        "X-CSRF-Token": printable,
        "X-WC-Webhook-Topic": st.sampled_from(["product.updated", "action.x", "", "\u0661"]),
        "X-WC-Webhook-Signature": printable,
        "X-Shopify-Topic": printable,
        "X-Shopify-Hmac-Sha256": printable,
        "X-Webhook-Secret": printable,
        "webhook-id": printable,
        "webhook-timestamp": st.one_of(printable, st.just("1e400"), st.just("9" * 30)),
        "webhook-signature": printable,
        "X-Zoho-Webhook-Token": printable,
    },
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(
        [
            *hostile.DEEP_BODIES.values(),
            *(b'{"name": ' + number + b"}" for number in hostile.NON_FINITE.values()),
            b'{"value": [{"clientState": 1}]}',
            b'{"resource": "order", "action": "created", "data": {"t": 1e400}}',
            b"webhook_id=12",
        ]
    ),
)


def _routes(app: Flask) -> list[tuple[str, str]]:
    """(method, rule) of every route but flask's own, read from the url_map."""
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


def test_every_route_is_fuzzed(app: Flask) -> None:
    """The url_map is what the fuzz walks; this guards against it walking nothing."""
    rules = {rule for _, rule in _routes(app)}
    assert {"/webhooks/<name>/<raw_id>", "/api/sync/webhook", "/api/sites"} <= rules


@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), query=queries, sent_headers=headers, body=bodies)
def test_no_route_answers_5xx_to_any_input(
    app: Flask,
    owners: Owners,
    data: st.DataObject,
    query: dict[str, str],
    sent_headers: dict[str, str],
    body: bytes,
) -> None:
    method, rule = data.draw(st.sampled_from(_routes(app)), label="route")
    path = _ARGUMENT.sub(lambda _: quote(data.draw(segments, label="segment"), safe=""), rule)
    response = app.test_client().open(
        path, method=method, query_string=query, headers=sent_headers, data=body
    )
    allowed = {503} if path.startswith(PROBES) else set()
    assert response.status_code < 500 or response.status_code in allowed, (
        method,
        path,
        response.status_code,
        response.get_data()[:300],
    )


@pytest.mark.parametrize("body", hostile.DEEP_BODIES.values(), ids=list(hostile.DEEP_BODIES))
def test_every_route_that_reads_a_body_refuses_a_deep_one_without_a_5xx(
    app: Flask, owners: Owners, body: bytes
) -> None:
    """Issue 19's RecursionError, on every route at once, with the admin token."""
    client = app.test_client()
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for method, rule in _routes(app):
        path = _ARGUMENT.sub("1", rule).replace("/webhooks/1/", "/webhooks/businesscentral/")
        response = client.open(path, method=method, headers=auth, data=body)
        allowed = {503} if path.startswith(PROBES) else set()
        assert response.status_code < 500 or response.status_code in allowed, (method, path)
