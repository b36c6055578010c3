"""Liveness and readiness probes.

`/healthz` says the process answers; `/readyz` says it can do its job: PostgreSQL and
Redis both reachable. A load balancer should route only to ready instances.
"""

from __future__ import annotations

import logging

import redis
from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.resources import resources

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
    except redis.RedisError as exc:
        failing["redis"] = type(exc).__name__
    if failing:
        log.warning("readyz.not_ready", extra={"failing": failing})
        return jsonify({"status": "unavailable", "failing": failing}), 503
    return jsonify({"status": "ok"}), 200
