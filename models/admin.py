"""The dashboard's server-side state: its live sessions and recent login failures.

Both live in PostgreSQL rather than in a process's memory or in the cookie, so every
web worker on every host sees the same: a session ended by logging out is refused by
all of them, and a login throttle counts an address's guesses wherever they land.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, bigint_pk


class AdminSession(Base):
    """One logged-in dashboard session (sync/admin_sessions.py).

    The cookie carries a random session id; the row holds only its SHA-256, so a copy
    of the table (a backup, a dump) logs nobody in. Logging out deletes the row, which
    is what makes the old cookie worthless even though its signature is still valid.
    """

    __tablename__ = "admin_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    #: After this the session is refused, whatever the cookie says; expired rows are
    #: purged at the next login.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LoginFailure(Base):
    """One wrong admin token, by client address (sync/login_throttle.py).

    A row per failure rather than a counter: the throttle counts failures in a sliding
    window and says exactly when the oldest one stops counting (`Retry-After`). Rows
    older than the window are deleted as new ones come, so the table stays tiny: the
    throttle itself caps how many can be written per window.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_address_at", "address", "at"),)

    id: Mapped[bigint_pk]
    #: The client's address as the web server sees it (after TRUSTED_PROXIES).
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), nullable=False
    )
