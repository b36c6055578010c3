"""The webhook owner cache: one database read per owner however many requests arrive
while it is being read, and a stale entry answered while it is read again."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from api import owners as owners_module
from api.intake import Owner
from api.owners import OwnerCache


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


def _cache(monkeypatch: pytest.MonkeyPatch, load: Any) -> tuple[OwnerCache, _Clock]:
    clock = _Clock()
    monkeypatch.setattr(owners_module, "time", clock)
    cache = OwnerCache(sessions=None, vault=None)  # type: ignore[arg-type]  # _load replaced
    monkeypatch.setattr(cache, "_load", load)
    return cache, clock


def _found(version: int) -> Any:
    return Owner("site", 7, 7, 1, True), f"secret-{version}", False


def test_requests_arriving_during_the_first_read_share_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[int] = []
    release = threading.Event()

    def load(kind: str, owner_id: int) -> Any:
        reads.append(owner_id)
        release.wait(5)
        return _found(1)

    cache, _ = _cache(monkeypatch, load)
    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(cache.get, "site", 7) for _ in range(16)]
        threading.Timer(0.2, release.set).start()
        results = [future.result(timeout=10) for future in futures]
    assert reads == [7]
    assert {result[1] for result in results} == {"secret-1"}


def test_an_expired_entry_is_answered_while_one_request_reads_it_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    version = iter([1, 2])
    reading = threading.Event()
    release = threading.Event()

    def load(kind: str, owner_id: int) -> Any:
        found = _found(next(version))
        if found[1] == "secret-2":
            reading.set()
            release.wait(5)
        return found

    cache, clock = _cache(monkeypatch, load)
    assert cache.get("site", 7)[1] == "secret-1"  # type: ignore[index]
    clock.now += owners_module.TTL_SECONDS + 1
    with ThreadPoolExecutor(1) as pool:
        reloading = pool.submit(cache.get, "site", 7)
        assert reading.wait(5)
        # Another request meanwhile: the stale entry, no second read, no wait.
        assert cache.get("site", 7)[1] == "secret-1"  # type: ignore[index]
        release.set()
        assert reloading.result(timeout=5)[1] == "secret-2"  # type: ignore[index]
    assert cache.get("site", 7)[1] == "secret-2"  # type: ignore[index]


def test_a_failed_read_is_not_cached_and_the_next_request_reads_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    outcomes: list[Any] = [RuntimeError("database down"), _found(1)]

    def load(kind: str, owner_id: int) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    cache, _ = _cache(monkeypatch, load)
    with pytest.raises(RuntimeError):
        cache.get("site", 7)
    assert cache.get("site", 7)[1] == "secret-1"  # type: ignore[index]


def test_a_first_read_waits_behind_a_hung_load_for_a_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A load stuck on a hung database does not queue every other request for the same
    owner behind it: they give up after FIRST_READ_WAIT_SECONDS, answered 503 (issue 19
    item 14)."""
    monkeypatch.setattr(owners_module, "FIRST_READ_WAIT_SECONDS", 0.1)
    started, release = threading.Event(), threading.Event()

    def load(kind: str, owner_id: int) -> Any:
        started.set()
        release.wait(10)
        return _found(1)

    cache, _ = _cache(monkeypatch, load)
    with ThreadPoolExecutor(2) as pool:
        loading = pool.submit(cache.get, "site", 7)
        assert started.wait(5)
        waiting = pool.submit(cache.get, "site", 7)
        with pytest.raises(owners_module.OwnerUnavailable):
            waiting.result(timeout=5)
        release.set()
        assert loading.result(timeout=5)[1] == "secret-1"


def test_a_flood_of_unknown_ids_is_held_to_the_cache_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """40,000 distinct unknown ids once grew the web workers' memory for good (issue 19
    item 16): the cache keeps its most recently loaded MAX_ENTRIES, and no lock per id."""
    cache, _ = _cache(monkeypatch, lambda kind, owner_id: None)
    for owner_id in range(40_000):
        assert cache.get("site", owner_id) is None
    assert len(cache) == owners_module.MAX_ENTRIES
    assert not cache._loading
    # The most recent ones are the ones kept.
    monkeypatch.setattr(cache, "_load", lambda kind, owner_id: pytest.fail("read again"))
    assert cache.get("site", 39_999) is None
