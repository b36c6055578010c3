"""Liveness and readiness probes.

`/healthz` says the process answers; `/readyz` says this web process can do its job:
PostgreSQL and Redis reachable. A load balancer routes only to ready instances.

`/readyz/consumers` says whether the workers consume: 503 when messages wait and no
worker has been seen consuming for `STALL_SECONDS` (sync/consumers.py), so a wedged or
frozen worker shows instead of events silently waiting. It is apart from `/readyz` on
purpose: the receiver answers webhooks without any worker (they are logged and wait),
and a receiver taken out of rotation because a worker is stuck would turn a delay into
refused deliveries, which platforms count towards disabling the hook. `stocksync up`
restarts a worker this probe reports stalled (embedded/supervisor.py); compose's worker
health check calls it.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.resources import resources
from sync.consumers import stalled
from sync.errors import Unavailable

log = logging.getLogger(__name__)
health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz() -> tuple[Response, int]:
    res = resources()
    failing: dict[str, str] = {}
    try:
        with res.receiver_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        failing["postgresql"] = type(exc).__name__
    try:
        res.ctx.redis.ping()
    except redis.RedisError as exc:
        failing["redis"] = type(exc).__name__
    return _answer(failing)


@health.get("/readyz/consumers")
def consumers() -> tuple[Response, int]:
    failing: dict[str, str] = {}
    try:
        stall = stalled(resources().ctx, time.time())
    except (redis.RedisError, Unavailable) as exc:
        failing["redis"] = type(exc).__name__
    else:
        if stall is not None:
            failing["consumers"] = f"{stall['waiting']} message(s) waiting and no worker consuming"
    return _answer(failing)


def _answer(failing: dict[str, str]) -> tuple[Response, int]:
    if failing:
        log.warning("readyz.not_ready", extra={"failing": failing})
        return jsonify({"status": "unavailable", "failing": failing}), 503
    return jsonify({"status": "ok"}), 200
