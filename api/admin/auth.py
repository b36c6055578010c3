"""Who may use the admin API, `/metrics` and the dashboard: the holder of ADMIN_TOKEN.

Two ways in, one secret:
- `Authorization: Bearer <ADMIN_TOKEN>` (scripts, Prometheus), compared in constant
  time;
- the dashboard's signed session cookie, set by logging in with the same token. The
  cookie names a server-side session (sync/admin_sessions.py), so logging out ends it
  for good, even for a copy of the cookie; it also holds an HMAC fingerprint of the
  token, so changing ADMIN_TOKEN logs every browser out. A browser sends cookies with
  any request a page makes it send, so state-changing requests authenticated by the
  cookie must also carry the session's CSRF token in `X-CSRF-Token`, which another
  origin's page cannot read. The cookie is `Secure` whenever the request came over
  https (through TRUSTED_PROXIES' `X-Forwarded-Proto` behind a proxy).

Every token check, login or Bearer, goes through the login throttle
(sync/login_throttle.py): a throttled client gets 429 without its token being looked at.

Without ADMIN_TOKEN the admin surface is off (503), never open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from api.admin.errors import Disabled, Forbidden, TooManyAttempts, Unauthorized
from api.bearer import bearer_token
from api.resources import context, resources
from sync import admin_sessions, login_throttle
from sync.errors import OUTAGES

log = logging.getLogger(__name__)

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION_KEY_INFO = b"stocksync/flask.session/v1"
DISABLED = "admin API disabled: set ADMIN_TOKEN"
#: Paths that only platforms and API clients call, never a browser.
NO_SESSION_PATHS = ("/webhooks/", "/api/sync/webhook")


def session_secret(encryption_key: str) -> bytes:
    """Flask's SECRET_KEY, derived from the newest Fernet key with its own HKDF label.

    No extra setting to manage, and independent of the encryption key it comes from
    (neither reveals the other). Rotating the first encryption key logs browsers out.
    """
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SESSION_KEY_INFO)
    return hkdf.derive(base64.urlsafe_b64decode(encryption_key))


class OperatorSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, skipped on the webhook paths.

    Only the dashboard and the admin API use the session; platforms never send its
    cookie. Opening one still builds a signer per request, about 6 % of the receiver's
    CPU under load (py-spy on bench/ingest.py), so webhook requests get Flask's
    read-only null session instead.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(NO_SESSION_PATHS):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        """`Secure` per request: a stack reached over http in development still logs
        in, and one behind an https proxy never sends the cookie in clear."""
        return request.is_secure or super().get_cookie_secure(app)


def _token() -> str:
    token = resources().settings.admin_token
    if token is None:
        raise Disabled(DISABLED)
    return token


def _fingerprint(token: str) -> str:
    key = current_app.secret_key
    assert isinstance(key, bytes)
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def token_matches(given: str) -> bool:
    return hmac.compare_digest(given.encode(), _token().encode())


def _admitted(check: Callable[[], bool]) -> bool:
    """`check()` through the login throttle; raise `TooManyAttempts` if throttled.

    With PostgreSQL down the throttle cannot count, and the token is checked without
    it: Prometheus must still scrape `/metrics` (which reports the outage), and a token
    of 32+ characters does not need the throttle to resist guessing.
    """
    address = request.remote_addr or "unknown"
    try:
        verdict = login_throttle.attempt(context(), address, check)
    except OUTAGES as exc:
        log.warning("admin.throttle_unavailable", extra={"error": type(exc).__name__})
        return check()
    if verdict.retry_after is not None:
        log.warning(
            "admin.login_throttled",
            extra={"address": address, "retry_after": verdict.retry_after},
        )
        raise TooManyAttempts(verdict.retry_after)
    return verdict.accepted


def log_in(given: str) -> bool:
    """Start a dashboard session if `given` is the admin token; raise `TooManyAttempts`
    if this address or everyone has guessed wrong too often lately."""
    if not _admitted(lambda: token_matches(given)):
        return False
    session.clear()
    session.permanent = True
    session["admin"] = _fingerprint(_token())
    session["sid"] = admin_sessions.start(context(), current_app.permanent_session_lifetime)
    session["csrf"] = secrets.token_urlsafe(32)
    return True


def log_out() -> None:
    """End the server-side session: the cookie, even a copy of it, stops working."""
    sid = session.get("sid")
    if isinstance(sid, str):
        admin_sessions.end(context(), sid)
    session.clear()


def logged_in() -> bool:
    """Whether the request carries a live session made with the current admin token."""
    mark = session.get("admin")
    sid = session.get("sid")
    return (
        isinstance(mark, str)
        and isinstance(sid, str)
        and hmac.compare_digest(mark, _fingerprint(_token()))
        and admin_sessions.is_live(context(), sid)
    )


def csrf_token() -> str:
    return str(session.get("csrf", ""))


def require_admin() -> None:
    """`before_request` of every admin blueprint: raise unless the caller is the admin."""
    token = _token()
    header = request.headers.get("Authorization")
    if header is not None:
        given = bearer_token(header)
        if _admitted(
            lambda: given is not None and hmac.compare_digest(given.encode(), token.encode())
        ):
            return
        raise Unauthorized("invalid admin token")
    if not logged_in():
        raise Unauthorized("send Authorization: Bearer <ADMIN_TOKEN>")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent.encode(), csrf_token().encode()):
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header")
