"""`python -m sandbox <platform>` says exactly how to connect, and what it says works.

Through the real path: the sandbox runs as the process a user starts, its printed
`stocksync sources add` / `sites add` line is run as the real command on the test
database, a connector built from the stored row reads the sandbox, and a webhook the
sandbox sends verifies with the stored secret (and not with another).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.webhooks.event import SignatureError
from api.webhooks.registry import PROVIDERS
from connectors.registry import build_source, build_storefront
from embedded.ports import free_port
from models import Site, Source
from models.crypto import Vault
from sandbox.__main__ import SOURCE_NAME
from sandbox.accounts import ERPS
from sandbox.registry import PLATFORMS
from settings import Settings
from tests.support.cli import stocksync
from tests.support.webhook_sink import receiving

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 30

#: A Business Central source's keys, for a source no test calls.
BC_KEYS = {"tenant_id": "t", "client_id": "c", "client_secret": "s", "company_id": "co"}


@contextmanager
def sandbox_process(platform: str, *options: str) -> Iterator[dict[str, str]]:
    """Run `python -m sandbox` until its start-up text is printed; yield that text's
    fields by label (`command` is the line to paste); stop it on exit."""
    argv = [sys.executable, "-m", "sandbox", platform, "--port", str(free_port()), *options]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    try:
        fields: dict[str, str] = {}
        lines = iter(process.stdout.readline, "")
        for line in lines:
            if line.startswith("Connect stocksync to it:"):
                fields["command"] = next(lines).strip()
                break
            label, _, value = line.strip().partition("  ")
            fields[label] = value.strip()
        assert "command" in fields, f"no start-up text; exit code {process.poll()}"
        yield fields
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def _secret(value: str) -> Any:
    """A printed `--webhook-secret`, read as stocksync's CLI reads it (JSON if an object)."""
    return json.loads(value) if value.startswith("{") else value


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_printed_connection_reads_the_sandbox_and_verifies_its_webhooks(
    platform: str, settings: Settings, db: sessionmaker[Session], vault: Vault
) -> None:
    secret = f"{platform}-hook-secret"
    run = stocksync(settings)
    with (
        receiving() as (hook_base, receiver),
        sandbox_process(
            platform,
            *("--items", str(ITEMS), "--webhook-url", f"{hook_base}/{platform}"),
            *("--webhook-secret", secret),
        ) as printed,
    ):
        url = printed["base URL"]
        command = shlex.split(printed["command"])
        assert command[:3] == ["stocksync", "sources" if platform in ERPS else "sites", "add"]
        assert command[command.index("--base-url") + 1] == url
        assert command[command.index("--credentials") + 1] == printed["credentials"]
        assert command[command.index("--webhook-secret") + 1] == printed["--webhook-secret"]
        stored_secret = _secret(printed["--webhook-secret"])
        header_secret = stored_secret["header_secret"] if platform == "bigcommerce" else None
        assert secret in (stored_secret, header_secret)  # --webhook-secret is honoured

        if platform not in ERPS:
            erp = ("--kind", "businesscentral", "--base-url", "http://127.0.0.1:1")
            run(
                "sources",
                "add",
                "--no-check",
                SOURCE_NAME,
                *erp,
                "--credentials",
                json.dumps(BC_KEYS),
            )
        run(*command[1:])
        with db() as session:
            owner = Source if platform in ERPS else Site
            row = session.scalars(select(owner)).all()[-1]
            credentials = vault.open(row.credentials_sealed)
            stored = vault.open(row.webhook_secret_sealed)
        assert stored == stored_secret

        truth = requests.get(f"{url}/_sandbox/stock", timeout=10).json()
        if platform in ERPS:
            items = build_source(platform, url, credentials).iter_items()
            # The sandbox's stock is what it sells; its retired item reads as 0.
            assert {item.sku: item.quantity for item in items} == {**truth, "OLD-000001": 0}
        else:
            products = build_storefront(platform, url, credentials).iter_catalog()
            assert {product.sku: product.quantity for product in products} == truth

        sku = sorted(truth)[0]
        changed = requests.post(f"{url}/_sandbox/stock", json={sku: truth[sku] + 3}, timeout=10)
        assert changed.status_code == 200
        [delivery] = receiver.wait_for(1)

    verify = PROVIDERS[platform].verify
    assert delivery.path == f"/{platform}"
    verify(delivery.body, delivery.headers, stored, delivery.query)
    # Not a check that passes anything: each secret stocksync holds is really used.
    wrongs = [{**stored, key: "wrong"} for key in stored] if isinstance(stored, dict) else ["x"]
    for wrong in wrongs:
        with pytest.raises(SignatureError):
            verify(delivery.body, delivery.headers, wrong, delivery.query)


def test_listening_on_every_interface_prints_an_address_stocksync_accepts(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    """Before, `--host 0.0.0.0` printed `--base-url http://0.0.0.0:<port>`, which
    `sources add` refuses: the printed line did not work."""
    with sandbox_process("businesscentral", "--host", "0.0.0.0") as printed:  # noqa: S104
        assert printed["base URL"].startswith("http://127.0.0.1:")
        stocksync(settings)(*shlex.split(printed["command"])[1:])
