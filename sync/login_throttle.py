"""Login throttling for the admin token: a few failures per client address, and a cap
for everyone together, counted in PostgreSQL so every web worker and host agrees.

Each attempt runs in one transaction under a transaction-level advisory lock: count the
failures still in the window, refuse if either limit is reached, otherwise let the
caller check the token and record a failure before the lock is released. Concurrent
guesses therefore cannot slip past the count together, and a correct token costs no
row. A refused attempt never checks the token: a throttled client learns nothing about
whether its guess was right. The lock serialises token checks across every worker, for
a millisecond or so each: admin traffic (a dashboard, a script, a Prometheus scrape)
is a few requests a second, far below what that allows.

The per-address limit slows one client; the global cap bounds what a botnet of
addresses can try (and makes the operator's own login wait during such an attack,
which is the price of the bound). With ADMIN_TOKEN at least 32 characters the throttle
is not what makes guessing hopeless; it keeps guesses cheap to refuse and visible.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import LoginFailure
from models.db import transaction
from sync.context import Context

#: pg_advisory_xact_lock key of the throttle ("stocksync login" in ASCII, truncated).
LOCK_KEY = 0x73746F636B6C6F67


@dataclass(frozen=True)
class Limits:
    per_address: int = 5
    overall: int = 100
    window_seconds: float = 60.0


@dataclass(frozen=True)
class Verdict:
    """`accepted` if the token was checked and right; `retry_after` (whole seconds, at
    least 1) if the attempt was refused unchecked; neither for a wrong token."""

    accepted: bool
    retry_after: int | None = None


def attempt(
    ctx: Context, address: str, check: Callable[[], bool], limits: Limits = Limits()
) -> Verdict:
    """Run `check` (the token comparison) unless `address` or everyone is throttled."""
    address = address[:64]
    window = timedelta(seconds=limits.window_seconds)
    with transaction(ctx.sessions) as session:
        session.execute(select(func.pg_advisory_xact_lock(LOCK_KEY)))
        now: datetime = session.execute(select(func.clock_timestamp())).scalar_one()
        since = now - window
        wait = max(
            _wait(session, since, window, now, limits.per_address, address),
            _wait(session, since, window, now, limits.overall, None),
        )
        if wait > 0:
            return Verdict(accepted=False, retry_after=max(1, math.ceil(wait)))
        if check():
            return Verdict(accepted=True)
        session.execute(delete(LoginFailure).where(LoginFailure.at <= since))
        session.add(LoginFailure(address=address, at=now))
        return Verdict(accepted=False)


def _wait(
    session: Session,
    since: datetime,
    window: timedelta,
    now: datetime,
    limit: int,
    address: str | None,
) -> float:
    """Seconds until fewer than `limit` failures (of `address`, or of all) are in the
    window: when the `limit`-th most recent one leaves it; 0 if already fewer."""
    query = select(LoginFailure.at).where(LoginFailure.at > since)
    if address is not None:
        query = query.where(LoginFailure.address == address)
    nth = session.execute(
        query.order_by(LoginFailure.at.desc()).offset(limit - 1).limit(1)
    ).scalar_one_or_none()
    if nth is None:
        return 0.0
    return (nth + window - now).total_seconds()
