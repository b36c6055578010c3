"""The keeper's decisions (sync/subscriptions.py) against a fake platform connection.

The platform is the boundary faked here, so each lapse (disabled, deleted, expiring,
moved, listing down) is set up exactly; the same passes run against the sandboxes over
real HTTP in tests/functional/test_subscriptions_kept.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connectors.errors import TransientError
from connectors.types import ModifiedItem, RemoteSubscription, SubscriptionSpec
from models import EventKind, Site, Subscription, SyncRun, WebhookStatus
from models.crypto import Vault
from models.db import transaction
from settings import Settings
from sync import runs, sites, subscriptions
from sync.context import Context, build_context
from sync.errors import Conflict, Invalid, Unavailable
from tests.factories import make_site, make_source
from tests.factories.webhook_log import log_row
from tests.support.broker import RecordingBroker
from tests.support.stack import FAST

PUBLIC = "https://hooks.example.com"
TOPICS = ("product.updated", "order.created")


class FakeConnection:
    """A platform holding subscriptions in a dict, recording every call."""

    def __init__(self, topics: tuple[str, ...] = TOPICS) -> None:
        self.topics = topics
        self.held: dict[str, RemoteSubscription] = {}
        self.calls: list[tuple[str, str]] = []
        self.secrets: dict[str, str | None] = {}
        #: remote id -> the secret its last update carried
        self.sent: dict[str, str | None] = {}
        self.listing_fails = False
        self._next = 0

    def check(self) -> None:
        self.calls.append(("check", ""))

    def list_subscriptions(self) -> list[RemoteSubscription]:
        if self.listing_fails:
            raise TransientError("fake: 503 from the platform")
        return list(self.held.values())

    def create_subscription(self, spec: SubscriptionSpec) -> RemoteSubscription:
        self._next += 1
        made = RemoteSubscription(str(self._next), spec.topic, spec.url, True)
        self.held[made.remote_id] = made
        self.secrets[made.remote_id] = spec.secret
        self.calls.append(("create", spec.topic))
        return made

    def update_subscription(
        self, remote: RemoteSubscription, spec: SubscriptionSpec
    ) -> RemoteSubscription:
        made = RemoteSubscription(remote.remote_id, spec.topic, spec.url, True)
        self.held[remote.remote_id] = made
        self.sent[remote.remote_id] = spec.secret
        self.calls.append(("update", spec.topic))
        return made

    def delete_subscription(self, remote: RemoteSubscription) -> None:
        self.held.pop(remote.remote_id, None)
        self.calls.append(("delete", remote.topic))

    def manual_steps(self, spec: SubscriptionSpec) -> list[str]:
        return [f"post to {spec.url} with header X-Token: {spec.secret}"]

    def by_topic(self, topic: str) -> RemoteSubscription:
        return next(r for r in self.held.values() if r.topic == topic)


@pytest.fixture
def platform(monkeypatch: pytest.MonkeyPatch) -> FakeConnection:
    fake = FakeConnection()
    monkeypatch.setattr(subscriptions, "build_connection", lambda *a, **k: fake)
    return fake


@pytest.fixture
def keeper(
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    broker: RecordingBroker,
) -> Iterator[Context]:
    with build_context(replace(settings, public_url=PUBLIC), broker, **FAST) as context:
        yield context


@pytest.fixture
def site(db: sessionmaker[Session], vault: Vault) -> int:
    with transaction(db) as session:
        return make_site(session, vault, make_source(session, vault), webhook_secret_sealed=None).id


def _rows(ctx: Context, site_id: int) -> dict[str, Subscription]:
    with ctx.sessions() as session:
        rows = session.scalars(select(Subscription).where(Subscription.site_id == site_id))
        return {row.topic: row for row in rows}


def _heal_runs(ctx: Context, site_id: int) -> list[SyncRun]:
    with ctx.sessions() as session:
        return list(
            session.scalars(
                select(SyncRun).where(SyncRun.site_id == site_id, SyncRun.trigger == "heal")
            )
        )


def test_register_makes_each_topic_once_with_a_generated_secret_it_never_shows(
    keeper: Context, platform: FakeConnection, site: int, vault: Vault
) -> None:
    shown = subscriptions.register(keeper, "site", site)

    assert sorted(platform.calls) == [("create", t) for t in sorted(TOPICS)]
    url = f"{PUBLIC}/webhooks/woocommerce/{site}"
    assert {(s["topic"], s["state"], s["url"]) for s in shown} == {
        (t, "active", url) for t in TOPICS
    }
    with keeper.sessions() as session:
        sealed = session.get(Site, site).webhook_secret_sealed  # type: ignore[union-attr]
    secret = vault.open(sealed)
    assert set(platform.secrets.values()) == {secret} and len(secret) >= 32
    assert secret not in repr(shown)
    # A second pass finds them all in place: no call but the listing.
    platform.calls.clear()
    subscriptions.keep(keeper, "site", site)
    assert platform.calls == [] and _heal_runs(keeper, site) == []


def test_a_disabled_subscription_is_reactivated_and_its_site_reconciled(
    keeper: Context, platform: FakeConnection, site: int, broker: RecordingBroker
) -> None:
    subscriptions.register(keeper, "site", site)
    hook = platform.by_topic("order.created")
    platform.held[hook.remote_id] = replace(hook, active=False)

    subscriptions.keep(keeper, "site", site)

    assert ("update", "order.created") in platform.calls
    assert platform.by_topic("order.created").active
    (run,) = _heal_runs(keeper, site)
    assert broker.sent("start_run") == [run.id]
    row = _rows(keeper, site)["order.created"]
    assert row.state == "active"
    assert row.last_action is not None and "re-activated" in row.last_action
    assert f"reconciled by run {run.id}" in row.last_action


def test_a_site_awaiting_its_first_sync_is_not_written_by_a_heal(
    keeper: Context, platform: FakeConnection, site: int, broker: RecordingBroker
) -> None:
    """Added with --no-initial-sync, a site is written first by an operator's run:
    the keeper re-activates its webhook and starts no run of it."""
    with transaction(keeper.sessions) as session:
        session.get_one(Site, site).awaiting_first_sync = True
    subscriptions.register(keeper, "site", site)
    hook = platform.by_topic("order.created")
    platform.held[hook.remote_id] = replace(hook, active=False)

    subscriptions.keep(keeper, "site", site)

    assert platform.by_topic("order.created").active
    assert _heal_runs(keeper, site) == [] and broker.sent("start_run") == []
    row = _rows(keeper, site)["order.created"]
    assert row.last_action is not None and "not reconciled" in row.last_action


def test_a_deleted_subscription_is_made_again_and_reconciled(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    subscriptions.register(keeper, "site", site)
    platform.held.pop(platform.by_topic("product.updated").remote_id)

    subscriptions.keep(keeper, "site", site)

    assert platform.calls.count(("create", "product.updated")) == 2
    assert "re-created" in (_rows(keeper, site)["product.updated"].last_action or "")
    assert len(_heal_runs(keeper, site)) == 1


def test_a_new_public_url_repoints_every_subscription_without_a_heal(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    subscriptions.register(keeper, "site", site)
    moved = replace(keeper, settings=replace(keeper.settings, public_url="https://new.example"))

    subscriptions.keep(moved, "site", site)

    assert {r.url for r in platform.held.values()} == {
        f"https://new.example/webhooks/woocommerce/{site}"
    }
    assert len(platform.held) == len(TOPICS)
    assert _heal_runs(keeper, site) == []


def test_a_subscription_close_to_expiry_is_renewed(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    subscriptions.register(keeper, "site", site)
    soon = datetime.now(UTC) + timedelta(hours=20)
    later = datetime.now(UTC) + timedelta(days=3)
    hooks = {t: platform.by_topic(t) for t in TOPICS}
    platform.held[hooks["order.created"].remote_id] = replace(
        hooks["order.created"], expires_at=soon
    )
    platform.held[hooks["product.updated"].remote_id] = replace(
        hooks["product.updated"], expires_at=later
    )
    platform.calls.clear()

    subscriptions.keep(keeper, "site", site)

    assert platform.calls == [("update", "order.created")]
    assert "renewed" in (_rows(keeper, site)["order.created"].last_action or "")


def test_a_pass_killed_before_recording_is_not_repeated(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    """The platform holds ours (our URL and topic) but no row says so: adopted."""
    url = f"{PUBLIC}/webhooks/woocommerce/{site}"
    for topic in TOPICS:
        platform.create_subscription(SubscriptionSpec(topic, url, "s"))
    platform.calls.clear()

    subscriptions.register(keeper, "site", site)

    assert platform.calls == []
    assert {row.remote_id for row in _rows(keeper, site).values()} == set(platform.held)


def test_a_platform_that_cannot_be_reached_leaves_the_rows_failed_and_says_why(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    platform.listing_fails = True

    shown = subscriptions.keep(keeper, "site", site)

    assert {s["state"] for s in shown} == {"failed"}
    assert all("503" in (s["last_error"] or "") for s in shown)
    platform.listing_fails = False
    assert {s["state"] for s in subscriptions.keep(keeper, "site", site)} == {"active"}


def test_without_public_url_nothing_is_registered(
    service: Context, platform: FakeConnection, site: int
) -> None:
    assert subscriptions.keep(service, "site", site) == []
    assert platform.calls == []


def test_a_platform_without_a_subscriptions_api_gets_manual_steps(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    platform.topics = ()

    shown = subscriptions.register(keeper, "site", site)
    steps = subscriptions.manual_steps(keeper, "site", site)

    assert [(s["topic"], s["state"]) for s in shown] == [("manual", "manual")]
    assert steps and f"{PUBLIC}/webhooks/woocommerce/{site}" in steps[0]


def test_unregister_deletes_what_we_registered(
    keeper: Context, platform: FakeConnection, site: int
) -> None:
    subscriptions.register(keeper, "site", site)

    with subscriptions.removing(keeper, "site", site):
        pass

    assert platform.held == {}


def test_no_keeper_pass_registers_an_owner_again_while_it_is_being_removed(
    keeper: Context, platform: FakeConnection, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, a pass between the unregistering and the delete made the webhooks again
    (orphans on the platform) or recorded rows for a site that was gone."""
    subscriptions.register(keeper, "site", site)

    with subscriptions.removing(keeper, "site", site):
        monkeypatch.setattr(subscriptions, "LOCK_SECONDS", 0.5)  # not 5 minutes
        with pytest.raises(Conflict):
            subscriptions.keep(keeper, "site", site)

    assert platform.held == {}


def test_shopify_needs_its_client_secret_before_registering(
    keeper: Context, platform: FakeConnection, db: sessionmaker[Session], vault: Vault
) -> None:
    with transaction(db) as session:
        shop = make_site(
            session,
            vault,
            make_source(session, vault),
            platform="shopify",
            webhook_secret_sealed=None,
        ).id
    with pytest.raises(Invalid, match="client secret"):
        subscriptions.register(keeper, "site", shop)
    assert platform.calls == []


def test_the_change_feeds_own_events_are_no_delivery_of_the_platform(
    keeper: Context, platform: FakeConnection, db: sessionmaker[Session], vault: Vault
) -> None:
    """A source's last delivery is the platform's last notice: the feed's and heals'
    rows are ours, and counting them would hide a subscription that stopped."""
    with transaction(db) as session:
        source = make_source(session, vault).id
    subscriptions.register(keeper, "source", source)
    with transaction(db) as session:
        ours = {"provider": "businesscentral", "source_id": source, "sku": None}
        log_row(session, **ours, topic="feed.stock_moved", kind=EventKind.ERP_STOCK_MOVED)
        # Nor refused requests or the unsigned handshake, which anyone can send.
        log_row(session, **ours, topic="items", status=WebhookStatus.REJECTED)
        log_row(session, **ours, topic="handshake", kind=None, status=WebhookStatus.IGNORED)
    assert {row["last_delivery_at"] for row in subscriptions.keep(keeper, "source", source)} == {
        None
    }

    with transaction(db) as session:
        notice = log_row(session, **ours, topic="items", kind=EventKind.ERP_ITEM_CHANGED)
    kept = subscriptions.keep(keeper, "source", source)
    assert {datetime.fromisoformat(row["last_delivery_at"]) for row in kept} == {notice.received_at}


def test_a_secret_of_the_wrong_shape_fails_its_rows_and_says_what_to_do(
    keeper: Context, platform: FakeConnection, db: sessionmaker[Session], vault: Vault
) -> None:
    """An object secret without the key WooCommerce's webhooks carry: before, a
    ValueError from the connector answered `sites add` with a 500."""
    with transaction(db) as session:
        source = make_source(session, vault)
        site = make_site(session, vault, source, webhook_secret_sealed=vault.seal({"x": "y"})).id

    shown = subscriptions.register(keeper, "site", site)

    assert {row["state"] for row in shown} == {"failed"} and platform.calls == []
    assert all(
        f"set it again (stocksync sites set-secret {site})" in r["last_error"] for r in shown
    )


def test_one_owner_crashing_does_not_stop_the_pass_over_the_others(
    keeper: Context,
    platform: FakeConnection,
    db: sessionmaker[Session],
    vault: Vault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with transaction(db) as session:
        source = make_source(session, vault)
        first = make_site(session, vault, source, name="first", webhook_secret_sealed=None).id
        second = make_site(session, vault, source, name="second", webhook_secret_sealed=None).id
    listing = platform.list_subscriptions
    calls = iter([KeyError("data"), None, None])

    def flaky() -> list[RemoteSubscription]:
        error = next(calls, None)
        if error is not None:
            raise error
        return listing()

    monkeypatch.setattr(platform, "list_subscriptions", flaky)

    # Sources go first: the source's pass crashes, and both sites are still kept.
    assert subscriptions.keep_all(keeper)["failed"] == 1
    assert all(_rows(keeper, site) for site in (first, second))
    with keeper.sessions() as session:
        assert (
            session.scalars(select(Subscription).where(Subscription.source_id.is_not(None))).all()
            == []
        )


def test_a_pass_out_of_time_leaves_the_rest_first_in_line_for_the_next(
    keeper: Context,
    platform: FakeConnection,
    db: sessionmaker[Session],
    vault: Vault,
) -> None:
    """Before, one pass went through every owner in id order inside the task's time
    limit: platforms hanging to their timeouts cut it short at the same place every
    time, and the owners after them were never kept."""
    with transaction(db) as session:
        source = make_source(session, vault)
        checked = make_site(session, vault, source, name="checked", webhook_secret_sealed=None)
        waiting = make_site(session, vault, source, name="waiting", webhook_secret_sealed=None)
        ids = (source.id, checked.id, waiting.id)
    subscriptions.keep(keeper, "source", ids[0])
    subscriptions.keep(keeper, "site", ids[1])
    ticks = iter(range(100))  # a second per look at the clock

    # Time for one owner: the one never checked goes first.
    summary = subscriptions.keep_all(keeper, 1.5, lambda: next(ticks))

    assert summary == {"sites": 2, "sources": 1, "failed": 0, "deferred": 2}
    assert _rows(keeper, ids[2])


def test_a_heal_the_broker_refused_is_still_due_at_the_next_pass(
    keeper: Context,
    platform: FakeConnection,
    site: int,
    broker: RecordingBroker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, the mend was recorded and the heal started after: a keeper killed or
    refused in between forgot the lapse, and what it missed waited for 02:00."""
    subscriptions.register(keeper, "site", site)
    hook = platform.by_topic("order.created")
    platform.held[hook.remote_id] = replace(hook, active=False)

    def down(*args: object, **kwargs: object) -> int:
        raise Unavailable("the broker cannot be reached")

    with monkeypatch.context() as patched:
        patched.setattr(runs, "start_run", down)
        with pytest.raises(Unavailable):
            subscriptions.keep(keeper, "site", site)
    assert _rows(keeper, site)["order.created"].heal_due_at is not None
    assert _heal_runs(keeper, site) == []

    subscriptions.keep(keeper, "site", site)  # nothing lapsed now; the heal still due

    (run,) = _heal_runs(keeper, site)
    row = _rows(keeper, site)["order.created"]
    assert row.heal_due_at is None and f"reconciled by run {run.id}" in (row.last_action or "")


def test_a_new_secret_not_yet_given_to_the_platform_is_given_by_the_next_pass(
    keeper: Context,
    platform: FakeConnection,
    site: int,
    vault: Vault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The secret is committed before the platform is told: killed in between, every
    delivery would have been refused until the subscription's next renewal."""
    subscriptions.register(keeper, "site", site)
    monkeypatch.setattr(sites, "after_secret_change", lambda *args: {})  # killed here

    rotated = sites.update_site(keeper, site, {"rotate_webhook_secret": True})
    assert all(row.secret_due_at is not None for row in _rows(keeper, site).values())
    assert ("update", TOPICS[0]) not in platform.calls

    subscriptions.keep(keeper, "site", site)

    assert sorted(c for c in platform.calls if c[0] == "update") == [
        ("update", t) for t in sorted(TOPICS)
    ]
    assert set(platform.sent.values()) == {rotated["webhook_secret"]}
    assert all(row.secret_due_at is None for row in _rows(keeper, site).values())


class EditedErp:
    """An ERP whose items list says one item was edited at `at`."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def modified_since(self, since: datetime) -> Iterator[ModifiedItem]:
        return iter([ModifiedItem("SKU-1", self.at)] if self.at > since else [])


def test_a_renewal_does_not_excuse_a_subscription_that_missed_an_edit_before_it(
    keeper: Context,
    platform: FakeConnection,
    db: sessionmaker[Session],
    vault: Vault,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, any keeper action (a renewal, a new secret) reset the silence check's
    baseline, so a subscription renewed while silent was never found out."""
    with transaction(db) as session:
        source = make_source(session, vault).id
    subscriptions.register(keeper, "source", source)
    now = keeper.clock()
    with transaction(db) as session:
        for row in session.scalars(select(Subscription).where(Subscription.source_id == source)):
            row.created_at = now - timedelta(hours=2)
            row.last_action, row.last_action_at = "renewed: ...", now - timedelta(minutes=1)
    monkeypatch.setattr(Context, "source", lambda self, row: EditedErp(now - timedelta(minutes=30)))

    subscriptions.keep(keeper, "source", source)

    rows = subscriptions.describe(keeper, "source", source)
    assert all(row["last_action"].startswith("re-created: silent: item SKU-1") for row in rows)
