"""No configured secret shows anywhere (issue 19, "Checked by"; docs/style.md rule 17).

`stocksync up` with Flower runs on known, distinctive secrets: the admin token, the
encryption key, a database password, and every provider's credentials and webhook
secrets (Business Central's `clientState` and Zoho's token among them). Deliveries of
every provider come in signed with them, some with a secret in the query string or the
body; an admin request sends one where it does not belong. Then every admin API answer
and dashboard page, every Flower page and API answer, the processes' output (receiver
with its access log, relay, worker, beat, Flower), every database table and every Redis
value (task messages included) is searched for each secret, as sent and in its obvious
encodings (URL-encoded, base64), and none is found.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import redis
import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from embedded.ports import free_port
from settings import Settings
from tests.factories import signed
from tests.support.stack import wait_for
from tests.support.stack_up import stack_up

#: A port nothing listens on: every platform call fails fast, and its error is logged.
DEAD = f"http://127.0.0.1:{free_port()}"


def _secret(label: str) -> str:
    return f"{label}{secrets.token_hex(8)}"


@dataclass
class Secrets:
    """Every secret the stack is configured with, by name."""

    admin_token: str = field(default_factory=lambda: _secret("AdminTok") + secrets.token_hex(8))
    encryption_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    database_password: str = field(default_factory=lambda: _secret("PgPass"))
    flower_password: str = field(default_factory=lambda: _secret("FlowerPw"))
    client_state: str = field(default_factory=lambda: _secret("ClientState"))
    bc_client_secret: str = field(default_factory=lambda: _secret("BcCred"))
    zoho_token: str = field(default_factory=lambda: _secret("ZohoTok"))
    zoho_hmac_key: str = field(default_factory=lambda: _secret("ZohoHmac"))
    zoho_client_secret: str = field(default_factory=lambda: _secret("ZohoCred"))
    zoho_refresh_token: str = field(default_factory=lambda: _secret("ZohoRefresh"))
    wc_secret: str = field(default_factory=lambda: _secret("WcSecret"))
    wc_consumer_secret: str = field(default_factory=lambda: _secret("WcCred"))
    shopify_secret: str = field(default_factory=lambda: _secret("ShopSecret"))
    shopify_token: str = field(default_factory=lambda: _secret("ShopCred"))
    bigcommerce_header: str = field(default_factory=lambda: _secret("BigHeader"))
    bigcommerce_client: str = field(default_factory=lambda: _secret("BigClient"))
    bigcommerce_token: str = field(default_factory=lambda: _secret("BigCred"))
    standard_key: str = field(default_factory=lambda: _secret("StdKey"))

    @property
    def standard_secret(self) -> str:
        return "whsec_" + base64.b64encode(self.standard_key.encode()).decode()

    def forms(self) -> dict[str, str]:
        """Each secret as sent and in its obvious encodings, named for the report."""
        found: dict[str, str] = {}
        for name, value in vars(self).items():
            raw = value.encode()
            for form, encoded in (
                ("", value),
                ("url", quote(value, safe="")),
                ("url+", quote_plus(value)),
                ("b64", base64.b64encode(raw).decode().rstrip("=")),
                ("b64url", base64.urlsafe_b64encode(raw).decode().rstrip("=")),
            ):
                found.setdefault(encoded, f"{name} {form}".strip())
        return found


class Surfaces:
    """What the test read, by where it came from, to search at the end."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, where: str, answer: requests.Response) -> requests.Response:
        headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
        self.texts[f"{where} -> {answer.status_code}"] = f"{headers}\n{answer.text}"
        return answer

    def leaks(self, forms: dict[str, str]) -> list[str]:
        return [
            f"{name} in {where}"
            for where, content in self.texts.items()
            for value, name in forms.items()
            if value in content
        ]


@contextmanager
def _database_with_password(url: str, password: str) -> Iterator[str]:
    """`url` as a login role that has `password`, so the URL the stack runs on carries
    one (the embedded server trusts local connections; a configured one checks it)."""
    role = "stocksync_secrets_test"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        connection.execute(text(f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}'"))
    try:
        yield make_url(url).set(username=role, password=password).render_as_string(False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


@dataclass
class Admin:
    base: str
    token: str
    seen: Surfaces

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        answer = requests.request(
            method, self.base + path, json=body, headers=headers, timeout=30, **kwargs
        )
        return self.seen.add(f"{method} {path}", answer)

    def create(self, path: str, body: dict[str, Any]) -> int:
        # Nothing listens at DEAD: saved without calling the platform.
        answer = self.call("POST", path, {**body, "check": False})
        assert answer.status_code == 201, answer.text
        return int(answer.json()["id"])


def _connections(admin: Admin, s: Secrets) -> dict[str, int]:
    """A source of each ERP and a site of each store, through the admin API; the id
    each provider's webhooks are addressed to, by provider."""
    bc = admin.create(
        "/api/sources",
        {
            "name": "bc",
            "kind": "businesscentral",
            "base_url": DEAD,
            "credentials": {
                "tenant_id": "t",
                "client_id": "c",
                "client_secret": s.bc_client_secret,
                "company_id": signed.COMPANY,
                "token_url": f"{DEAD}/token",
            },
            "webhook_secret": s.client_state,
        },
    )
    zoho = admin.create(
        "/api/sources",
        {
            "name": "zoho",
            "kind": "zoho",
            "base_url": DEAD,
            "credentials": {
                "client_id": "z",
                "client_secret": s.zoho_client_secret,
                "refresh_token": s.zoho_refresh_token,
                "organization_id": "1",
                "accounts_url": DEAD,
            },
            "webhook_secret": {"token": s.zoho_token, "hmac_key": s.zoho_hmac_key},
        },
    )

    def site(name: str, platform: str, credentials: dict[str, str], secret: Any) -> int:
        body = {"name": name, "platform": platform, "base_url": DEAD, "source": bc}
        return admin.create(
            "/api/sites", body | {"credentials": credentials, "webhook_secret": secret}
        )

    return {
        "businesscentral": bc,
        "zoho": zoho,
        "woocommerce": site(
            "wc",
            "woocommerce",
            {"consumer_key": "ck", "consumer_secret": s.wc_consumer_secret},
            s.wc_secret,
        ),
        "shopify": site("shop", "shopify", {"access_token": s.shopify_token}, s.shopify_secret),
        "bigcommerce": site(
            "big",
            "bigcommerce",
            {"store_hash": "abc", "access_token": s.bigcommerce_token},
            {"header_secret": s.bigcommerce_header, "client_secret": s.bigcommerce_client},
        ),
        "standard": site(
            "std",
            "woocommerce",
            {"consumer_key": "ck", "consumer_secret": s.wc_consumer_secret},
            s.standard_secret,
        ),
    }


def _deliveries(s: Secrets) -> list[tuple[str, signed.Signed]]:
    """Signed deliveries of every provider; Zoho's token also in the query string and
    in a body the merchant wrote."""
    zoho_by_query = signed.zoho(
        item_id="4815000000044209", token=s.zoho_token, hmac_key=s.zoho_hmac_key
    )
    zoho_by_query.headers.pop("X-Zoho-Webhook-Token")
    zoho_by_query.query["token"] = s.zoho_token
    item = {"item_id": "4815000000044210", "sku": "SKU-3", "last_modified_time": "2026-12-01"}
    body = json.dumps({"item": item, "token": s.zoho_token}).encode()
    zoho_in_body = signed.Signed(
        body,
        {
            "Content-Type": "application/json",
            "X-Zoho-Webhook-Token": s.zoho_token,
            "X-Zoho-Webhook-Signature": base64.b64encode(
                hmac.new(s.zoho_hmac_key.encode(), body, "sha256").digest()
            ).decode(),
        },
    )
    return [
        ("woocommerce", signed.woocommerce(secret=s.wc_secret)),
        ("shopify", signed.shopify(secret=s.shopify_secret)),
        (
            "bigcommerce",
            signed.bigcommerce(
                header_secret=s.bigcommerce_header, client_secret=s.bigcommerce_client
            ),
        ),
        ("standard", signed.standard(secret=s.standard_secret)),
        ("zoho", signed.zoho(token=s.zoho_token, hmac_key=s.zoho_hmac_key)),
        ("zoho", zoho_by_query),
        ("zoho", zoho_in_body),
        ("businesscentral", signed.businesscentral(client_state=s.client_state)),
    ]


def _read_admin_api(admin: Admin, owners: dict[str, int]) -> None:
    """Every GET of the admin API's OpenAPI document, for every row it can name (no
    subscriber exists: a subscriber's secret is shown once, on creation, by design)."""
    document = admin.call("GET", "/api/openapi.json").json()
    listed = admin.call("GET", "/api/sync/runs").json()["items"]
    runs = [run["id"] for run in listed]
    previews = [run["id"] for run in listed if run["kind"] == "preview"]
    rows = admin.call("GET", "/api/webhooks/log", params={"limit": 200}).json()["items"]
    ids = {
        "site_id": [owners[p] for p in ("woocommerce", "shopify", "bigcommerce", "standard")],
        "source_id": [owners["businesscentral"], owners["zoho"]],
        "run_id": runs,
        "row_id": [row["id"] for row in rows],
        "subscription_id": [],
        "delivery_id": [],
        "log_id": [run["log_id"] for run in listed],
    }
    read = set()
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        [*names] = re.findall(r"{(\w+)}", path)
        # What a preview found is asked of previews only (422 for other runs).
        values = previews if path.endswith("/changes") else ids[names[0]] if names else [None]
        for value in values:
            concrete = path.replace(f"{{{names[0]}}}", str(value)) if names else path
            assert admin.call("GET", concrete).status_code == 200, concrete
            read.add(path)
    assert runs and previews and len(rows) >= len(_deliveries(Secrets())), (runs, rows)
    assert {"/api/sites/{site_id}", "/api/webhooks/log/{row_id}", "/api/overview"} <= read


def _read_dashboard(base: str, token: str, seen: Surfaces) -> None:
    with requests.Session() as browser:
        seen.add("GET /login", browser.get(f"{base}/login", timeout=10))
        page = seen.add(
            "POST /login", browser.post(f"{base}/login", data={"token": token}, timeout=10)
        )
        assert page.status_code == 200 and "login" not in page.url, page.url  # the dashboard
    for path in ("/healthz", "/readyz", "/readyz/consumers", "/metrics"):
        seen.add(f"GET {path}", requests.get(base + path, timeout=10))


def _read_flower(base: str, auth: tuple[str, str], seen: Surfaces) -> None:
    """Flower's pages and API answers, once it knows the worker and some tasks."""

    def get(path: str, **params: str) -> requests.Response:
        answer = requests.get(base + path, params=params, auth=auth, timeout=30)
        return seen.add(f"flower {path}", answer)

    def ready() -> bool:
        try:
            workers = get("/api/workers", refresh="1").json()
            return bool(workers) and len(get("/api/tasks").json()) >= 3
        except requests.RequestException:
            return False  # not listening yet

    wait_for(ready, 120, "Flower to list the worker and its tasks")
    workers = get("/api/workers", refresh="1").json()
    tasks = get("/api/tasks").json()
    for path in ("/", "/workers", "/tasks", "/api/workers", "/api/tasks", "/api/task/types"):
        assert get(path).status_code == 200, path
    # Flower has no broker page for a transport it does not know (ours, a kombu Redis
    # transport subclass: workers/transport.py): read what it answers anyway.
    for path in ("/broker", "/api/queues/length", "/metrics"):
        get(path)
    get("/tasks/datatable", draw="1", start="0", length="100", **{"search[value]": ""})
    for name in workers:
        page = get(f"/worker/{name}")
        assert page.status_code == 200 and "task_acks_late" in page.text, name
    for task_id in tasks:
        assert get(f"/task/{task_id}").status_code == 200
        get(f"/api/task/info/{task_id}")


def _dump_database(db: sessionmaker[Session]) -> str:
    with db() as session:
        tables = session.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).all()
        return "\n".join(
            f"{table}: "
            + session.execute(
                text(f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{table}\" t")
            ).scalar_one()
            for table in tables
        )


def _values(client: redis.Redis, key: bytes) -> list[Any]:
    kind = client.type(key).decode()
    if kind == "string":
        return [client.get(key)]
    if kind == "list":
        return list(client.lrange(key, 0, -1))
    if kind == "hash":
        return list(client.hgetall(key).items())
    if kind == "set":
        return list(client.smembers(key))
    if kind == "zset":
        return list(client.zrange(key, 0, -1))
    return []  # a stream or a module type: nothing of ours


def _dump_redis(client: redis.Redis) -> str:
    """Every value, and the body of every task message decoded (kombu base64-encodes it)."""
    out = []
    for key in client.scan_iter(count=1000):
        for value in map(str, _values(client, key)):
            out.append(f"{key!r}: {value}")
            for body in re.findall(r'"body": "([A-Za-z0-9+/=]+)"', value):
                out.append(base64.b64decode(body).decode(errors="replace"))
    return "\n".join(out)


@pytest.mark.slow
def test_no_configured_secret_shows_anywhere(
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    s, seen = Secrets(), Surfaces()
    assert settings.database_url
    flower = (free_port(), ("ops", s.flower_password))
    environ = {
        "ADMIN_TOKEN": s.admin_token,
        "FLOWER_PORT": str(flower[0]),
        "FLOWER_BASIC_AUTH": ":".join(flower[1]),
    }
    log = tmp_path / "up.log"
    with _database_with_password(settings.database_url, s.database_password) as database_url:
        configured = replace(
            settings, database_url=database_url, encryption_keys=(s.encryption_key,)
        )
        with stack_up(configured, log, flower=True, environ=environ) as base:
            admin = Admin(base, s.admin_token, seen)
            owners = _connections(admin, s)
            for provider, delivery in _deliveries(s):
                url = f"{base}/webhooks/{provider}/{owners[provider]}"
                answer = seen.add(
                    f"POST {url}",
                    requests.post(
                        url,
                        data=delivery.body,
                        headers=delivery.headers,
                        params=delivery.query,
                        timeout=10,
                    ),
                )
                assert answer.headers["Stocksync-Outcome"] == "accepted", (provider, answer)
            # Secrets where they do not belong, refused without being repeated.
            assert (
                admin.call("GET", "/api/sites", params={"token": s.admin_token}).status_code == 400
            )
            wrong = {"credentials": s.shopify_token, "webhook_secret": [s.shopify_secret]}
            assert admin.call("PATCH", f"/api/sites/{owners['shopify']}", wrong).status_code == 422
            # A run, whose tasks Flower lists and whose failures get recorded.
            started = admin.call("POST", f"/api/inventory/sync/{owners['woocommerce']}")
            assert started.status_code in (200, 201, 202), started.text
            preview = admin.call("POST", f"/api/inventory/preview/{owners['shopify']}")
            assert preview.status_code == 202, preview.text
            _read_flower(f"http://127.0.0.1:{flower[0]}", flower[1], seen)
            _read_admin_api(admin, owners)
            _read_dashboard(base, s.admin_token, seen)
        seen.texts["stack output (every process, access log included)"] = log.read_text()
        seen.texts["database"] = _dump_database(db)
        seen.texts["redis"] = _dump_redis(redis_client)

    output = seen.texts["stack output (every process, access log included)"]
    assert f"/webhooks/zoho/{owners['zoho']}" in output and "task" in output
    assert "webhook_log: (" in seen.texts["database"]
    leaks = seen.leaks(s.forms())
    assert leaks == [], "\n".join(leaks)
