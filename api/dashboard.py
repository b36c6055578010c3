"""The status dashboard at `/`: server-rendered HTML, one small script, no build step.

Log in with the admin token; the page then polls `GET /api/overview` and calls the
admin API with the session cookie and its CSRF header (api/admin/auth.py), also to add
sources and sites (`POST /api/sources`, `POST /api/sites`). Pages are
served with a strict Content-Security-Policy (no inline script or style), and every
value from the database is put into the page as text, never as HTML.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import Blueprint, Response, redirect, render_template, request, url_for

from api.admin import auth
from api.admin.errors import TooManyAttempts
from api.resources import context, resources
from models import Platform, SourceKind, WebhookStatus
from sync.accounts import BASE_URL_EXAMPLES, WEBHOOK_SECRETS
from sync.accounts import credential_fields as accounts_credential_fields
from sync.errors import OUTAGES
from sync.reservation_report import oversold_everywhere
from sync.sites import list_sites
from sync.sources import list_sources

log = logging.getLogger(__name__)

dashboard = Blueprint("dashboard", __name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dashboard.after_request
def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _disabled() -> tuple[str, int]:
    return render_template("login.html", error=auth.DISABLED, disabled=True), 503


@dashboard.before_request
def _enabled() -> tuple[str, int] | None:
    """Without ADMIN_TOKEN there is no way in: say so on every page."""
    if resources().settings.admin_token is None:
        return _disabled()
    return None


def _outage(error: Exception) -> tuple[str, int]:
    """Sessions and the login throttle live in PostgreSQL: without it, say so (503)."""
    log.error("dashboard.unavailable", extra={"error": type(error).__name__})
    page = render_template("login.html", error="PostgreSQL is unavailable", disabled=True)
    return page, 503


for _kind in OUTAGES:
    dashboard.register_error_handler(_kind, _outage)


@dataclass(frozen=True, slots=True)
class CredentialField:
    """One input of the add forms' credentials: a key of connectors/credentials.py."""

    name: str
    required: bool
    help: str


def credential_fields(platform: str) -> list[CredentialField]:
    """`platform`'s credential keys (`sync.accounts.credential_fields`)."""
    return [CredentialField(*key) for key in accounts_credential_fields(platform)]


@dataclass(frozen=True, slots=True)
class PlatformChoice:
    """What the add forms show of a platform: its keys, an address, which secret."""

    name: str
    keys: list[CredentialField]
    example: str
    secret_help: str


def _choices(platforms: list[str]) -> list[PlatformChoice]:
    return [
        PlatformChoice(
            platform,
            credential_fields(platform),
            BASE_URL_EXAMPLES[platform],
            WEBHOOK_SECRETS[platform],
        )
        for platform in platforms
    ]


@dashboard.get("/")
def index() -> Response | tuple[str, int] | str:
    if not auth.logged_in():
        return redirect(url_for("dashboard.login_form"))  # type: ignore[return-value]
    return render_template(
        "dashboard.html",
        sites=list_sites(context()),
        oversold=oversold_everywhere(context()),
        csrf_token=auth.csrf_token(),
        statuses=[s.value for s in WebhookStatus],
        providers=[p.value for p in Platform] + ["standard", "zoho", "businesscentral"],
        sources=list_sources(context()),
        site_platforms=_choices([p.value for p in Platform]),
        source_kinds=_choices([k.value for k in SourceKind]),
    )


@dashboard.get("/login")
def login_form() -> tuple[str, int] | str:
    return render_template("login.html", error=None, disabled=False)


@dashboard.post("/login")
def login() -> Response | tuple[str, int]:
    token = request.form.get("token", "")
    try:
        accepted = auth.log_in(token)
    except TooManyAttempts as refused:
        page = render_template("login.html", error=refused.message, disabled=False)
        return Response(page, 429, {"Retry-After": str(refused.retry_after)})
    if not accepted:
        return render_template("login.html", error="wrong token", disabled=False), 401
    return redirect(url_for("dashboard.index"))  # type: ignore[return-value]


@dashboard.post("/logout")
def logout() -> Response | tuple[str, int]:
    """A form post carrying the CSRF token: a foreign page must not log the admin out."""
    sent = request.form.get("csrf_token", "")
    if auth.logged_in() and sent and hmac.compare_digest(sent.encode(), auth.csrf_token().encode()):
        auth.log_out()
    return redirect(url_for("dashboard.login_form"))  # type: ignore[return-value]
