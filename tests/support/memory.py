"""How the connector tests measure that a stream holds a page, not the catalog.

tracemalloc counts every allocation of the process, whichever thread makes it, and
werkzeug's request threads allocate a read buffer of about 10 MB per request. With the
sandbox serving from the test's own process, a connector that built the whole catalog in
a list still showed only 1.58 times the peak of 2,000 SKUs at 20,000 (6.3 times with the
sandbox in another process). So the memory tests serve from
`sandbox.server.running_in_subprocess` and measure here, in a process that holds only
the connector.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterable
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class Drained(NamedTuple):
    items: int
    peak_bytes: int


def _ignore(item: object) -> None:
    return None


def peak_bytes_while(
    stream: Callable[[], Iterable[T]], each: Callable[[T], object] = _ignore
) -> Drained:
    """Drain a fresh `stream()`, passing each item to `each`: (items, peak traced bytes).

    One item of a first stream is taken untraced, so the connection pool, lazy imports
    and caches are in place before the measure. The measured stream is a new one: a
    connector that reads everything on its first `next()` is measured doing it.
    Whatever `each` keeps is measured too, so give it storage allocated beforehand.
    """
    next(iter(stream()), None)
    gc.collect()
    tracemalloc.start()
    try:
        items = 0
        for item in stream():
            each(item)
            items += 1
        return Drained(items, tracemalloc.get_traced_memory()[1])
    finally:
        tracemalloc.stop()
