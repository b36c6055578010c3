"""Shopify catalogs listed by a bulk query operation (docs/platforms.md section 5).

Cursor pagination stops at 25,000 objects per query, and on the Standard plan (100
points a second) a 200-variant page costs 802 points: 20,000 variants are 100 pages,
about 13 minutes of points. A bulk operation costs one 10-point mutation and a 1-point
poll now and then, whatever the catalog's size, and Shopify writes the whole catalog to
a JSONL file (one variant a line, nested objects inline) that is downloaded without the
access token and outside the Admin API's budget.

So `ShopifyStore.iter_pages` reads `productVariantsCount` first (1 point) and lists a
catalog of more than `BULK_ABOVE` variants here: run the operation (or take over ours
already running, after a worker died waiting for it), poll it until COMPLETED, then
stream the file a line at a time (memory flat) in pages of `PAGE_SIZE` variants. Each
page's `resume` is `bulk:<operation id>#<lines read>`: a listing cut short goes on at
that line of the same operation's file (seven days, the `url`'s life), not from
scratch; an operation that failed, was canceled or expired is replaced by a new one,
listed from its first line, and so is one whose file is refused although the poll said
COMPLETED (its signed `url` lapsed between the poll and the download).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import requests

from connectors.errors import PermanentError, TransientError
from connectors.shopify_cost import MUTATION_COST, OBJECT_COST
from connectors.types import CatalogPage, StoreProduct

#: Above this many variants a catalog is listed by a bulk operation: 5 pages of 200 at
#: 802 points are 4,010 points, 30 s of Standard's restore past a full bucket, while a
#: bulk operation costs about 12 points but waits for Shopify to run it (a few seconds
#: on a small shop, UNCONFIRMED); below it, pages answer at once.
BULK_ABOVE = 1_000
#: Costs of our calls (connectors/shopify_cost.py rules; tests/sandbox/test_shopify_cost.py).
COUNT_COST = OBJECT_COST
RUN_COST = MUTATION_COST
POLL_COST = OBJECT_COST
#: The prefix of a resume token of a bulk listing (a bare cursor is a paged listing's).
PREFIX = "bulk:"
#: Statuses after which an operation has no file to read: start a new one.
_GONE = {"FAILED", "CANCELED", "CANCELING", "EXPIRED"}
#: userErrors codes of a shop already running a bulk query (BulkOperationUserErrorCode).
_BUSY = {"OPERATION_IN_PROGRESS", "LIMIT_REACHED"}

COUNT_QUERY = (
    "query StocksyncVariantCount { productVariantsCount(limit: null) { count precision } }"
)
RUN_MUTATION = """
mutation StocksyncBulkCatalog($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}
"""
_OPERATION_FIELDS = "id status errorCode objectCount url query"
POLL_QUERY = (
    "query StocksyncBulkStatus($id: ID!) "
    f"{{ node(id: $id) {{ ... on BulkOperation {{ {_OPERATION_FIELDS} }} }} }}"
)
CURRENT_QUERY = (
    f"query StocksyncBulkCurrent {{ currentBulkOperation(type: QUERY) {{ {_OPERATION_FIELDS} }} }}"
)


class GraphQL(Protocol):
    def graphql(
        self, query: str, variables: Mapping[str, Any], *, cost: float = ...
    ) -> dict[str, Any]: ...


Parse = Callable[[Sequence[Mapping[str, Any]]], Iterator[StoreProduct]]


def variant_count(api: GraphQL) -> int:
    """The shop's variants (Shopify's counts stop at 25,001, enough to decide by)."""
    data = api.graphql(COUNT_QUERY, {}, cost=COUNT_COST)
    try:
        return int(data["productVariantsCount"]["count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError("shopify: unexpected productVariantsCount shape") from exc


def bulk_query(variant_fields: str) -> str:
    """The bulk query of every variant: no variables (a bulk query takes none, so the
    location is a literal in `variant_fields`), no `first` (Shopify reads it all)."""
    return f"{{ productVariants {{ edges {{ node {{ {variant_fields} }} }} }} }}"


class BulkCatalog:
    """One bulk listing of a shop's variants; `pages(resume)` is the whole of it."""

    #: Seconds between polls: from the first to the most, doubling.
    first_poll = 0.5
    most_poll = 2.0
    #: Download timeouts (connect, read between bytes).
    timeout = (10.0, 60.0)

    def __init__(self, api: GraphQL, query: str, parse: Parse, page_size: int) -> None:
        self.api, self.query, self.parse, self.page_size = api, query, parse, page_size

    def pages(self, resume: str | None) -> Iterator[CatalogPage]:
        operation, skip = _place(resume) if resume else (None, 0)
        done = self._wait(operation) if operation else None
        if done is not None:
            try:
                yield from self._read(*done, skip)
                return
            except FileGone:
                pass  # refused before its first line: replaced below, as if expired
        done = self._wait(self._start())
        if done is None:
            raise TransientError("shopify: the bulk operation failed twice; listing later")
        yield from self._read(*done, 0)

    def _start(self) -> str:
        """A new operation's id, or ours already running (same query) when the shop
        runs one already; another app's or another query's: wait and retry later."""
        data = self.api.graphql(RUN_MUTATION, {"query": self.query}, cost=RUN_COST)
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        if not errors and isinstance(payload.get("bulkOperation"), dict):
            return str(payload["bulkOperation"]["id"])
        codes = {e.get("code") for e in errors if isinstance(e, dict)}
        text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
        if not codes & _BUSY:
            raise PermanentError(f"shopify bulkOperationRunQuery: {text or 'no operation'}")
        current = self.api.graphql(CURRENT_QUERY, {}, cost=POLL_COST).get("currentBulkOperation")
        if isinstance(current, dict) and current.get("query") == self.query:
            if current.get("status") not in _GONE:
                return str(current["id"])
        raise TransientError(f"shopify bulkOperationRunQuery: {text}", retry_after=30.0)

    def _wait(self, operation: str) -> tuple[str, str, int] | None:
        """(id, url, objects) once COMPLETED; None if it failed, expired or is unknown."""
        pause = self.first_poll
        while True:
            data = self.api.graphql(POLL_QUERY, {"id": operation}, cost=POLL_COST)
            node = data.get("node")
            if not isinstance(node, dict) or node.get("status") in _GONE:
                return None
            if node.get("status") == "COMPLETED":
                url = node.get("url")
                # A completed operation that found nothing has no file (UNCONFIRMED).
                return operation, str(url) if url else "", int(node.get("objectCount") or 0)
            time.sleep(pause)
            pause = min(self.most_poll, pause * 2)

    def _read(self, operation: str, url: str, objects: int, skip: int) -> Iterator[CatalogPage]:
        """Pages of the file from line `skip`, streamed; the last page's resume None."""
        of = max(1, math.ceil(objects / self.page_size))
        if not url:
            yield CatalogPage([], None, of)
            return
        lines = _lines(url, self.timeout)
        at = 0
        for _ in range(skip):
            if next(lines, None) is None:
                break
            at += 1
        nodes: list[Mapping[str, Any]] = []
        ahead = next(lines, None)
        while ahead is not None:
            at += 1
            node = json.loads(ahead)
            if "__parentId" not in node:  # our query nests no connection; none expected
                nodes.append(node)
            ahead = next(lines, None)
            if len(nodes) >= self.page_size or ahead is None:
                resume = None if ahead is None else f"{PREFIX}{operation}#{at}"
                yield CatalogPage(list(self.parse(nodes)), resume, of)
                nodes = []
        if at <= skip:  # nothing past `skip`: the listing ends here
            yield CatalogPage([], None, of)


def _place(resume: str) -> tuple[str | None, int]:
    operation, _, line = resume.removeprefix(PREFIX).rpartition("#")
    if not operation or not line.isdigit():
        return None, 0  # not ours to read: list afresh
    return operation, int(line)


class FileGone(PermanentError):
    """The operation's file answered 4xx (not 429): its signed URL lapsed or it is gone.
    Raised before any line is read; a resumed listing runs a new operation then."""


def _lines(url: str, timeout: tuple[float, float]) -> Iterator[bytes]:
    """The file's non-empty lines, streamed. No token goes with it: the URL is signed.

    A connection lost midway is transient (the caller resumes at its last saved line);
    a refused file (4xx other than 429) is `FileGone`: the operation's URL lapsed,
    which a resume close to the seven days of its life can meet between the poll that
    said COMPLETED and this download.
    """
    try:
        with requests.get(url, stream=True, timeout=timeout) as response:
            if response.status_code >= 500 or response.status_code == 429:
                raise TransientError(
                    f"shopify bulk file: {response.status_code}", status=response.status_code
                )
            if response.status_code >= 400:
                raise FileGone(
                    f"shopify bulk file: {response.status_code}", status=response.status_code
                )
            for line in response.iter_lines():
                if line:
                    yield line
    except requests.RequestException as exc:
        raise TransientError(f"shopify bulk file: {exc.__class__.__name__}") from exc
