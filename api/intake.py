"""The accept path: one durable row per request, nothing else before the 200.

Each request's `webhook_log` row goes to this process's `IntakeWriter`, which writes
the rows of all requests waiting at that moment with one INSERT (one transaction, one
WAL flush) and only then lets each request answer. Accepted events are written
`received`; the relay (workers/relay.py, its own process) then opens the dedupe
window, publishes and marks them. The same statement consults and updates the
delivery-id memory: a platform's retry of a delivery accepted within
IDEMPOTENCY_TTL_SECONDS is written `duplicate` and goes no further. Killed at any
line, nothing is lost: a row is either not written (the platform gets no 200 and
retries) or written, with its id remembered, and picked up by the relay.

Measured (bench/ingest.py): keeping dedupe and publishing in the web process cost more
than it saved; a web process that only verifies and logs is faster, and sharing
commits between concurrent requests (under gevent workers, api/gunicorn_conf.py)
doubled its requests/s again.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg2
import psycopg2.errors
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.webhooks.event import Event
from models import WebhookDelivery, WebhookLog, WebhookStatus
from models.webhook_log import window_key
from settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Owner:
    """The site or source a webhook URL names."""

    kind: str
    id: int
    site_id: int | None
    source_id: int | None
    accepting: bool


def event_row(provider: str, owner: Owner, event: Event) -> dict[str, Any]:
    """The log row of an accepted event."""
    return {
        "provider": provider,
        "site_id": owner.site_id,
        "source_id": owner.source_id,
        "topic": event.topic[:100],
        "kind": event.kind,
        "delivery_id": event.delivery_id[:200] if event.delivery_id else None,
        "entity": event.entity[:200],
        "sku": event.sku,
        "dedupe_key": window_key(owner.kind, owner.id, event.kind, event.entity),
        "occurred_at": event.occurred_at,
        "payload": event.payload,
    }


COLUMNS = (
    "provider",
    "site_id",
    "source_id",
    "topic",
    "kind",
    "delivery_id",
    "entity",
    "sku",
    "dedupe_key",
    "occurred_at",
    "payload",
    "status",
    "error",
)
#: Written with psycopg2 directly: on the hottest line of the receiver, SQLAlchemy's
#: statement building cost more CPU than the rest of the request (cProfile, 1.5 ms of
#: 3.7). The table is `models.WebhookLog`; a test checks this list against it.
_COLUMN_LIST = ", ".join(COLUMNS)
#: Copied from the batch as they are; `status` and `error` follow, set by the memory.
_COPIED = ", ".join(column for column in COLUMNS if column not in ("status", "error"))
_LOG = WebhookLog.__tablename__
#: The error of a row whose delivery id was remembered.
SEEN_BEFORE = "delivery seen before"
#: An accepted event that names its delivery: its id goes into the delivery-id memory
#: (`models.WebhookDelivery`), keyed by provider and owner (the site, or the source for
#: ERP providers, whose rows have no site).
_COVERED = (
    "status = 'received' AND delivery_id IS NOT NULL AND coalesce(site_id, source_id) IS NOT NULL"
)
#: One statement writes the batch and consults and updates the delivery-id memory.
#:
#: The batch travels as one JSON array, expanded by PostgreSQL into rows of the table's
#: type. Why not VALUES with a parameter per cell: psycopg2 quotes each cell in Python,
#: 14 us per row (13 cells), the largest part of the writer's time; one JSON document
#: is encoded by the json module's C encoder and quoted once.
#:
#: `batch` draws each row's id in the batch's order (`ORDER BY ordinality`: PostgreSQL
#: evaluates a volatile function such as nextval after the sort, which SQLAlchemy's
#: insertmanyvalues relies on too), so the written rows sorted by id are the batch in
#: order. Why not return the ordinality and join on it: that cost 10-60 us per batch
#: (in-process, 1,500 batches of 1 and of 8 rows). `remembered` records each
#: covered delivery id once (the batch's first row with it): a new id is inserted, an
#: id seen more than the TTL (the second parameter, seconds) ago is taken over, and
#: either way its row's id is returned; an id seen within the TTL conflicts and returns
#: nothing, so its rows are written `duplicate`. Concurrent writers holding the same id
#: wait on each other's uncommitted memory row and settle on one (ON CONFLICT), and
#: insert in key order, so two batches cannot deadlock on each other's ids.
#:
#: Why one statement rather than a lookup first: every request still costs one round
#: trip and one commit shared by its batch; a retry storm (after an outage of ours
#: every platform redelivers) costs no more statements than new deliveries.
INSERT_SQL = (
    "WITH batch AS MATERIALIZED ("  # noqa: S608
    f" SELECT nextval('{_LOG}_id_seq') AS id, {_COLUMN_LIST},"
    f" {_COVERED} AS covered, coalesce(site_id, source_id) AS owner_id"
    f" FROM json_populate_recordset(NULL::{_LOG}, %s) WITH ORDINALITY AS incoming"
    " ORDER BY incoming.ordinality"
    "), remembered AS ("
    f" INSERT INTO {WebhookDelivery.__tablename__} AS seen"
    " (provider, owner_id, delivery_id, seen_at, log_id)"
    " SELECT DISTINCT ON (provider, owner_id, delivery_id)"
    " provider, owner_id, delivery_id, now(), id"
    " FROM batch WHERE covered ORDER BY provider, owner_id, delivery_id, id"
    " ON CONFLICT (provider, owner_id, delivery_id) DO UPDATE"
    " SET seen_at = excluded.seen_at, log_id = excluded.log_id"
    " WHERE seen.seen_at <= excluded.seen_at - make_interval(secs => %s)"
    " RETURNING log_id"
    ")"
    f" INSERT INTO {_LOG} (id, {_COPIED}, status, error)"
    f" SELECT batch.id, {_COPIED},"
    " CASE WHEN covered AND remembered.log_id IS NULL THEN 'duplicate' ELSE status END,"
    f" CASE WHEN covered AND remembered.log_id IS NULL THEN '{SEEN_BEFORE}' ELSE error END"
    " FROM batch LEFT JOIN remembered ON remembered.log_id = batch.id"
    " RETURNING id, status"
)

#: The INSERT is prepared once per connection (`_cursor`) and run by name. Why: parsed
#: and planned afresh for every batch, it cost PostgreSQL's backend 263 us of CPU per
#: one-row statement against 173 us prepared (400 against 290 us for 8 rows), about
#: 12 us per row at the 7-8 rows a batch holds under bench/ingest.py's load.
PREPARED = "stocksync_intake_insert"
_PREPARE = (
    f"PREPARE {PREPARED} (json, integer) AS "
    f"{INSERT_SQL.replace('%s', '$1', 1).replace('%s', '$2', 1)}"
)
_EXECUTE = f"EXECUTE {PREPARED} (%s, %s)"

#: Rows per INSERT: more than a web process has requests in flight, so one statement
#: takes every row waiting.
MAX_BATCH = 256
#: How long a request waits for its row before answering 503.
WRITE_TIMEOUT_SECONDS = 10.0
#: A connection unused this long is checked before the next INSERT (see `_cursor`).
PING_AFTER_IDLE_SECONDS = 10.0


class IntakeUnavailable(Exception):
    """The row could not be written (PostgreSQL down or too slow): answer 503, so the
    platform retries the delivery."""


class _Pending:
    """One request's row on its way to the writer, and what became of it."""

    __slots__ = ("error", "row", "row_id", "status")

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.status = WebhookStatus(row["status"])
        self.row_id = 0
        self.error: IntakeUnavailable | None = None


class _Batch:
    """The rows gathered while the writer was busy; `written` is set once they are
    committed (or have failed), releasing every request waiting on them at once."""

    __slots__ = ("rows", "written")

    def __init__(self) -> None:
        self.rows: list[_Pending] = []
        self.written = threading.Event()


class IntakeWriter:
    """Commits the rows of concurrent requests together, from one thread per process.

    Why: a commit per request made PostgreSQL flush WAL and run a transaction per
    webhook, and each of gunicorn's threads wait for its own round trip, holding a
    thread and costing CPU on both sides (bench/ingest.py: 0.31 ms of PostgreSQL CPU
    and 0.7 ms in the web process per request). Here each request hands its row to
    this process's writer thread: it adds the row to the open batch and waits on that
    batch's event; the writer takes the open batch whole, writes it with one INSERT and
    one commit, and sets the event. A request still returns only once its own row is
    durable.

    Why a shared batch rather than a queue and a lock per request: the lock's creation,
    the queue's put and get and a release per row cost the receiver more instructions
    than its own handler's signature check (bench.instructions).
    """

    def __init__(
        self,
        engine: Engine,
        timeout: float = WRITE_TIMEOUT_SECONDS,
        ttl_seconds: int = Settings.idempotency_ttl_seconds,
    ) -> None:
        self.engine = engine
        self.timeout = timeout
        #: How long a delivery id counts as seen (IDEMPOTENCY_TTL_SECONDS).
        self.ttl_seconds = ttl_seconds
        self._connection: Any = None
        self._statement = _EXECUTE  # INSERT_SQL once a session loses its prepared one
        self._last_used = 0.0
        self._lock = threading.Lock()  # guards _open
        self._open = _Batch()
        self._rows_waiting = threading.Event()  # set by a batch's first row
        self._started_in: int | None = None
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def record(self, values: dict[str, Any], status: WebhookStatus) -> tuple[WebhookStatus, int]:
        """Write one row durably; return its status (`duplicate` for a delivery seen
        before) and its id, which every later log line about the event carries as
        `event`. Raises IntakeUnavailable if it could not be written in time."""
        self._ensure_thread()
        pending = _Pending({**values, "status": status})
        with self._lock:
            batch = self._open
            batch.rows.append(pending)
            if len(batch.rows) == 1:
                self._rows_waiting.set()
        if not batch.written.wait(self.timeout):
            # The row may still be committed later; the platform's retry then finds it
            # (the delivery key) and is logged as a duplicate.
            raise IntakeUnavailable(f"webhook log not written within {self.timeout:g} s")
        if pending.error is not None:
            raise pending.error
        return pending.status, pending.row_id

    def _ensure_thread(self) -> None:
        # Started on first use in each process: a thread started before gunicorn forks
        # (with --preload) would not exist in the workers.
        pid = os.getpid()
        if self._started_in == pid:
            return
        with self._start_lock:
            if self._started_in != pid:
                self._thread = threading.Thread(target=self._run, name="intake-writer", daemon=True)
                self._thread.start()
                self._started_in = pid

    def close(self, timeout: float = WRITE_TIMEOUT_SECONDS) -> None:
        """Write the rows waiting, stop the thread, close the connection and the engine.

        For a process that closes an app and goes on (the test suite starts hundreds):
        the thread holds the writer, its connection and its engine's pool for as long
        as it runs, so without this each app kept its connections open until the
        process exited. A web process simply exits with its app.
        """
        self._closing.set()
        self._rows_waiting.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._disconnect()
        self.engine.dispose()

    def _run(self) -> None:
        while True:
            self._rows_waiting.wait()
            with self._lock:
                batch, self._open = self._open, _Batch()
                self._rows_waiting.clear()
            try:
                # More rows than MAX_BATCH would make one statement too large: split.
                for start in range(0, len(batch.rows), MAX_BATCH):
                    self._write_safely(batch.rows[start : start + MAX_BATCH])
            finally:
                batch.written.set()
            if self._closing.is_set():
                return

    def _write_safely(self, rows: list[_Pending]) -> None:
        try:
            self._write(rows)
        except Exception as exc:
            # A bug, not an outage: fail these requests with 503 (the platforms
            # retry them) and keep the thread, or every later request would hang.
            log.exception("webhook.log_writer_error", extra={"rows": len(rows)})
            for pending in rows:
                pending.error = IntakeUnavailable(repr(exc))

    def _write(self, batch: list[_Pending]) -> None:
        """Write the batch in one statement (`INSERT_SQL`); a row whose delivery id is
        remembered is written `duplicate`.

        Why not catching a unique violation instead: a violation rolled the whole batch
        back, and writing its rows one at a time made a retry storm (after an outage of
        ours every platform redelivers) the slowest path of all.
        """
        encoded, batch = _encode(batch)
        if not batch:
            return
        try:
            written = self._insert(encoded)
        except (psycopg2.Error, SQLAlchemyError) as exc:
            self._fail(batch, exc)
            return
        # By id, the rows in batch order: `INSERT_SQL` draws the ids in that order.
        for pending, (row_id, status) in zip(batch, written, strict=True):
            pending.row_id = row_id
            pending.status = WebhookStatus(status)

    def _fail(self, batch: list[_Pending], exc: Exception) -> None:
        """PostgreSQL down or the connection lost: these requests answer 503 (the
        platform retries them) and the next batch starts on a new connection."""
        log.error("webhook.log_write_failed", extra={"rows": len(batch), "error": repr(exc)})
        self._disconnect()
        for pending in batch:
            pending.error = IntakeUnavailable(repr(exc))

    def _insert(self, rows_json: str) -> list[tuple[Any, ...]]:
        """Insert the rows of a JSON array (`_encode`) in one statement and one
        transaction; the written rows' (id, status), by id."""
        arguments = (rows_json, self.ttl_seconds)
        with self._cursor() as cursor:
            try:
                cursor.execute(self._statement, arguments)
            except psycopg2.errors.InvalidSqlStatementName:
                # The session lost the prepared statement (a pooler in transaction
                # mode, or DISCARD ALL): nothing was written, so this connection goes on
                # unprepared, which any server in front of PostgreSQL accepts.
                log.warning("webhook.log_writer_unprepared")
                self._statement = INSERT_SQL
                cursor.execute(self._statement, arguments)
            returned = cursor.fetchall()
        return sorted(returned)

    def _cursor(self) -> Any:
        """A cursor on the writer's own connection, in autocommit: the one INSERT is its
        own transaction, all rows or none, in one round trip.

        Why its own connection rather than the pool's: a checkout and check-in per
        batch (with the pool's reset) cost about as much client CPU as the INSERT, and
        BEGIN and COMMIT as round trips of their own tripled the batch's time. Why a
        ping after a quiet spell: a connection that PostgreSQL dropped meanwhile (a
        restart) would otherwise cost the next batch a 503; a ping, unlike a retried
        INSERT, can be repeated without writing anything twice. Each new connection
        prepares the INSERT (`PREPARED`).
        """
        now = time.monotonic()
        if self._connection is not None and now - self._last_used > PING_AFTER_IDLE_SECONDS:
            try:
                with self._connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            except psycopg2.Error:
                self._disconnect()
        if self._connection is None:
            pooled = self.engine.raw_connection()
            pooled.detach()  # ours until closed; never handed to anyone else
            self._connection = pooled
            pooled.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            with pooled.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                cursor.execute(_PREPARE)
            self._statement = _EXECUTE
        self._last_used = now
        return self._connection.cursor()

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except psycopg2.Error:
                log.debug("webhook.log_writer_close_failed", exc_info=True)
            self._connection = None


def _encode(batch: list[_Pending]) -> tuple[str, list[_Pending]]:
    """The batch's rows as one JSON array, keyed by column (a missing key is NULL), and
    the rows it holds.

    A row JSON cannot hold (a non-finite number, which json.dumps would write as
    `Infinity` and jsonb refuse; any other value of ours it cannot encode) is failed
    alone, never its batch neighbours: it failed the whole batch, and an innocent
    request sharing it answered 503. The JSON reader (api/json_body.py) already refuses
    non-finite numbers at the door, so this is for our own bugs.

    PostgreSQL stores neither NUL characters nor lone surrogates in text or jsonb, and
    a signed payload may carry either (JSON's \\u0000, or bytes that decode to half a
    surrogate pair); such a row failed its whole batch. Then every row is replaced by
    its storable form (NULs removed, lone surrogates replaced by U+FFFD) before
    encoding. Checked on the encoded batch: an ordinary batch pays one substring search
    and one encode.
    """
    try:
        encoded = _dumps([pending.row for pending in batch])
    except _UNENCODABLE:
        batch = [pending for pending in batch if _encodable(pending)]
        encoded = _dumps([pending.row for pending in batch])
    if "\\u0000" in encoded or not _utf8_encodable(encoded):
        log.warning("webhook.unstorable_text_cleaned", extra={"rows": len(batch)})
        for pending in batch:
            pending.row = _storable(pending.row)
        encoded = _dumps([pending.row for pending in batch])
    return encoded, batch


#: What json.dumps raises on a value it cannot write (allow_nan=False: ValueError).
_UNENCODABLE = (ValueError, TypeError, RecursionError)


def _encodable(pending: _Pending) -> bool:
    """Whether this row alone encodes; if not, its request fails (503) with a log line."""
    try:
        _dumps([pending.row])
    except _UNENCODABLE as exc:
        log.error(
            "webhook.log_row_unencodable",
            extra={"provider": pending.row.get("provider"), "error": repr(exc)[:200]},
        )
        pending.error = IntakeUnavailable(f"row cannot be encoded: {type(exc).__name__}")
        return False
    return True


def _dumps(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, allow_nan=False, default=_json_default)


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _utf8_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(value: Any) -> Any:
    """`value` with every string, keys included, made storable by PostgreSQL."""
    if isinstance(value, str):
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value if c != "\x00")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value
