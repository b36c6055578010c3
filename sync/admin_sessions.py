"""Dashboard sessions kept server-side, so that logging out ends them everywhere.

The browser's signed cookie names a session by a random id (32 bytes); the row keeps
only the id's SHA-256, as the plugin keys are kept (sync/api_keys.py says why a plain
hash suffices for 256 random bits). A session is live while its row exists and has not
expired: `end` deletes it, and a copy of the cookie taken before is refused from then
on, by every web worker. Times are the database's, one clock for every host.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, select

from models import AdminSession
from models.db import transaction
from sync.context import Context


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start(ctx: Context, lifetime: timedelta) -> str:
    """Open a session for `lifetime` and return its id, for the cookie only.

    Expired rows are purged here: logins are rare, so the table stays small without a
    scheduled job.
    """
    session_id = secrets.token_urlsafe(32)
    with transaction(ctx.sessions) as session:
        session.execute(delete(AdminSession).where(AdminSession.expires_at <= func.now()))
        session.add(AdminSession(id_hash=_hash(session_id), expires_at=func.now() + lifetime))
    return session_id


def is_live(ctx: Context, session_id: str) -> bool:
    """Whether the session was started, not ended, and has not expired."""
    with ctx.sessions() as session:
        found = session.execute(
            select(AdminSession.id_hash).where(
                AdminSession.id_hash == _hash(session_id), AdminSession.expires_at > func.now()
            )
        ).first()
    return found is not None


def end(ctx: Context, session_id: str) -> None:
    """End the session (logging out); ending an unknown or ended one does nothing."""
    with transaction(ctx.sessions) as session:
        session.execute(delete(AdminSession).where(AdminSession.id_hash == _hash(session_id)))
