"""Turn settings into concrete service URLs, starting embedded servers where needed."""

from __future__ import annotations

from dataclasses import replace

from cryptography.fernet import Fernet

from embedded.locking import file_lock
from embedded.postgres import ensure_postgres
from embedded.private import create_private
from embedded.redis import ensure_redis
from settings import Settings, SettingsError


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


def _dev_key(settings: Settings) -> str:
    """The embedded setup's key, made on first use: 0600 from its creation, never a
    readable file narrowed afterwards (embedded/private.py)."""
    path = settings.home / "encryption.key"
    with file_lock(settings.home / "key.lock"):
        create_private(path, Fernet.generate_key().decode())
        return path.read_text().strip()
