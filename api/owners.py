"""Who a webhook URL names, and their secret, cached per process for a few seconds.

Looking the site up and decrypting its secret on every request cost about a seventh of
the receiver's time (bench/ingest.py profile). A change made through the CLI or admin
API (a paused site) is seen within `TTL_SECONDS`, a rotated secret at the first delivery
it signs (`reload`); an unknown id is
cached too, so a flood at a wrong URL costs no database reads. The cache holds the
`MAX_ENTRIES` most recently loaded owners: 40,000 requests to distinct unknown ids once
grew the web workers' memory for good (issue 19 item 16).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.intake import Owner
from models import Site, Source
from models.crypto import Vault, VaultError

TTL_SECONDS = 5.0
#: A failed signature reads the owner again once its entry is this old (`reload`).
RELOAD_AFTER_SECONDS = 1.0
#: Far more sites and sources than one hub serves; past it the least recently loaded
#: entry goes (it costs one read when next asked for).
MAX_ENTRIES = 10_000
#: The longest a request waits for another request's load of the entry it needs: a
#: little over one read's bound (api/resources.py RECEIVER_WAIT_SECONDS), so a hung
#: database gets this request a 503 instead of a place in a queue behind the loader.
FIRST_READ_WAIT_SECONDS = 2.0

#: (owner, decrypted secret or None, whether the secret failed to decrypt)
Found = tuple[Owner, Any, bool]


class OwnerUnavailable(Exception):
    """Another request's load of this owner did not finish in time: our outage (503)."""


class OwnerCache:
    def __init__(self, sessions: sessionmaker[Session], vault: Vault) -> None:
        self.sessions = sessions
        self.vault = vault
        #: In load order, oldest first (a dict keeps insertion order): `_store` evicts
        #: from the front.
        self._entries: dict[tuple[str, int], tuple[float, Found | None]] = {}
        self._evicting = threading.Lock()
        #: One loader per key, held while it loads and dropped after. Without it every
        #: request arriving while an entry was being reloaded loaded it too: under load,
        #: a herd of reads every few seconds.
        self._loading: dict[tuple[str, int], threading.Lock] = {}

    def __len__(self) -> int:
        """Entries held (at most MAX_ENTRIES)."""
        return len(self._entries)

    def get(self, kind: str, owner_id: int) -> Found | None:
        """The owner and its secret; None if no such site/source. Raises SQLAlchemyError,
        or OwnerUnavailable after FIRST_READ_WAIT_SECONDS behind another load.

        An expired entry is still answered while another request reloads it, so a
        change is seen within `TTL_SECONDS` plus one read.
        """
        key = (kind, owner_id)
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < TTL_SECONDS:
            return entry[1]
        lock = self._loading.setdefault(key, threading.Lock())
        if entry is not None and not lock.acquire(blocking=False):
            return entry[1]  # stale, being reloaded by another request
        if entry is None and not lock.acquire(timeout=FIRST_READ_WAIT_SECONDS):
            raise OwnerUnavailable(f"{kind} {owner_id} still loading")
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < TTL_SECONDS:
            self._unlock(key, lock)
            return entry[1]  # loaded by the request this one waited for
        return self._load_holding(key, lock)

    def reload(self, kind: str, owner_id: int) -> Found | None:
        """The owner read again, if its entry is older than `RELOAD_AFTER_SECONDS`; else
        None. For a signature that fails against the cached secret: a secret rotated
        seconds ago (and given to the platform at once) is not refused for the rest of
        the TTL, while a flood of forged requests costs one read a second at most."""
        key = (kind, owner_id)
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] < RELOAD_AFTER_SECONDS:
            return None
        lock = self._loading.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            return None  # another request is reloading it
        return self._load_holding(key, lock)

    def _load_holding(self, key: tuple[str, int], lock: threading.Lock) -> Found | None:
        """Load and store the entry under `lock`, which this request holds; released
        after, whatever happens."""
        try:
            found = self._load(*key)
            self._store(key, found)
            return found
        finally:
            self._unlock(key, lock)

    def _unlock(self, key: tuple[str, int], lock: threading.Lock) -> None:
        lock.release()
        # A request still waiting on this lock finds the entry loaded; one arriving now
        # makes a new lock. At worst two loads of one key, never a lock per id.
        self._loading.pop(key, None)

    def _store(self, key: tuple[str, int], found: Found | None) -> None:
        with self._evicting:
            self._entries.pop(key, None)  # to the back: the most recently loaded
            self._entries[key] = (time.monotonic(), found)
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]

    def _load(self, kind: str, owner_id: int) -> Found | None:
        with self.sessions() as session:
            row: Site | Source | None
            if kind == "site":
                row = session.get(Site, owner_id)
                if row is None:
                    return None
                owner = Owner(
                    "site", row.id, row.id, row.source_id, row.active and row.webhooks_active
                )
            else:
                row = session.get(Source, owner_id)
                if row is None:
                    return None
                owner = Owner("source", row.id, None, row.id, row.webhooks_active)
            sealed = row.webhook_secret_sealed
        if sealed is None:
            return owner, None, False
        try:
            return owner, self.vault.open(sealed), False
        except VaultError:
            return owner, None, True
