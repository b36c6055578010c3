"""Random bodies and headers against every provider: never a 5xx, never an uncounted request.

Through Flask's test client (one process) rather than real HTTP: hypothesis runs
hundreds of cases, and the property is about the receiver's code paths, which are the
same either way; the real-HTTP tests beside this file cover the transport.
"""

from __future__ import annotations

import string

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.webhooks.registry import PROVIDERS
from models import WebhookLog
from tests.support.receiver import Owners

HEADER_NAMES = [
    "X-WC-Webhook-Signature",
    "X-WC-Webhook-Topic",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Topic",
    "X-Shopify-Webhook-Id",
    "X-Webhook-Secret",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Zoho-Webhook-Token",
    "X-Zoho-Webhook-Signature",
    "Content-Type",
]
header_values = st.text(alphabet=string.printable.strip() + " ", max_size=60)
bodies = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda s: s.encode(), st.text(max_size=200)),
    st.just(b'{"value": [{"clientState": 1}]}'),
    st.just(b"webhook_id=12"),
    st.just(b'{"id": 1, "sku": null, "scope": "store/product/updated", "data": {}}'),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    provider=st.sampled_from([*sorted(PROVIDERS), "nope"]),
    owner=st.sampled_from(["known", "999", "x"]),
    body=bodies,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=6),
    token=st.one_of(st.none(), header_values),
)
def test_no_input_makes_a_5xx_or_escapes_the_log(
    app: Flask,
    owners: Owners,
    db: sessionmaker[Session],
    provider: str,
    owner: str,
    body: bytes,
    headers: dict[str, str],
    token: str | None,
) -> None:
    owner_id = str(getattr(owners, provider, 1)) if owner == "known" else owner
    query = {"validationToken": token} if token is not None else {}
    refusals = app.extensions["stocksync"].refusals
    unlogged = refusals.unlogged(provider)
    with db() as session:
        before = session.scalar(select(func.count()).select_from(WebhookLog))
    response = app.test_client().post(
        f"/webhooks/{provider}/{owner_id}", data=body, headers=headers, query_string=query
    )
    assert response.status_code < 500, response.get_data()
    with db() as session:
        after = session.scalar(select(func.count()).select_from(WebhookLog))
    assert after is not None and before is not None
    # Logged, or an unknown owner's refusal counted towards its provider's next row
    # (api/refusals.py: one row a minute).
    assert after > before or refusals.unlogged(provider) == unlogged + 1
