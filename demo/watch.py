"""Time each ERP change until every store has it: latency as a merchant sees it.

From the moment the ERP's stock changed to the moment the store confirmed the new
number, through everything in between (the ERP's notification, the receiver, the
relay, the 5-second window, a worker, the store's API). The end is the store's 200 as
stocksync recorded it (`items.last_synced_at`, written right after the store answered,
with the quantity it wrote): exact, and read with one query, where reading 20,000-SKU
stock maps back from three stores every fraction of a second would load the very
machine being measured. The final comparison (demo/summary.py) then reads the stores
themselves, so a value recorded but not really held would still show.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Item


class ErpChanges:
    """Expected (store, SKU) values, each with the time the ERP took it."""

    def __init__(self, site_ids: Mapping[str, int]) -> None:
        self.site_ids = dict(site_ids)
        #: (site id, sku) -> (expected quantity, epoch seconds of the ERP change)
        self._expected: dict[tuple[int, str], tuple[int, float]] = {}

    def expect(self, platform: str, sku: str, value: int, changed_at: float) -> None:
        """`platform` should come to hold `value` for `sku`; the ERP changed at
        `changed_at`. A later expectation for the same pair replaces the earlier one:
        after a burst, only the last value counts, timed from the last change."""
        self._expected[(self.site_ids[platform], sku)] = (value, changed_at)

    def written(self, sessions: sessionmaker[Session]) -> dict[tuple[int, str], float]:
        """Seconds from ERP change to store write, for each pair written as expected."""
        by_site: dict[int, list[str]] = {}
        for site_id, sku in self._expected:
            by_site.setdefault(site_id, []).append(sku)
        out = {}
        with sessions() as session:
            # One `sku IN (...)` per site, not `(site_id, sku) IN (...)`: PostgreSQL
            # tests a row against a list of pairs one pair at a time, which on 100,000
            # unanalysed rows and 1,000 pairs took 3.2 s of its CPU per poll (the load
            # slowed the very events being timed); a list of scalars it hashes (34 ms).
            for site_id, skus in by_site.items():
                rows = session.execute(
                    select(Item.sku, Item.quantity, Item.last_synced_at).where(
                        Item.site_id == site_id, Item.sku.in_(skus)
                    )
                )
                for sku, quantity, synced_at in rows:
                    value, changed_at = self._expected[(site_id, sku)]
                    if quantity == value and isinstance(synced_at, datetime):
                        out[(site_id, sku)] = synced_at.timestamp() - changed_at
        return out

    def wait(self, sessions: sessionmaker[Session], timeout: float) -> list[float]:
        """Poll until every expected value is written (or `timeout` s); the latencies."""
        deadline = time.monotonic() + timeout
        while len(done := self.written(sessions)) < len(self._expected):
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        return list(done.values())

    def __len__(self) -> int:
        return len(self._expected)
