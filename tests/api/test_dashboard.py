"""The dashboard's pages: login, the session cookie, escaping, headers, logout."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from models.crypto import Vault
from tests.factories import make_site, make_source

TOKEN = "test-admin-token"


@pytest.fixture
def client(app: Flask, db: sessionmaker[Session], vault: Vault) -> FlaskClient:
    with db.begin() as session:
        make_site(session, vault, make_source(session, vault), name="<b>shop</b>")
    return app.test_client()


def _csrf(page: str) -> str:
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def test_login_sets_a_strict_http_only_session(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"].endswith("/login")
    form = client.get("/login")
    assert form.status_code == 200 and 'name="token"' in form.get_data(as_text=True)
    wrong = client.post("/login", data={"token": "nope"})
    assert wrong.status_code == 401 and "wrong token" in wrong.get_data(as_text=True)
    right = client.post("/login", data={"token": TOKEN})
    assert right.status_code == 302
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_the_page_escapes_names_and_forbids_inline_code(client: FlaskClient) -> None:
    client.post("/login", data={"token": TOKEN})
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert "&lt;b&gt;shop&lt;/b&gt;" in html and "<b>shop</b>" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in html and "style=" not in html  # nothing inline to allow
    assert len(_csrf(html)) > 20
    script = client.get("/static/dashboard.js")
    assert script.status_code == 200 and b"X-CSRF-Token" in script.data


def test_logout_needs_the_csrf_token(client: FlaskClient) -> None:
    client.post("/login", data={"token": TOKEN})
    csrf = _csrf(client.get("/").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": "forged"})
    assert client.get("/").status_code == 200  # still logged in
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get("/").status_code == 302
    assert client.get("/api/overview").status_code == 401
