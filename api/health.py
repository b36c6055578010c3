"""Liveness and readiness probes.

`/healthz` says the process answers; `/readyz` says the stack can do its job: PostgreSQL
and Redis both reachable, and some worker consuming whenever messages wait
(sync/consumers.py), so a wedged or frozen worker shows here and in the compose
health check instead of events silently waiting. A load balancer should route only to
ready instances.
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
        with res.ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        failing["postgresql"] = type(exc).__name__
    try:
        res.ctx.redis.ping()
        stall = stalled(res.ctx, time.time())
    except (redis.RedisError, Unavailable) as exc:
        failing["redis"] = type(exc).__name__
    else:
        if stall is not None:
            failing["consumers"] = f"{stall['waiting']} message(s) waiting and no worker consuming"
    if failing:
        log.warning("readyz.not_ready", extra={"failing": failing})
        return jsonify({"status": "unavailable", "failing": failing}), 503
    return jsonify({"status": "ok"}), 200
