"""Every environment variable stocksync reads, read once, checked, and frozen.

`load_settings(environ)` is the only place that looks at the environment (docs/style.md rule
12). A bad value stops start-up with one line naming the variable; `create_app` and
`make_celery` take the resulting `Settings`, so tests pass their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


class SettingsError(ValueError):
    """A variable is missing or malformed; the message names it and the expected form."""


@dataclass(frozen=True)
class Settings:
    """The settings; fields that may hold a secret stay out of `repr`, so a settings
    object in a log line, a traceback's locals or an error report shows no secret."""

    #: PostgreSQL URL; None means "start the embedded one under `home`".
    database_url: str | None = field(default=None, repr=False)
    #: Redis URL; None means "start the embedded one under `home`".
    redis_url: str | None = field(default=None, repr=False)
    #: Where embedded PostgreSQL/Redis data and the dev encryption key live.
    home: Path = Path("var")
    #: Fernet keys, newest first: the first encrypts, all decrypt (rotation).
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    #: Bearer token for the admin API and dashboard; None disables them. At least
    #: MIN_ADMIN_TOKEN_LENGTH characters, MIN_ADMIN_TOKEN_DISTINCT of them different.
    admin_token: str | None = field(default=None, repr=False)
    #: Where the platforms reach our receiver (`https://hooks.example.com`): with it,
    #: stocksync registers and keeps its webhook subscriptions itself (sync/
    #: subscriptions.py); without it, they are set up by hand.
    public_url: str | None = None
    #: Reverse proxies in front of the web server whose `X-Forwarded-For` and
    #: `X-Forwarded-Proto` are believed (werkzeug's ProxyFix, one per hop); 0: none, so a
    #: client cannot claim https or another address by sending the headers itself.
    trusted_proxies: int = 0
    dedupe_window_seconds: float = 5.0
    #: How long a platform delivery id counts as seen, per provider and owner: a
    #: redelivery within it is logged `duplicate` (api/intake.py, the delivery-id memory;
    #: docs/architecture.md flow 1). Platforms retry for hours (Shopify 4 h, BigCommerce
    #: 48 h), hence at least a day.
    idempotency_ttl_seconds: int = 86_400
    batch_size: int = 500
    #: About this many batches are queued or processing at once, shared equally by the
    #: running runs, each at least 2 (sync/runs.py `fill_window`); a run's next batch is
    #: queued as one of its batches finishes. Runs started together (the nightly wave)
    #: so take turns in the queue instead of each queueing its whole run behind the
    #: last (issue 22, item 4), and a run alone still has enough in flight to keep 16
    #: worker processes busy.
    batches_in_flight: int = 16
    #: A nightly run publishes no batch past this many hours from its start (02:00 to
    #: 06:00 by default): what it has not reached by then is left for the next night,
    #: which syncs the SKUs least recently reconciled first (sync/runs.py `hold_over`),
    #: so a catalog longer than a night is reconciled over two and never runs into the
    #: day's real-time traffic. 0: nightly runs go on until done.
    night_hours: float = 4.0
    webhook_log_retention_days: int = 90
    #: A store order's reservation ends after this long if nothing else ended it (the
    #: ERP never absorbed it, or its cancel was lost): sync/reservations.py.
    reservation_hours: int = 72
    max_webhook_body_bytes: int = 2 * 1024 * 1024
    #: A batch `queued` this long in a running run lost its message and is published
    #: again; so is a run's lost start task (docs/architecture.md flow 5).
    stuck_batch_minutes: int = 30
    #: A batch's claim is a lease of this length on the database's clock, renewed every
    #: third of it while its worker works: a dead worker's batches return one lease plus
    #: one sweep (30 s, schedules/beat.py) after its last renewal. 60 s rides out two
    #: missed renewals (a GC pause, a database failover) before a live worker's batch
    #: could be handed on (docs/architecture.md flow 5).
    batch_lease_seconds: int = 60
    #: A run with no progress for this long is marked failed.
    stuck_run_minutes: int = 120
    log_level: str = "INFO"
    web_host: str = "127.0.0.1"
    web_port: int = 5000
    flower_port: int = 5555
    #: "user:password" for Flower's basic auth.
    flower_basic_auth: str | None = field(default=None, repr=False)
    worker_concurrency: int = 2
    #: Processes of the events-only worker (`-Q events`) beside the main one, so a
    #: webhook's event never waits for a full sync's task to end (docs/architecture.md,
    #: "Priorities").
    events_concurrency: int = 2


def _get(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _number(
    environ: Mapping[str, str],
    name: str,
    default: T,
    parse: Callable[[str], T],
    low: float,
    high: float,
) -> T:
    raw = _get(environ, name)
    if raw is None:
        return default
    kind = "an integer" if parse is int else "a number"
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(
            f"{name}: expected {kind} from {low:g} to {high:g}, got {raw!r}"
        ) from None
    if not low <= value <= high:  # type: ignore[operator]
        raise SettingsError(f"{name}: expected {kind} from {low:g} to {high:g}, got {raw!r}")
    return value


#: The admin token guards every site's credentials: long enough that guessing is
#: hopeless even without the login throttle, and not a repeated character or a word.
MIN_ADMIN_TOKEN_LENGTH = 32
MIN_ADMIN_TOKEN_DISTINCT = 10


def check_admin_token(token: str | None) -> None:
    """Refuse a weak ADMIN_TOKEN, in a message that never contains the token."""
    if token is None:
        return
    if len(token) < MIN_ADMIN_TOKEN_LENGTH or len(set(token)) < MIN_ADMIN_TOKEN_DISTINCT:
        raise SettingsError(
            f"ADMIN_TOKEN: too weak: use at least {MIN_ADMIN_TOKEN_LENGTH} characters, "
            f"{MIN_ADMIN_TOKEN_DISTINCT} of them different "
            "(make one with `stocksync keys admin-token`)"
        )


def _url(environ: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = _get(environ, name)
    if raw is None:
        return None
    if not raw.startswith(tuple(f"{s}://" for s in schemes)):
        raise SettingsError(f"{name}: expected a URL starting with {' or '.join(schemes)}://")
    return raw


def _keys(environ: Mapping[str, str]) -> tuple[str, ...]:
    raw = _get(environ, "STOCKSYNC_ENCRYPTION_KEY")
    if raw is None:
        return ()
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    from cryptography.fernet import Fernet

    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except ValueError:
            raise SettingsError(
                f"STOCKSYNC_ENCRYPTION_KEY: key #{index + 1} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `stocksync keys new`)"
            ) from None
    return keys


def _public_url(environ: Mapping[str, str]) -> str | None:
    """PUBLIC_URL: an http(s) origin, optionally with a path prefix, without query,
    fragment or credentials; kept without its trailing slash."""
    raw = _get(environ, "PUBLIC_URL")
    if raw is None:
        return None
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise SettingsError(
            "PUBLIC_URL: expected where the platforms reach the receiver, such as "
            "https://hooks.example.com (no query, fragment or credentials)"
        )
    return raw.rstrip("/")


def normalize_database_url(url: str) -> str:
    """Pin the psycopg2 driver: SQLAlchemy 2.1 maps bare `postgresql://` to psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every variable; raise `SettingsError` naming the first bad one."""
    env = os.environ if environ is None else environ
    database_url = _url(env, "DATABASE_URL", ("postgresql", "postgres", "postgresql+psycopg2"))
    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise SettingsError(f"LOG_LEVEL: expected DEBUG, INFO, WARNING or ERROR, got {log_level!r}")
    admin_token = _get(env, "ADMIN_TOKEN")
    check_admin_token(admin_token)
    flower_auth = _get(env, "FLOWER_BASIC_AUTH")
    if flower_auth is not None and ":" not in flower_auth:
        raise SettingsError("FLOWER_BASIC_AUTH: expected user:password")
    return Settings(
        database_url=normalize_database_url(database_url) if database_url else None,
        redis_url=_url(env, "REDIS_URL", ("redis", "rediss", "redis+socket", "unix")),
        home=Path(_get(env, "STOCKSYNC_HOME") or "var").resolve(),
        encryption_keys=_keys(env),
        admin_token=admin_token,
        public_url=_public_url(env),
        trusted_proxies=_number(env, "TRUSTED_PROXIES", 0, int, 0, 10),
        dedupe_window_seconds=_number(env, "DEDUPE_WINDOW_SECONDS", 5.0, float, 0.5, 60),
        idempotency_ttl_seconds=_number(
            env, "IDEMPOTENCY_TTL_SECONDS", 86_400, int, 86_400, 7 * 86_400
        ),
        batch_size=_number(env, "BATCH_SIZE", 500, int, 1, 2000),
        batches_in_flight=_number(env, "BATCHES_IN_FLIGHT", 16, int, 1, 1024),
        night_hours=_number(env, "NIGHT_HOURS", 4.0, float, 0, 24),
        webhook_log_retention_days=_number(env, "WEBHOOK_LOG_RETENTION_DAYS", 90, int, 1, 365),
        reservation_hours=_number(env, "RESERVATION_HOURS", 72, int, 1, 90 * 24),
        max_webhook_body_bytes=_number(
            env, "MAX_WEBHOOK_BODY_BYTES", 2 * 1024 * 1024, int, 1024, 64 * 1024 * 1024
        ),
        stuck_batch_minutes=_number(env, "STUCK_BATCH_MINUTES", 30, int, 1, 24 * 60),
        batch_lease_seconds=_number(env, "BATCH_LEASE_SECONDS", 60, int, 3, 900),
        stuck_run_minutes=_number(env, "STUCK_RUN_MINUTES", 120, int, 5, 7 * 24 * 60),
        log_level=log_level,
        web_host=_get(env, "WEB_HOST") or "127.0.0.1",
        web_port=_number(env, "PORT", 5000, int, 1, 65535),
        flower_port=_number(env, "FLOWER_PORT", 5555, int, 1, 65535),
        flower_basic_auth=flower_auth,
        worker_concurrency=_number(env, "WORKER_CONCURRENCY", 2, int, 1, 64),
        events_concurrency=_number(env, "EVENTS_CONCURRENCY", 2, int, 1, 64),
    )
