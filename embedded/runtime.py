"""Turn settings into concrete service URLs, starting embedded servers where needed."""

from __future__ import annotations

import secrets
from dataclasses import replace

from cryptography.fernet import Fernet

from embedded.locking import file_lock
from embedded.postgres import ensure_postgres, postgres_running
from embedded.private import create_private
from embedded.redis import ensure_redis, running_port
from settings import Settings, SettingsError

#: What a command that needs the stack says when neither a URL is set nor the embedded
#: servers run.
NOTHING_RUNNING = (
    "nothing running: start the stack with `stocksync up` (or set DATABASE_URL and REDIS_URL)"
)


class NothingRunning(SettingsError):
    """No configured URL and no embedded server running for it (`resolve_running`)."""


def database_url(settings: Settings) -> str:
    """The configured PostgreSQL, else the embedded one (started if needed)."""
    return settings.database_url or ensure_postgres(settings.home)


def redis_url(settings: Settings) -> str:
    """The configured Redis, else the embedded one (started if needed)."""
    return settings.redis_url or ensure_redis(settings.home)


def resolve(settings: Settings) -> Settings:
    """Fill in DATABASE_URL / REDIS_URL with embedded servers, and a dev encryption key.

    A configured URL is used as is: "with REDIS_URL / DATABASE_URL set, the same code
    uses those servers instead". The key file is for the embedded setup only; with an
    external database, STOCKSYNC_ENCRYPTION_KEY must be set (a key that lives beside
    the data it protects protects nothing).
    """
    keys = settings.encryption_keys
    if not keys:
        if settings.database_url:
            raise SettingsError(
                "STOCKSYNC_ENCRYPTION_KEY: required when DATABASE_URL is set "
                "(make one with `stocksync keys new`)"
            )
        keys = (_dev_key(settings),)
    return replace(
        settings,
        database_url=database_url(settings),
        redis_url=redis_url(settings),
        encryption_keys=keys,
    )


def resolve_running(settings: Settings) -> Settings:
    """`resolve`, for a command that only uses the stack: it never starts an embedded
    server, which nothing would stop again (a `stocksync sites list` before any
    `stocksync up` used to leave PostgreSQL and Redis running). Raises `NothingRunning`
    when a URL is unset and its embedded server is not running; the servers `up` started
    (or the demo's `--keep`) are used as they are."""
    if settings.database_url is None and not postgres_running(settings.home):
        raise NothingRunning(NOTHING_RUNNING)
    if settings.redis_url is None and running_port(settings.home) is None:
        raise NothingRunning(NOTHING_RUNNING)
    return resolve(settings)


def _dev_key(settings: Settings) -> str:
    """The embedded setup's key, made on first use: 0600 from its creation, never a
    readable file narrowed afterwards (embedded/private.py)."""
    path = settings.home / "encryption.key"
    with file_lock(settings.home / "key.lock"):
        create_private(path, Fernet.generate_key().decode())
        return path.read_text().strip()


def with_dev_admin_token(settings: Settings) -> Settings:
    """With the embedded setup and no ADMIN_TOKEN, a token made on first use and kept in
    STOCKSYNC_HOME/admin.token (0600, like the dev key), so the dashboard `stocksync up`
    announces can be logged into. With an external database (a deployment), an unset
    ADMIN_TOKEN keeps the admin API and dashboard off, as the README says."""
    if settings.admin_token or settings.database_url:
        return settings
    path = settings.home / "admin.token"
    with file_lock(settings.home / "key.lock"):
        create_private(path, secrets.token_urlsafe(32))
        return replace(settings, admin_token=path.read_text().strip())
