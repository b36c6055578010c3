"""Adding a source and a site from the dashboard, in headless Chromium, against the
platform sandboxes: the keys are tried before anything is saved, a refusal is one line
next to the form, and no credential comes back in the page or in any answer.

Same harness as tests/browser/test_dashboard.py (tests/support/chromium.py). The
platforms reach the receiver through the name PUBLIC_URL gives (each sandbox forwards
it, as a proxy would), so the answer lists webhooks really registered, as
tests/functional/test_onboarding_live.py does it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from models import Site, Source
from models.crypto import Vault
from sandbox.accounts import DEFAULTS
from sandbox.base import SandboxConfig, SandboxState
from sandbox.registry import create_app as create_sandbox
from sandbox.server import running
from settings import Settings
from tests.support.admin_api import TOKEN
from tests.support.chromium import ARGS, CHROMIUM, log_in, playwright_api
from tests.support.stack import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Response

PUBLIC = "https://hooks.stocksync.test"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WRONG = {"consumer_key": "ck_sandbox", "consumer_secret": "cs_wrong_d41d8c"}


@pytest.fixture
def receiver(
    settings: Settings, db: sessionmaker[Session], redis_client: redis.Redis
) -> Iterator[str]:
    """The web app (dashboard, admin API and webhook receiver) that PUBLIC_URL names.
    After `db`, which empties the tables: the login's session row must outlive it."""
    with running(create_app(replace(settings, admin_token=TOKEN, public_url=PUBLIC))) as base:
        yield base


@pytest.fixture
def page(receiver: str) -> Iterator[Page]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            log_in(page, receiver)
            yield page
        finally:
            browser.close()


@contextmanager
def platform(name: str, receiver: str) -> Iterator[tuple[str, SandboxState]]:
    """A sandbox of the default `name` account whose webhooks reach `receiver`."""
    app = create_sandbox(name, SandboxConfig.for_account(DEFAULTS[name], items=10))
    with running(app) as url:
        state: SandboxState = app.config["SANDBOX_STATE"]
        state.set_faults(forward={PUBLIC: receiver})
        yield url, state


def _fill(form: Locator, fields: Mapping[str, str], credentials: Mapping[str, str]) -> None:
    """Type `fields` by name and `credentials` into the chosen platform's key inputs."""
    for name, value in fields.items():
        form.locator(f'[name="{name}"]').fill(value)
    for key, value in credentials.items():
        form.locator(f'fieldset:enabled [data-credential="{key}"]').fill(value)


def _open(page: Page, form_id: str) -> Locator:
    """The form, its section unfolded."""
    form = page.locator(f"#{form_id}")
    if not form.is_visible():
        page.locator(f"#add details:has(#{form_id}) summary").click()
    return form


def _add(page: Page, form_id: str, fields: Mapping[str, str], keys: Mapping[str, str]) -> Locator:
    """Fill the form in and submit it; its answer box."""
    form = _open(page, form_id)
    _fill(form, fields, keys)
    form.locator("button[type=submit]").click()
    return form.locator(".form-answer")


def _no_password_kept(page: Page) -> bool:
    return all(field.input_value() == "" for field in page.locator('[type="password"]').all())


@pytest.mark.slow
def test_add_a_source_then_a_site_with_wrong_then_right_keys(
    page: Page, receiver: str, db: sessionmaker[Session]
) -> None:
    answers: list[Response] = []
    # Logged in already: nothing navigates from here on, so every answer can be read.
    page.on("response", lambda answer: answers.append(answer))
    with (
        platform("businesscentral", receiver) as (erp_url, _),
        platform("woocommerce", receiver) as (store_url, _),
    ):
        erp_keys = DEFAULTS["businesscentral"].stored_credentials(erp_url)
        store_keys = DEFAULTS["woocommerce"].stored_credentials(store_url)
        added = _add(page, "add-source", {"name": "erp", "base_url": erp_url}, erp_keys)
        wait_for(lambda: "erp added" in added.inner_text(), 30, "the source")
        assert ": active" in added.inner_text()

        site_form = _open(page, "add-site")
        # The source just added is offered, and chosen, without a reload.
        chosen = site_form.locator('select[name="source"] option:checked')
        wait_for(lambda: chosen.count() == 1, 10, "the new source among the choices")
        assert chosen.text_content() == "erp"
        refused = _add(page, "add-site", {"name": "shop", "base_url": store_url}, WRONG)
        wait_for(lambda: refused.inner_text() != "", 30, "the refusal")
        assert refused.inner_text().startswith("WooCommerce answered 401")
        assert "\n" not in refused.inner_text().strip()
        assert "error" in (refused.get_attribute("class") or "")
        with db() as session:
            assert session.scalars(select(Site)).all() == []
        # The keys left the inputs with the post; what else was typed stays for the retry.
        assert _no_password_kept(page)
        assert site_form.locator('[name="name"]').input_value() == "shop"

        site_form.locator('[name="initial_sync"]').check()
        answer = _add(page, "add-site", {}, store_keys)
        wait_for(lambda: "shop added" in answer.inner_text(), 30, "the site")
        assert "webhook product.updated: active" in answer.inner_text()
        assert "first full sync: none until you start one" in answer.inner_text()
        with db() as session:
            site = session.scalars(select(Site)).one()
            source = session.scalars(select(Source)).one()
        assert (site.name, site.source_id, site.awaiting_first_sync) == ("shop", source.id, True)
        card = page.locator(f"#sites #site-{site.id}")
        wait_for(lambda: card.count() == 1, 10, "the new site's card")
        assert card.locator("h2").inner_text() == "shop"
        # The poll fills the new card like the others.
        summary = card.locator(".subscription-summary")
        wait_for(lambda: "active" in summary.inner_text(), 10, "the new card's subscriptions")

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard_add.png"), full_page=True)
        assert _no_password_kept(page)
        shown = page.content() + page.inner_text("body")
        bodies = [answer.text() for answer in answers if not 300 <= answer.status < 400]
        assert len(bodies) > 3
        for secret in {*WRONG.values(), *store_keys.values(), erp_keys["client_secret"]}:
            assert secret not in shown
            assert not any(secret in body for body in bodies), secret


@pytest.mark.slow
def test_the_secret_in_a_sources_manual_steps_is_shown_once(
    page: Page, receiver: str, db: sessionmaker[Session], vault: Vault
) -> None:
    """Zoho has no subscriptions API: the steps to take by hand carry the secret we
    generated, in the answer to the add and nowhere after it."""
    with platform("zoho", receiver) as (erp_url, _):
        keys = DEFAULTS["zoho"].stored_credentials(erp_url)
        _open(page, "add-source").locator("select[name=kind]").select_option("zoho")
        answer = _add(page, "add-source", {"name": "books", "base_url": erp_url}, keys)
        wait_for(lambda: "books added" in answer.inner_text(), 30, "the source")
        with db() as session:
            sealed = session.scalars(select(Source.webhook_secret_sealed)).one()
        assert sealed is not None
        generated = vault.open(sealed)
        steps = answer.locator(".manual-steps li")
        assert steps.count() > 3
        assert generated in answer.inner_text() and "copy it now" in answer.inner_text()
        assert _no_password_kept(page)

        page.reload()
        assert page.locator("#add-site option", has_text="books").count() == 1
        shown = page.content() + page.inner_text("body")
        assert generated not in shown and keys["client_secret"] not in shown
