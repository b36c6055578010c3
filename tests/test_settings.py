from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from settings import SettingsError, load_settings


def test_defaults_match_the_design() -> None:
    settings = load_settings({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.dedupe_window_seconds == 5
    assert settings.batch_size == 500
    assert settings.webhook_log_retention_days == 90
    assert settings.idempotency_ttl_seconds >= 86_400
    assert settings.home == Path("var").resolve()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BATCH_SIZE", "lots"),
        ("BATCH_SIZE", "0"),
        ("WEBHOOK_LOG_RETENTION_DAYS", "366"),
        ("WEBHOOK_LOG_RETENTION_DAYS", "0"),
        ("DEDUPE_WINDOW_SECONDS", "-1"),
        ("MAX_WEBHOOK_BODY_BYTES", "12kb"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("REDIS_URL", "localhost:6379"),
        ("STOCKSYNC_ENCRYPTION_KEY", "not-a-key"),
        ("LOG_LEVEL", "LOUD"),
        ("FLOWER_BASIC_AUTH", "no-colon"),
        ("PORT", "70000"),
        ("TRUSTED_PROXIES", "-1"),
        ("ADMIN_TOKEN", "short-Token-1"),
    ],
)
def test_a_bad_value_names_its_variable_in_one_line(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}:")
    assert "\n" not in message


@pytest.mark.parametrize(
    "token",
    ["Sh0rt-but-varied", "ab" * 20, "0123456789" * 3 + "x", "correct horse battery staple!"],
)
def test_a_weak_admin_token_is_refused_without_being_shown(token: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"ADMIN_TOKEN": token})
    message = str(caught.value)
    assert message.startswith("ADMIN_TOKEN: too weak") and "\n" not in message
    assert token not in message


def test_a_strong_admin_token_and_trusted_proxies_are_read() -> None:
    token = "0123456789" * 3 + "ab"
    settings = load_settings({"ADMIN_TOKEN": token, "TRUSTED_PROXIES": "2"})
    assert settings.admin_token == token and settings.trusted_proxies == 2
    assert load_settings({}).trusted_proxies == 0


def test_database_url_pins_psycopg2() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://u@h/db"})
    assert settings.database_url == "postgresql+psycopg2://u@h/db"


def test_several_keys_allow_rotation() -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = load_settings({"STOCKSYNC_ENCRYPTION_KEY": f"{new}, {old}"})
    assert settings.encryption_keys == (new, old)


def test_repr_shows_no_secret() -> None:
    """A settings object in a log line or a traceback's locals must not carry secrets."""
    key = Fernet.generate_key().decode()
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://u:db-pass-1@h/db",
            "REDIS_URL": "redis://:redis-pass-2@h:6379/0",
            "STOCKSYNC_ENCRYPTION_KEY": key,
            "ADMIN_TOKEN": "admin-token-3-" + "x" * 40,
            "FLOWER_BASIC_AUTH": "ops:flower-pass-4",
        }
    )
    shown = repr(settings)
    for secret in ("db-pass-1", "redis-pass-2", key, "admin-token-3", "flower-pass-4"):
        assert secret not in shown
    assert "batch_size=500" in shown
