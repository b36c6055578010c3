"""The dashboard's pages: login, the session cookie, escaping, headers, logout, the add
forms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from connectors.credentials import CREDENTIAL_KEYS
from connectors.types import OrderLine, OrderSnapshot, OrderState
from models import Item, Site, Source
from models.crypto import Vault
from settings import Settings
from sync.reservations import apply_order
from tests.factories import make_site, make_source
from tests.support.admin_api import TOKEN


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


def test_a_copy_of_the_cookie_stops_working_at_logout(client: FlaskClient) -> None:
    client.post("/login", data={"token": TOKEN})
    csrf = _csrf(client.get("/").get_data(as_text=True))
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/logout", data={"csrf_token": csrf})
    copy = client.application.test_client()
    copy.set_cookie("session", cookie.value)
    assert copy.get("/api/overview").status_code == 401
    assert copy.get("/").status_code == 302


def _session_cookie(client: FlaskClient, **request: object) -> str:
    response = client.post("/login", data={"token": TOKEN}, **request)  # type: ignore[arg-type]
    assert response.status_code == 302
    return str(response.headers["Set-Cookie"])


def test_the_cookie_is_secure_over_https_only(client: FlaskClient) -> None:
    assert "Secure" not in _session_cookie(client)
    assert "; Secure" in _session_cookie(client, base_url="https://localhost")
    # X-Forwarded-Proto from a client, with no proxy trusted, is not believed.
    forged = _session_cookie(client, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in forged


def test_a_trusted_proxy_says_https(
    settings: Settings, db: sessionmaker[Session], redis_client: redis.Redis
) -> None:
    client = create_app(replace(settings, trusted_proxies=1)).test_client()
    proxied = _session_cookie(client, headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in proxied
    assert "Secure" not in _session_cookie(client, headers={"X-Forwarded-Proto": "http"})


def test_wrong_tokens_are_throttled_then_even_the_right_one(client: FlaskClient) -> None:
    for _ in range(5):
        assert client.post("/login", data={"token": "nope"}).status_code == 401
    for token in ("nope", TOKEN):
        refused = client.post("/login", data={"token": token})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "too many" in refused.get_data(as_text=True)
    # The throttle is per address: another client still gets in.
    other = client.post("/login", data={"token": TOKEN}, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 302


def test_logging_in_with_postgresql_down_is_503(unreachable_settings: Settings) -> None:
    client = create_app(unreachable_settings).test_client()
    response = client.post("/login", data={"token": TOKEN})
    assert response.status_code == 503
    assert "PostgreSQL is unavailable" in response.get_data(as_text=True)


def test_each_site_shows_its_stock_policy(client: FlaskClient, db: sessionmaker[Session]) -> None:
    with db.begin() as session:
        session.execute(
            update(Site).values(
                stock_buffer=15,
                stock_buffer_unit="percent",
                stock_floor=3,
                stock_basis="available_for_sale",
            )
        )
    client.post("/login", data={"token": TOKEN})
    html = " ".join(client.get("/").get_data(as_text=True).split())
    assert "stock policy: available for sale, buffer 15%, floor 3" in html
    with db.begin() as session:
        session.execute(update(Site).values(erp_location_ids=["W1", "W3"]))
    html = " ".join(client.get("/").get_data(as_text=True).split())
    assert "stock policy: available for sale at locations W1, W3, buffer 15%" in html


def test_oversold_skus_are_listed_with_their_orders(
    client: FlaskClient, db: sessionmaker[Session]
) -> None:
    client.post("/login", data={"token": TOKEN})
    assert 'id="oversold"' not in client.get("/").get_data(as_text=True)
    moment = datetime(2026, 12, 4, tzinfo=UTC)
    with db.begin() as session:
        site = session.scalars(select(Site)).one()
        session.add(
            Item(site_id=site.id, sku="LAST", product_id="1", erp_quantity=1, erp_read_at=moment)
        )
        for order in ("<i>1</i>", "2"):
            snapshot = OrderSnapshot(
                order, order, moment, OrderState.OPEN, True, (OrderLine("LAST", 1),)
            )
            apply_order(session, site, snapshot)
    html = " ".join(client.get("/").get_data(as_text=True).split())
    assert 'id="oversold"' in html
    assert f"<td>LAST</td><td>1</td> <td>{site.id}</td>" in html
    # Order numbers come from the stores: escaped like every other text.
    assert "&lt;i&gt;1&lt;/i&gt; (site" in html and "2 (site" in html


class _CredentialInputs(HTMLParser):
    """The inputs of each `fieldset.credentials`, by the platform the fieldset is for."""

    def __init__(self) -> None:
        super().__init__()
        self.platform: str | None = None
        self.inputs: dict[str, list[dict[str, str | None]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "fieldset" and found.get("class") == "credentials":
            self.platform = found["data-platform"]
            self.inputs[str(self.platform)] = []
        elif tag == "input" and self.platform is not None:
            self.inputs[self.platform].append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "fieldset":
            self.platform = None


def test_the_add_forms_ask_each_credential_key_of_each_platform_as_a_password(
    client: FlaskClient, db: sessionmaker[Session]
) -> None:
    client.post("/login", data={"token": TOKEN})
    html = client.get("/").get_data(as_text=True)
    parser = _CredentialInputs()
    parser.feed(html)

    assert set(parser.inputs) == set(CREDENTIAL_KEYS)
    for platform, keys in CREDENTIAL_KEYS.items():
        inputs = parser.inputs[platform]
        asked = {i["data-credential"]: "required" in i for i in inputs}
        assert asked == {key.name: key.required for key in keys}, platform
        assert all(i["type"] == "password" and i["autocomplete"] == "off" for i in inputs)
        assert not any("name" in i or "value" in i for i in inputs)  # never in a form post
    with db() as session:
        source = session.scalars(select(Source)).one()
    assert f'<option value="{source.id}">{source.name}</option>' in html
