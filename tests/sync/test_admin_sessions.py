"""Dashboard sessions: live until ended or expired, stored only as a hash."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from models import AdminSession
from sync import admin_sessions
from sync.context import Context


def test_a_session_is_live_until_ended(service: Context) -> None:
    first = admin_sessions.start(service, timedelta(hours=1))
    second = admin_sessions.start(service, timedelta(hours=1))
    assert admin_sessions.is_live(service, first) and admin_sessions.is_live(service, second)
    admin_sessions.end(service, first)
    assert not admin_sessions.is_live(service, first)
    assert admin_sessions.is_live(service, second)
    admin_sessions.end(service, first)  # ending twice is harmless
    assert not admin_sessions.is_live(service, "never-started")


def test_the_table_holds_no_session_id(service: Context) -> None:
    session_id = admin_sessions.start(service, timedelta(hours=1))
    with service.sessions() as session:
        stored = session.execute(select(AdminSession.id_hash)).scalars().all()
    assert len(stored) == 1 and session_id not in stored[0]


def test_an_expired_session_is_refused_and_purged_at_the_next_login(service: Context) -> None:
    old = admin_sessions.start(service, timedelta(hours=1))
    with service.sessions.begin() as session:
        session.execute(text("UPDATE admin_sessions SET expires_at = now() - interval '1 s'"))
    assert not admin_sessions.is_live(service, old)
    admin_sessions.start(service, timedelta(hours=1))
    with service.sessions() as session:
        assert len(session.execute(select(AdminSession.id_hash)).all()) == 1
