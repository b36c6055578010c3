"""The accept path's writer: rows of concurrent requests share commits, each request
still gets its own row's id, and a retried delivery in a batch costs only itself: the
delivery-id memory is consulted by the batch's one statement."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, text

from api import intake
from api.intake import COLUMNS, IntakeUnavailable, IntakeWriter
from models import WebhookLog, WebhookStatus
from models.db import make_engine
from tests.support.receiver import Owners


def test_insert_columns_exist_and_cover_every_required_column() -> None:
    table = WebhookLog.__table__
    assert set(COLUMNS) <= set(table.columns.keys())
    required = {
        column.name
        for column in table.columns
        if not column.nullable and column.server_default is None and not column.primary_key
    }
    assert required <= set(COLUMNS), required - set(COLUMNS)


def _row(site_id: int, delivery: str) -> dict[str, Any]:
    return {
        "provider": "shopify",
        "site_id": site_id,
        "topic": "products/update",
        "delivery_id": delivery,
        "entity": delivery,
        "payload": {"delivery": delivery},
    }


def _record_all(
    writer: IntakeWriter, site_id: int, deliveries: list[str]
) -> dict[str, tuple[WebhookStatus, int]]:
    """Record every delivery from its own thread, all released at once."""
    start = threading.Barrier(len(deliveries))

    def one(delivery: str) -> tuple[WebhookStatus, int]:
        start.wait()
        return writer.record(_row(site_id, delivery), WebhookStatus.RECEIVED)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        return dict(zip(deliveries, pool.map(one, deliveries), strict=True))


def _stored(engine: Engine) -> dict[int, tuple[str, str, str]]:
    """id -> (delivery, status, transaction id) of every logged row."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, delivery_id, status, xmin::text FROM webhook_log")
        ).all()
    return {row.id: (row.delivery_id, row.status, row.xmin) for row in rows}


def test_concurrent_rows_share_commits_and_each_request_gets_its_own_id(
    engine: Engine, owners: Owners
) -> None:
    writer = IntakeWriter(engine)
    deliveries = [f"delivery-{i}" for i in range(64)]
    results = _record_all(writer, owners.shopify, deliveries)
    stored = _stored(engine)
    assert len(stored) == 64
    for delivery, (status, row_id) in results.items():
        assert status is WebhookStatus.RECEIVED
        assert stored[row_id][:2] == (delivery, "received")
    # Grouped: fewer transactions than rows (one per request before).
    assert len({xid for _, _, xid in stored.values()}) < 64


def test_a_batch_over_the_statement_limit_is_written_in_parts(
    engine: Engine, owners: Owners, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "MAX_BATCH", 4)
    writer = IntakeWriter(engine)
    deliveries = [f"delivery-{i}" for i in range(32)]
    results = _record_all(writer, owners.shopify, deliveries)
    stored = _stored(engine)
    assert {delivery: stored[row_id][0] for delivery, (_, row_id) in results.items()} == {
        delivery: delivery for delivery in deliveries
    }
    per_transaction = Counter(xid for _, _, xid in stored.values())
    assert max(per_transaction.values()) <= 4


def test_a_retried_delivery_in_a_batch_is_the_only_duplicate(
    engine: Engine, owners: Owners
) -> None:
    writer = IntakeWriter(engine)
    writer.record(_row(owners.shopify, "seen"), WebhookStatus.RECEIVED)
    deliveries = ["seen", *(f"new-{i}" for i in range(31))]
    results = _record_all(writer, owners.shopify, deliveries)
    stored = _stored(engine)
    assert results["seen"][0] is WebhookStatus.DUPLICATE
    assert stored[results["seen"][1]][:2] == ("seen", "duplicate")
    for delivery in deliveries[1:]:
        status, row_id = results[delivery]
        assert status is WebhookStatus.RECEIVED
        assert stored[row_id][:2] == (delivery, "received")
    assert len(stored) == 33


def test_a_row_for_a_deleted_owner_is_logged_and_costs_no_other_row(
    engine: Engine, owners: Owners
) -> None:
    # The receiver caches owners for seconds: a request for a site or source deleted
    # meanwhile must not fail the commit it shares (it did, with foreign keys: 503s).
    writer = IntakeWriter(engine)
    deliveries = [f"delivery-{i}" for i in range(16)]
    start = threading.Barrier(len(deliveries))

    def one(delivery: str) -> tuple[WebhookStatus, int]:
        row = _row(owners.shopify, delivery)
        if delivery == "delivery-0":
            row |= {"site_id": 987_654, "source_id": 876_543}  # no such site or source
        start.wait()
        return writer.record(row, WebhookStatus.RECEIVED)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        results = list(pool.map(one, deliveries))
    stored = _stored(engine)
    assert [status for status, _ in results] == [WebhookStatus.RECEIVED] * 16
    assert sorted(delivery for delivery, _, _ in stored.values()) == sorted(deliveries)
    with engine.connect() as conn:
        orphan = conn.execute(
            text("SELECT site_id, source_id FROM webhook_log WHERE delivery_id = 'delivery-0'")
        ).one()
    assert tuple(orphan) == (987_654, 876_543)


def test_a_delivery_twice_in_one_batch_is_written_once_and_logged_once_as_duplicate(
    engine: Engine, owners: Owners
) -> None:
    writer = IntakeWriter(engine)
    rows = [_row(owners.shopify, d) for d in ("a", "twice", "b", "twice", "c")]
    pending = [intake._Pending({**row, "status": WebhookStatus.RECEIVED}) for row in rows]
    writer._write(pending)  # one batch, as the writer thread would take them
    stored = _stored(engine)
    assert [stored[p.row_id][:2] for p in pending] == [
        ("a", "received"),
        ("twice", "received"),
        ("b", "received"),
        ("twice", "duplicate"),
        ("c", "received"),
    ]
    assert [p.status for p in pending].count(WebhookStatus.DUPLICATE) == 1


def test_a_retry_storm_is_logged_in_shared_commits_not_row_by_row(
    engine: Engine, owners: Owners
) -> None:
    """After an outage of ours every platform redelivers: each retry is a duplicate,
    and the batch they arrive in costs one statement, not one per row."""
    writer = IntakeWriter(engine)
    deliveries = [f"delivery-{i}" for i in range(64)]
    _record_all(writer, owners.shopify, deliveries)
    first = set(_stored(engine))
    retried = _record_all(writer, owners.shopify, deliveries)
    assert {status for status, _ in retried.values()} == {WebhookStatus.DUPLICATE}
    stored = _stored(engine)
    retries = {row_id: row for row_id, row in stored.items() if row_id not in first}
    assert sorted(delivery for delivery, _, _ in retries.values()) == sorted(deliveries)
    assert {status for _, status, _ in retries.values()} == {"duplicate"}
    assert len({xid for _, _, xid in retries.values()}) < 32


def test_database_unreachable_fails_each_request_fast_and_the_writer_lives_on() -> None:
    writer = IntakeWriter(
        make_engine("postgresql+psycopg2://postgres@127.0.0.1:1/none", connect_timeout=1),
        timeout=10,
    )
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(IntakeUnavailable):
            writer.record(_row(1, "lost"), WebhookStatus.RECEIVED)
        # Failed by the writer, not by the 10 s wait running out: it is still alive.
        assert time.monotonic() - started < 5


def test_a_write_that_hangs_answers_503_in_time_and_its_row_is_kept_once_it_ends(
    engine: Engine, owners: Owners, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = IntakeWriter(engine, timeout=0.5)
    release = threading.Event()
    insert = writer._insert

    def hung(rows_json: str) -> list[tuple[Any, ...]]:
        release.wait()  # PostgreSQL not answering
        return insert(rows_json)

    monkeypatch.setattr(writer, "_insert", hung)
    started = time.monotonic()
    with pytest.raises(IntakeUnavailable, match=r"not written within 0\.5 s"):
        writer.record(_row(owners.shopify, "slow"), WebhookStatus.RECEIVED)
    assert time.monotonic() - started < 5
    release.set()
    # The row is committed after all; the platform's retry then finds it.
    status, _ = writer.record(_row(owners.shopify, "slow"), WebhookStatus.RECEIVED)
    assert status is WebhookStatus.DUPLICATE
    assert sorted(status for _, status, _ in _stored(engine).values()) == [
        "duplicate",
        "received",
    ]


def _terminate_writer_connection(engine: Engine, writer: IntakeWriter) -> None:
    """What a PostgreSQL restart does to the writer's connection."""
    pid = writer._connection.dbapi_connection.get_backend_pid()
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_connection_dropped_while_busy_costs_one_batch_then_a_new_one_is_opened(
    engine: Engine, owners: Owners
) -> None:
    writer = IntakeWriter(engine)
    writer.record(_row(owners.shopify, "before"), WebhookStatus.RECEIVED)
    _terminate_writer_connection(engine, writer)
    with pytest.raises(IntakeUnavailable):  # 503: the platform retries it
        writer.record(_row(owners.shopify, "lost"), WebhookStatus.RECEIVED)
    status, _ = writer.record(_row(owners.shopify, "after"), WebhookStatus.RECEIVED)
    assert status is WebhookStatus.RECEIVED
    assert sorted(delivery for delivery, _, _ in _stored(engine).values()) == ["after", "before"]


def test_a_connection_dropped_while_idle_is_replaced_before_the_next_insert(
    engine: Engine, owners: Owners, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = IntakeWriter(engine)
    writer.record(_row(owners.shopify, "before"), WebhookStatus.RECEIVED)
    _terminate_writer_connection(engine, writer)
    monkeypatch.setattr(intake, "PING_AFTER_IDLE_SECONDS", 0.0)
    status, _ = writer.record(_row(owners.shopify, "after"), WebhookStatus.RECEIVED)
    assert status is WebhookStatus.RECEIVED
    assert len(_stored(engine)) == 2


def test_batches_reuse_one_connection(engine: Engine, owners: Owners) -> None:
    writer = IntakeWriter(engine)
    backends = set()
    for i in range(5):
        writer.record(_row(owners.shopify, f"d{i}"), WebhookStatus.RECEIVED)
        backends.add(writer._connection.dbapi_connection.get_backend_pid())
    assert len(backends) == 1


def _prepared_runs(writer: IntakeWriter) -> int:
    """How many times the writer's session ran its prepared INSERT (0: not prepared)."""
    with writer._connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE name = %s",
            (intake.PREPARED,),
        )
        found = cursor.fetchone()
    return found[0] if found else 0


def test_every_batch_runs_the_prepared_insert_also_after_a_reconnect(
    engine: Engine, owners: Owners
) -> None:
    writer = IntakeWriter(engine)
    for i in range(3):
        writer.record(_row(owners.shopify, f"d{i}"), WebhookStatus.RECEIVED)
    assert _prepared_runs(writer) == 3
    _terminate_writer_connection(engine, writer)
    with pytest.raises(IntakeUnavailable):
        writer.record(_row(owners.shopify, "lost"), WebhookStatus.RECEIVED)
    writer.record(_row(owners.shopify, "after"), WebhookStatus.RECEIVED)
    assert _prepared_runs(writer) == 1


def test_a_session_that_lost_the_prepared_insert_goes_on_writing_unprepared(
    engine: Engine, owners: Owners, caplog: pytest.LogCaptureFixture
) -> None:
    """As behind a pooler in transaction mode, or after DISCARD ALL: no 503, no row
    written twice."""
    writer = IntakeWriter(engine)
    writer.record(_row(owners.shopify, "before"), WebhookStatus.RECEIVED)
    with writer._connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    for delivery in ("after", "later"):
        status, _ = writer.record(_row(owners.shopify, delivery), WebhookStatus.RECEIVED)
        assert status is WebhookStatus.RECEIVED
    assert sorted(d for d, _, _ in _stored(engine).values()) == ["after", "before", "later"]
    assert [r.message for r in caplog.records].count("webhook.log_writer_unprepared") == 1


def test_a_delivery_id_is_remembered_per_owner_sites_and_sources_alike(
    engine: Engine, owners: Owners
) -> None:
    """ERP rows name a source and no site: keyed on the site alone, they never matched."""
    writer = IntakeWriter(engine)
    site_a = _row(owners.shopify, "same")
    site_b = {**site_a, "site_id": owners.standard}
    source = {**site_a, "provider": "businesscentral", "site_id": None}
    source["source_id"] = owners.businesscentral
    other_source = {**source, "source_id": owners.zoho}
    statuses = [
        writer.record(row, WebhookStatus.RECEIVED)[0]
        for row in (site_a, site_b, source, other_source, site_a, source)
    ]
    received, duplicate = WebhookStatus.RECEIVED, WebhookStatus.DUPLICATE
    assert statuses == [received] * 4 + [duplicate] * 2


def test_writers_of_several_processes_racing_on_the_same_ids_accept_each_once(
    engine: Engine, owners: Owners
) -> None:
    """Each web process has its own writer and connection: their batches wait on each
    other's uncommitted ids, and insert them in one order, so they neither both accept
    an id nor deadlock."""
    writers = [IntakeWriter(engine) for _ in range(4)]
    deliveries = [f"delivery-{i % 24}" for i in range(96)]  # each id four times
    start = threading.Barrier(len(deliveries))

    def one(index: int) -> tuple[WebhookStatus, int]:
        start.wait()
        row = _row(owners.shopify, deliveries[index])
        return writers[index % 4].record(row, WebhookStatus.RECEIVED)

    with ThreadPoolExecutor(len(deliveries)) as pool:
        results = list(pool.map(one, range(len(deliveries))))
    accepted = Counter(
        deliveries[i] for i, (status, _) in enumerate(results) if status is WebhookStatus.RECEIVED
    )
    assert accepted == Counter({f"delivery-{i}": 1 for i in range(24)})
    stored = _stored(engine)
    assert Counter(status for _, status, _ in stored.values()) == {"received": 24, "duplicate": 72}


def test_text_postgresql_cannot_store_is_cleaned_and_costs_no_other_row(
    engine: Engine, owners: Owners
) -> None:
    """A NUL (JSON \\u0000) or a lone surrogate in a signed payload: PostgreSQL's text
    and jsonb refuse both, which failed the whole batch (every request in it a 503,
    and the sender's retries failing the next batches). Now the odd row is stored
    with those characters removed or replaced and its batch is written."""
    writer = IntakeWriter(engine)
    odd = {
        **_row(owners.shopify, "odd\x00id"),
        "payload": {"title": "a\x00b", "note": "x\udc80y", "k\x00": ["\ud800"]},
    }
    rows = [_row(owners.shopify, "before"), odd, _row(owners.shopify, "after")]
    pending = [intake._Pending({**row, "status": WebhookStatus.RECEIVED}) for row in rows]
    writer._write(pending)
    assert [p.error for p in pending] == [None, None, None]
    with engine.connect() as conn:
        stored = {
            row.id: (row.delivery_id, row.payload)
            for row in conn.execute(text("SELECT id, delivery_id, payload FROM webhook_log"))
        }
    assert [stored[p.row_id][0] for p in pending] == ["before", "oddid", "after"]
    assert stored[pending[1].row_id][1] == {"title": "ab", "note": "x\ufffdy", "k": ["\ufffd"]}
    assert stored[pending[0].row_id][1] == {"delivery": "before"}


def test_a_row_the_writer_cannot_encode_is_a_503_and_the_writer_lives_on(
    engine: Engine, owners: Owners
) -> None:
    """A bug of ours (a value JSON cannot hold) is a 503 for its request, which the
    platforms retry, not a dead writer that every later request would wait on."""
    writer = IntakeWriter(engine)
    broken = {**_row(owners.shopify, "broken"), "payload": {"value": object()}}
    with pytest.raises(IntakeUnavailable):
        writer.record(broken, WebhookStatus.RECEIVED)
    status, row_id = writer.record(_row(owners.shopify, "next"), WebhookStatus.RECEIVED)
    assert status is WebhookStatus.RECEIVED
    assert _stored(engine)[row_id][:2] == ("next", "received")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), object()], ids=str)
def test_a_row_that_cannot_be_encoded_fails_alone_not_its_batch_neighbours(
    value: object, engine: Engine, owners: Owners
) -> None:
    """json.dumps wrote infinity as `Infinity`, which jsonb refuses: the whole batch
    failed (503 for an innocent request sharing it, issue 19 item 13). Encoded with
    allow_nan=False, the row that cannot be is refused alone (503, ours to fix: the
    JSON reader, api/json_body.py, refuses non-finite numbers at the door)."""
    writer = IntakeWriter(engine)
    broken = {**_row(owners.shopify, "broken"), "payload": {"price": value}}
    rows = [_row(owners.shopify, "before"), broken, _row(owners.shopify, "after")]
    pending = [intake._Pending({**row, "status": WebhookStatus.RECEIVED}) for row in rows]
    writer._write(pending)
    assert [p.error is None for p in pending] == [True, False, True]
    assert isinstance(pending[1].error, IntakeUnavailable)
    stored = _stored(engine)
    assert sorted(delivery for delivery, _, _ in stored.values()) == ["after", "before"]
    assert [stored[p.row_id][0] for p in (pending[0], pending[2])] == ["before", "after"]
