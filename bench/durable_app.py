"""The durable baseline of bench/ingest.py (issue 22): the least a receiver that never
loses an accepted event must do before its 200. It verifies the delivery's HMAC with
the platform's formula and secret, then writes the body with one INSERT in its own
transaction and answers once PostgreSQL has committed it (synchronous_commit on, the
server's default), under the same gunicorn settings and gevent-aware psycopg2 as the
receiver (api/gunicorn_conf.py). No dedupe, no delivery-id memory, no log line: what is
left of the receiver's cost against this is what those add, less what sharing commits
saves (api/intake.py).
"""

from __future__ import annotations

import hmac
import os
from functools import cache

from flask import Flask, request
from sqlalchemy import Engine, text

from models.db import make_engine
from sandbox.accounts import DEFAULTS
from sandbox.shopify import webhooks as shopify
from sandbox.woocommerce import webhooks as woocommerce

#: The table the deliveries go to; bench/ingest.py creates it (`CREATE`) and empties it.
TABLE = "ingest_floor"
CREATE = text(
    "CREATE TABLE IF NOT EXISTS ingest_floor (id bigserial PRIMARY KEY, provider text, "
    "owner text, body bytea, received_at timestamptz NOT NULL DEFAULT now())"
)
INSERT = text("INSERT INTO ingest_floor (provider, owner, body) VALUES (:provider, :owner, :body)")
#: Each platform's signature header, formula and secret (the bench's sites', bench/ingest.py).
SIGNED = {
    "woocommerce": (
        "X-WC-Webhook-Signature",
        woocommerce.signature,
        DEFAULTS["woocommerce"].webhook_secret,
    ),
    "shopify": (
        "X-Shopify-Hmac-Sha256",
        shopify.signature,
        DEFAULTS["shopify"].sandbox["client_secret"],
    ),
}
#: A pooled connection per request in flight: bench/ingest.py's 32 connections over the
#: 2 workers (make_engine adds 10 more on demand).
POOL_SIZE = 16

app = Flask(__name__)


@cache
def engine() -> Engine:
    """The worker's pool, made on its first request: after gunicorn's fork, and only
    where the app serves (bench/ingest.py imports this module for its table)."""
    return make_engine(os.environ["DATABASE_URL"], pool_size=POOL_SIZE, pre_ping=False)


@app.post("/webhooks/<provider>/<owner>")
def durable(provider: str, owner: str) -> tuple[str, int]:
    if provider not in SIGNED:
        return "", 404
    header, signature, secret = SIGNED[provider]
    body = request.get_data()
    if not hmac.compare_digest(request.headers.get(header, ""), signature(secret, body)):
        return "", 401
    with engine().begin() as conn:
        conn.execute(INSERT, {"provider": provider, "owner": owner, "body": body})
    return "", 200
