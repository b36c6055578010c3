"""What every service function needs (database, Redis, vault, connectors, a broker).

One `Context` per process and settings: the workers build theirs lazily
(workers/context.py), the web app and the CLI one each (api/resources.py,
cli/services.py). It holds connections and factories, never per-request state.

`broker` is how the service layer queues work without knowing Celery: a small
interface that workers/broker.py implements on the Celery app and its Redis. So `sync/` starts a
run, resumes one or replays an event itself, and every door (route, command, task,
beat, demo) gets the same behaviour by calling the same function.

Every wait the service layer chooses lives here too (`pacing`, `backoff_base_seconds`,
`delivery_schedule`, `limit_max_wait`, `listing_slice_seconds`), so a test builds a
context with short ones instead of patching constants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from connectors.interfaces import InventorySource, Metered, Storefront
from connectors.registry import build_source, build_storefront
from models import Platform, Site, Source
from models.crypto import Vault
from models.db import make_engine, make_sessionmaker
from settings import Settings
from sync import retry
from sync.cost_points import PLATFORM_POINTS, PointsBudget
from sync.limits import (
    MAX_WAIT_SECONDS,
    Limit,
    Priority,
    budget_label,
    budget_owner,
    quota_for,
)
from sync.pacing import Pacing, gate_connector
from sync.tokens import RedisTokenCache


class Broker(Protocol):
    """Queues the tasks the service layer starts, and says what is waiting. Each method
    raises `sync.errors.Unavailable` when the broker cannot be reached. Tasks are
    queued only after the rows they name are committed (docs/style.md rule 5): the
    row, not the message, is the record."""

    def queue_start(self, run_id: int, kind: str, countdown: float = 0) -> None:
        """The task that begins a run: refresh the catalog, cut and queue batches;
        after `countdown` seconds when it waits for another run's work."""

    def queue_batches(self, batch_ids: Iterable[int], kind: str) -> None:
        """One task per full-sync batch, at the run kind's priority."""

    def queue_deliveries(self, delivery_ids: Iterable[int], countdown: float = 0) -> None:
        """An attempt of each lifecycle event delivery."""

    def queue_event(self, row_id: int) -> None:
        """Processing of one webhook log row."""

    def depths(self) -> dict[str, Any]:
        """`{"queues": {name: messages waiting}, "unacked": handed out, not acked}`."""

    def close(self) -> None:
        """Release the broker connections this broker opened (with its context)."""


@dataclass
class Context:
    """Connections and connector factories of one process (see the module docstring)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis
    vault: Vault
    broker: Broker
    #: In-place retries of throttled store requests (sync/pacing.py).
    pacing: Pacing = field(default_factory=Pacing)
    #: Base of the task-level retry backoff (sync/retry.py).
    backoff_base_seconds: float = retry.BACKOFF_BASE_SECONDS
    #: Longest wait of a real-time request for a place in a shared budget before its
    #: task retries (a bulk one waits out the platform's window, sync/limits.py).
    limit_max_wait: float = MAX_WAIT_SECONDS
    delivery_schedule: tuple[float, ...] = retry.DELIVERY_SCHEDULE
    #: Longest a start task lists (the store's catalog, then the source's items)
    #: before handing the rest to a new task (sync/catalog.py, sync/erp_reads.py, both
    #: resumable): well inside the sync tasks' soft time limit of 840 s
    #: (workers/presets.py), so a 200,000-SKU listing is never killed midway.
    listing_slice_seconds: float = 600.0
    #: How soon a run whose source another run is reading looks again.
    erp_read_poll_seconds: float = 5.0
    #: Budget names already worked out, by (platform or ERP, base URL, sealed
    #: credentials): see `budget_owner`.
    _owners: dict[tuple[str, str, str], str] = field(default_factory=dict, init=False, repr=False)

    @property
    def token_cache(self) -> RedisTokenCache:
        return RedisTokenCache(self.redis)

    def storefront(self, site: Site, priority: Priority = Priority.REAL_TIME) -> Storefront:
        """The site's connector, every request of it paced by the site's shared budget:
        `Priority.BULK` for a full sync's work, which leaves real-time work its share."""
        credentials = self.vault.open(site.credentials_sealed)
        store = build_storefront(
            str(site.platform), site.base_url, credentials, token_cache=self.token_cache
        )
        gate_connector(store, self.limit(site, priority, credentials), self.pacing)
        if isinstance(store, Metered):
            store.meter = self.points(site, priority, credentials)
        return store

    def source(self, source: Source, priority: Priority = Priority.REAL_TIME) -> InventorySource:
        """The source's connector, paced by the source's shared budget like a store's;
        short throttles (BC's 429/503 with `Retry-After`, docs/platforms.md section 7)
        are retried in place."""
        credentials = self.vault.open(source.credentials_sealed)
        erp = build_source(
            str(source.kind),
            source.base_url,
            credentials,
            token_cache=self.token_cache,
            clock=self.clock,
        )
        gate_connector(erp, self.limit(source, priority, credentials), self.pacing)
        return erp

    def clock(self) -> datetime:
        """PostgreSQL's wall clock: the one clock every ERP reading is dated by.

        "An older reading never overwrites a newer one" compares readings taken by
        workers on different hosts; their own clocks may disagree by seconds, the
        database's is the same for all. `clock_timestamp()`, not `now()`: the time of
        this call, not of a transaction's start.
        """
        with self.engine.connect() as connection:
            stamp: datetime = connection.execute(select(func.clock_timestamp())).scalar_one()
        return stamp

    def limit(
        self,
        owner: Site | Source,
        priority: Priority = Priority.REAL_TIME,
        credentials: Mapping[str, str] | None = None,
    ) -> Limit:
        """The shared budget of a site's store or a source's ERP (sync/limits.py), kept
        per platform account: rows on one account share it. `credentials`: the row's,
        already opened by the caller (the vault is opened once per connector)."""
        return Limit(
            self.redis,
            self.budget_owner(owner, credentials),
            quota_for(owner),
            priority=priority,
            max_wait=self.limit_max_wait,
            label=budget_label(owner),
        )

    def points(
        self,
        site: Site,
        priority: Priority = Priority.REAL_TIME,
        credentials: Mapping[str, str] | None = None,
    ) -> PointsBudget | None:
        """The shop's shared cost-point budget where its platform limits by calculated
        query cost (Shopify, sync/cost_points.py); None for the others. `credentials`
        as for `limit`."""
        default = PLATFORM_POINTS.get(Platform(site.platform))
        if default is None:
            return None
        return PointsBudget(
            self.redis,
            self.budget_owner(site, credentials),
            default,
            priority=priority,
            max_wait=self.limit_max_wait,
            label=budget_label(site),
        )

    def budget_owner(
        self, owner: Site | Source, credentials: Mapping[str, str] | None = None
    ) -> str:
        """The name the row's budgets are kept under (sync/limits.py `budget_owner`),
        worked out once per sealed credentials in this process: the dashboard's overview
        reads every site's budgets at each poll and opened the vault three times per
        Shopify site for a name that changes only with the credentials (new credentials
        are a new sealed value, so a new key). The name is a hash of the account's
        identity, never a secret."""
        platform = owner.platform if isinstance(owner, Site) else owner.kind
        key = (str(platform), owner.base_url, owner.credentials_sealed)
        name = self._owners.get(key)
        if name is None:
            opened = credentials or self.vault.open(owner.credentials_sealed)
            name = self._owners[key] = budget_owner(owner, opened)
        return name

    def backoff(self, attempt: int, hint: float | None) -> float:
        """Countdown before task retry `attempt`: the retry curve at our base.

        The server's hint is a floor and the cap stays far below the visibility timeout.
        """
        scale = self.backoff_base_seconds / retry.BACKOFF_BASE_SECONDS
        delay = retry.backoff_seconds(attempt) * scale
        return min(max(delay, hint or 0.0), retry.BACKOFF_CAP_SECONDS)

    def dispose(self) -> None:
        self.broker.close()
        self.engine.dispose()
        self.redis.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *_: object) -> None:
        self.dispose()


def build_context(
    settings: Settings,
    broker: Broker,
    *,
    engine: Engine | None = None,
    redis_client: redis.Redis | None = None,
    **options: Any,
) -> Context:
    """A context on `settings` (resolved: service URLs and keys filled in).

    `engine` and `redis_client` let a caller choose its own timeouts (the web app
    answers 503 fast instead of waiting on a dead server); by default plain ones.
    """
    if not settings.database_url or not settings.redis_url:
        raise ValueError("build_context needs resolved settings (database_url, redis_url)")
    engine = engine or make_engine(settings.database_url)
    return Context(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        redis=redis_client or redis.Redis.from_url(settings.redis_url),
        vault=Vault(settings.encryption_keys),
        broker=broker,
        **options,
    )
