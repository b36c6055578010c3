"""A Python load generator for machines without wrk: keep-alive-less POSTs from threads,
replaying the same pre-signed request file. Slower than wrk (it shares the CPU with the
server), so its figures are lower bounds; the ratio against the bare route still holds."""

from __future__ import annotations

import http.client
import itertools
import statistics
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit


def parse_request(line: str) -> tuple[str, dict[str, str], bytes]:
    """Path, headers and body of one line of bench/ingest.py's request file (also read
    by bench/requests.lua and bench/wsgi_loop.py)."""
    path, headers_text, body = line.rstrip("\n").split("\t", 2)
    headers = dict(pair.split(": ", 1) for pair in headers_text.split("|") if pair)
    return path, headers, body.encode()


def python_load(url: str, requests_file: Path, seconds: int, connections: int) -> dict[str, float]:
    requests = [parse_request(line) for line in requests_file.read_text().splitlines() if line]
    cursor = itertools.cycle(range(len(requests)))
    lock = threading.Lock()
    latencies: list[float] = []
    failures = 0
    host = urlsplit(url)
    deadline = time.monotonic() + seconds

    def run() -> None:
        nonlocal failures
        mine: list[float] = []
        bad = 0
        while time.monotonic() < deadline:
            with lock:
                path, headers, body = requests[next(cursor)]
            started = time.perf_counter()
            conn = http.client.HTTPConnection(host.hostname, host.port, timeout=30)
            conn.request("POST", path, body, headers)
            status = conn.getresponse().status
            conn.close()
            mine.append(time.perf_counter() - started)
            bad += status >= 300
        with lock:
            latencies.extend(mine)
            failures += bad

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / seconds,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "non_2xx": float(failures),
    }
