"""`POST /webhooks/<provider>/<owner_id>`: verify, parse, log, dedupe, enqueue, 200.

A flat ladder of guard clauses, each with its own log event (STYLE.md rule 7): the
sender's fault is 400/401/404/413, an unknown topic or a paused site 200 `ignored`, our
outage 503 (so the platform retries). Every request leaves a `webhook_log` row, and
nothing slow happens before the answer: processing runs in a worker.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from api.intake import Owner, accept, write_row
from api.resources import Resources, resources
from api.webhooks import woocommerce
from api.webhooks.event import MalformedPayload, Secret, SignatureError
from api.webhooks.registry import PROVIDERS, Provider
from models import Site, Source, WebhookStatus
from models.crypto import VaultError

log = logging.getLogger(__name__)
receiver = Blueprint("webhooks", __name__)


class Outage(Exception):
    """PostgreSQL is unreachable: answer 503 so the platform retries."""


def _answer(status: int, outcome: str, body: Response | None = None) -> tuple[Response, int]:
    return (body or jsonify({"status": outcome})), status


def _record(
    res: Resources,
    provider: str,
    owner: Owner | None,
    status: WebhookStatus,
    error: str | None = None,
    topic: str | None = None,
    payload: Any = None,
) -> None:
    try:
        write_row(
            res.sessions,
            provider=provider[:32],
            site_id=owner.site_id if owner else None,
            source_id=owner.source_id if owner else None,
            status=status,
            error=error,
            topic=topic,
            payload=payload,
        )
    except SQLAlchemyError as exc:
        raise Outage() from exc


def _refuse(
    res: Resources,
    provider: Provider | None,
    name: str,
    owner: Owner | None,
    status: int,
    event: str,
    error: str,
) -> tuple[Response, int]:
    log.info(f"webhook.{event}", extra={"provider": name, "error": error})
    _record(res, name, owner, WebhookStatus.REJECTED, error=error)
    if provider is not None and provider.refusal_status is not None:
        status = provider.refusal_status
    return _answer(status, "rejected")


def _owner(res: Resources, provider: Provider, raw_id: str) -> tuple[Owner, Secret | None] | None:
    """The site or source the URL names and its decrypted secret; None if unknown."""
    if not raw_id.isdigit() or len(raw_id) > 18:
        return None
    owner_id = int(raw_id)
    try:
        with res.sessions() as session:
            row: Site | Source | None
            if provider.owner == "site":
                row = session.get(Site, owner_id)
                if row is None:
                    return None
                owner = Owner(
                    "site", row.id, row.id, row.source_id, row.active and row.webhooks_active
                )
            else:
                row = session.get(Source, owner_id)
                if row is None:
                    return None
                owner = Owner("source", row.id, None, row.id, True)
            sealed = row.webhook_secret_sealed
    except SQLAlchemyError as exc:
        raise Outage() from exc
    try:
        return owner, res.vault.open(sealed) if sealed else None
    except VaultError:
        log.error("webhook.secret_undecryptable", extra={"owner": raw_id})
        return owner, None


def _headers() -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


@receiver.post("/webhooks/<name>/<raw_id>")
def receive(name: str, raw_id: str) -> tuple[Response, int]:
    res = resources()
    try:
        return _receive(res, name, raw_id)
    except Outage:
        log.error("webhook.database_unavailable", extra={"provider": name})
        return _answer(503, "unavailable")


def _receive(res: Resources, name: str, raw_id: str) -> tuple[Response, int]:
    provider = PROVIDERS.get(name)
    if provider is None:
        return _refuse(res, None, name, None, 404, "unknown_provider", f"unknown provider {name!r}")
    limit = res.settings.max_webhook_body_bytes
    if (request.content_length or 0) > limit:
        return _refuse(res, provider, name, None, 413, "too_large", f"body over {limit} bytes")
    try:
        raw_body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return _refuse(res, provider, name, None, 413, "too_large", f"body over {limit} bytes")
    found = _owner(res, provider, raw_id)
    if found is None:
        return _refuse(
            res, provider, name, None, 404, "unknown_owner", f"no {provider.owner} {raw_id!r}"
        )
    owner, secret = found
    headers = _headers()

    if name == "businesscentral" and "validationToken" in request.args:
        _record(res, name, owner, WebhookStatus.IGNORED, topic="handshake")
        token = request.args["validationToken"]
        return Response(token, 200, mimetype="text/plain"), 200
    if name == "woocommerce" and woocommerce.is_ping(raw_body, headers):
        _record(res, name, owner, WebhookStatus.IGNORED, topic="ping")
        return _answer(200, "ignored")
    if secret is None:
        return _refuse(res, provider, name, owner, 401, "no_secret", "no webhook secret configured")
    try:
        provider.verify(raw_body, headers, secret, dict(request.args))
    except SignatureError as exc:
        return _refuse(res, provider, name, owner, 401, "bad_signature", exc.reason)
    try:
        events = provider.parse(raw_body, headers)
    except MalformedPayload as exc:
        return _refuse(res, provider, name, owner, 400, "malformed", exc.reason)

    if not owner.accepting:
        log.info("webhook.paused", extra={"provider": name, "owner": owner.id})
        _record(
            res,
            name,
            owner,
            WebhookStatus.IGNORED,
            error="webhooks paused for this site",
            topic=events[0].topic[:100] if events else None,
        )
        return _answer(200, "ignored")
    outcomes = []
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
            outcomes.append(WebhookStatus.IGNORED)
            continue
        try:
            outcomes.append(
                accept(
                    res.sessions,
                    res.redis,
                    res.celery,
                    name,
                    owner,
                    event,
                    res.settings.dedupe_window_seconds,
                )
            )
        except SQLAlchemyError as exc:
            raise Outage() from exc
    return _answer(200, outcomes[0] if len(outcomes) == 1 else "accepted")
