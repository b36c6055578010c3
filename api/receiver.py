"""`POST /webhooks/<provider>/<owner_id>`: verify, parse, log durably, 200.

A flat ladder of guard clauses, each with its own log event (docs/style.md rule 7): the
sender's fault is 400/401/404/413, an unknown topic or a paused site 200 `ignored`, our
outage 503 (so the platform retries). Every request leaves a `webhook_log` row (requests
for unknown owners: one row a minute per provider, with their count), and
nothing slow happens before the answer: dedupe and publishing happen in the relay
(workers/relay.py), processing in a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from api.intake import IntakeUnavailable, Owner, event_row
from api.owners import Found, OwnerUnavailable
from api.request_body import read_body
from api.resources import Resources, resources
from api.webhooks import woocommerce
from api.webhooks.event import MalformedPayload, SignatureError
from api.webhooks.redaction import without_secret
from api.webhooks.registry import PROVIDERS, Provider
from models import WebhookStatus
from sync.accounts import WEBHOOK_SECRETS
from sync.subscriptions import HANDSHAKE_TOPIC, PING_TOPIC

log = logging.getLogger(__name__)
receiver = Blueprint("webhooks", __name__)


#: The answer's header naming what became of the delivery: accepted, duplicate, ignored,
#: rejected or unavailable (the platforms read only the status code).
OUTCOME_HEADER = "Stocksync-Outcome"
#: Our outage's 503 says when to come back; platforms that read it wait that long.
RETRY_AFTER_SECONDS = "10"


def _answer(status: int, outcome: str) -> tuple[Response, int]:
    """An empty answer with the outcome in a header.

    Why not a JSON body: gunicorn writes a response's headers and its body with two
    send() calls, so any body costs every webhook a second TCP segment and its sender a
    second wake-up. Under bench/ingest.py's load, four interleaved pairs of runs gave
    3,102 req/s on average with a 22-byte JSON body and 3,259 without one (+5 %), the
    same code otherwise.
    """
    response = Response(b"", status, mimetype="text/plain")
    response.headers.add(OUTCOME_HEADER, outcome)  # 3 us, against 6 us as headers={...}
    return response, status


def _record(
    res: Resources,
    provider: str,
    owner: Owner | None,
    status: WebhookStatus,
    error: str | None = None,
    topic: str | None = None,
) -> None:
    """Log a request that is not an accepted event (refused, ignored, a handshake)."""
    res.intake.record(
        {
            "provider": provider[:32],
            "site_id": owner.site_id if owner else None,
            "source_id": owner.source_id if owner else None,
            "error": error,
            "topic": topic,
        },
        status,
    )


def _refuse(
    res: Resources,
    provider: Provider | None,
    name: str,
    owner: Owner | None,
    status: int,
    event: str,
    error: str,
) -> tuple[Response, int]:
    log.info(event, extra={"provider": name, "error": error})
    _record(res, name, owner, WebhookStatus.REJECTED, error=error)
    if provider is not None and provider.refusal_status is not None:
        status = provider.refusal_status
    return _answer(status, "rejected")


def _refuse_unknown_owner(
    res: Resources, provider: Provider, name: str, raw_id: str
) -> tuple[Response, int]:
    """404 (or the provider's refusal status); logged as one row a minute per provider,
    carrying how many requests it stands for (api/refusals.py), not a row each."""
    requests = res.refusals.count(name)
    if requests:
        error = f"no {provider.owner} {raw_id[:40]!r}"
        log.info("webhook.unknown_owner", extra={"provider": name, "requests": requests})
        res.intake.record(
            {"provider": name, "error": error, "payload": {"refused_requests": requests}},
            WebhookStatus.REJECTED,
        )
    return _answer(provider.refusal_status or 404, "rejected")


def _verify(
    res: Resources,
    provider: Provider,
    owner: Owner,
    secret: Any,
    raw_body: bytes,
    headers: RequestHeaders,
    query: dict[str, str],
) -> Any:
    """`provider.verify`, and once more against a fresh read of the secret when the
    cached one fails: it may have been rotated since it was cached (`OwnerCache.reload`).
    The secret that verified, which is the one to redact from the body."""
    try:
        provider.verify(raw_body, headers, secret, query)
    except SignatureError:
        fresh = res.owners.reload(provider.owner, owner.id)
        if fresh is None or fresh[1] is None or fresh[1] == secret:
            raise
        provider.verify(raw_body, headers, fresh[1], query)
        return fresh[1]
    return secret


def _owner(res: Resources, provider: Provider, raw_id: str) -> Found | None:
    # ASCII digits only: str.isdigit also accepts "²" (int() refuses it: a 500) and
    # "\u0661", Arabic-Indic one (int() reads it as 1, another spelling of site 1).
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        return None
    return res.owners.get(provider.owner, int(raw_id))


class RequestHeaders(Mapping[str, str]):
    """The request's headers by lower-cased name, as the providers take them, read from
    the WSGI environ only when a provider asks for one.

    Why not a dict built per request: a provider reads three to five headers, and
    copying every header first (or iterating werkzeug's `EnvironHeaders`) was the
    largest part of the receiver's own Python time per request.
    """

    __slots__ = ("_environ",)

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        key = name.upper().replace("-", "_")
        if key not in _UNPREFIXED:
            key = f"HTTP_{key}"
        value = self._environ.get(key)
        if value is None or (not value and key in _UNPREFIXED):
            return default  # WSGI servers may set CONTENT_TYPE to "" when none was sent
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[str]:
        for key, value in self._environ.items():
            if key.startswith("HTTP_"):
                yield key[5:].replace("_", "-").lower()
            elif key in _UNPREFIXED and value:
                yield key.replace("_", "-").lower()

    def __len__(self) -> int:
        return sum(1 for _ in self)


#: The two headers WSGI gives without the HTTP_ prefix (PEP 3333), possibly empty.
_UNPREFIXED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


@receiver.post("/webhooks/<name>/<raw_id>")
def receive(name: str, raw_id: str) -> tuple[Response, int]:
    res = resources()
    try:
        return _receive(res, name, raw_id)
    except (SQLAlchemyError, IntakeUnavailable, OwnerUnavailable) as exc:
        log.error("webhook.database_unavailable", extra={"provider": name, "error": repr(exc)})
        response, status = _answer(503, "unavailable")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response, status


def _receive(res: Resources, name: str, raw_id: str) -> tuple[Response, int]:
    provider = PROVIDERS.get(name)
    if provider is None:
        return _refuse(
            res, None, name, None, 404, "webhook.unknown_provider", f"unknown provider {name!r}"
        )
    environ = request.environ
    limit = res.settings.max_webhook_body_bytes
    raw_body = read_body(environ, limit)
    if raw_body is None:
        return _refuse(
            res, provider, name, None, 413, "webhook.too_large", f"body over {limit} bytes"
        )
    found = _owner(res, provider, raw_id)
    if found is None:
        return _refuse_unknown_owner(res, provider, name, raw_id)
    owner, secret, undecryptable = found
    headers = RequestHeaders(environ)

    if name == "businesscentral" and "validationToken" in request.args:
        _record(res, name, owner, WebhookStatus.IGNORED, topic=HANDSHAKE_TOPIC)
        return Response(request.args["validationToken"], 200, mimetype="text/plain"), 200
    if name == "woocommerce" and woocommerce.is_ping(raw_body, headers):
        _record(res, name, owner, WebhookStatus.IGNORED, topic=PING_TOPIC)
        return _answer(200, "ignored")
    if secret is None:
        why = "stored secret does not decrypt" if undecryptable else "no webhook secret configured"
        return _refuse(res, provider, name, owner, 401, "webhook.no_secret", why)
    query = dict(request.args) if environ.get("QUERY_STRING") else {}
    try:
        secret = _verify(res, provider, owner, secret, raw_body, headers, query)
    except SignatureError as exc:
        error = exc.reason
        if name in WEBHOOK_SECRETS:  # which secret a sender must use (`stocksync sites show`)
            error = f"{error}: the secret expected is {WEBHOOK_SECRETS[name]}"
        return _refuse(res, provider, name, owner, 401, "webhook.bad_signature", error)
    try:
        events = provider.parse(raw_body, headers)
    except MalformedPayload as exc:
        return _refuse(res, provider, name, owner, 400, "webhook.malformed", exc.reason)
    if provider.body_may_carry_secret:
        events = without_secret(events, secret)

    if not owner.accepting:
        log.info("webhook.paused", extra={"provider": name, "owner": owner.id})
        _record(
            res,
            name,
            owner,
            WebhookStatus.IGNORED,
            error="webhooks paused for this site",
            topic=events[0].topic[:100],
        )
        return _answer(200, "ignored")
    outcome = "accepted"
    for event in events:
        if event.kind is None:
            log.info("webhook.unknown_topic", extra={"provider": name, "topic": event.topic})
            _record(
                res,
                name,
                owner,
                WebhookStatus.IGNORED,
                error="topic not handled",
                topic=event.topic[:100],
            )
            outcome = "ignored" if len(events) == 1 else outcome
            continue
        status, row_id = res.intake.record(event_row(name, owner, event), WebhookStatus.RECEIVED)
        log.info(
            "webhook.accepted",
            extra={
                "event": row_id,
                "provider": name,
                "site": owner.site_id,
                "source": owner.source_id,
                "topic": event.topic,
                "entity": event.entity,
                "status": status.value,
            },
        )
        if status is WebhookStatus.DUPLICATE and len(events) == 1:
            outcome = "duplicate"
    return _answer(200, outcome)
