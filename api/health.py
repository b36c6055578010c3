"""Liveness and readiness probes.

`/healthz` says the process answers; `/readyz` says this web process can do its job:
PostgreSQL and Redis reachable. A load balancer routes only to ready instances.

`/readyz/consumers` says whether the workers consume: 503 when a queue's messages wait
and no worker reading it has been seen consuming for `STALL_SECONDS`
(sync/consumers.py), so a wedged or frozen worker shows instead of events silently
waiting; `?worker=<node name>` asks about one worker, whatever waits. It is apart from `/readyz` on
purpose: the receiver answers webhooks without any worker (they are logged and wait),
and a receiver taken out of rotation because a worker is stuck would turn a delay into
refused deliveries, which platforms count towards disabling the hook. `stocksync up`
restarts a worker its own probe (`?worker=`) reports silent (embedded/supervisor.py);
compose's worker health checks call it the same way.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import Blueprint, Response, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.resources import resources
from sync.consumers import silent, stalled
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
    """Every queue consumed; with `?worker=<node name>`, that worker seen consuming
    within 30 s (a worker's own probe: sync/consumers.py `silent`)."""
    worker = request.args.get("worker")
    failing: dict[str, str] = {}
    try:
        if worker:
            age = silent(resources().ctx, worker, time.time())
            if age is not None:
                failing["consumers"] = f"{worker} not seen consuming for {age:.0f} s"
        elif (stall := stalled(resources().ctx, time.time())) is not None:
            failing["consumers"] = (
                f"{stall['waiting']} message(s) waiting in {', '.join(stall['queues'])} "
                "and no worker consuming"
            )
    except (redis.RedisError, Unavailable) as exc:
        failing["redis"] = type(exc).__name__
    return _answer(failing)


def _answer(failing: dict[str, str]) -> tuple[Response, int]:
    if failing:
        log.warning("readyz.not_ready", extra={"failing": failing})
        return jsonify({"status": "unavailable", "failing": failing}), 503
    return jsonify({"status": "ok"}), 200
