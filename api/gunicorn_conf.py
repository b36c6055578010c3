"""gunicorn settings of the web process, in one place for the Procfile, docker-compose,
`stocksync up` and bench/ingest.py (`gunicorn -c python:api.gunicorn_conf api.wsgi:app`).

Why gevent workers rather than threads: every webhook request waits on PostgreSQL for
its row's commit. With gthread workers each of those waits ends in a fight for the
interpreter lock with the threads busy parsing other requests, and a worker's
concurrency is its thread count; bench/ingest.py measured 1,050-1,300 req/s with
2 x 8 threads against 2,400-2,500 req/s with gevent on the same 2-core machine, the
rows of concurrent requests then sharing one commit (api/intake.py).
"""

from __future__ import annotations

import os
from typing import Any

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
#: Requests in flight per worker; each is a greenlet, not a thread.
worker_connections = 1000
graceful_timeout = 10
#: gunicorn's default access line less what may carry a secret: the query string
#: (Zoho's `?token=`, whatever token someone puts in a URL) and the Referer (the page
#: before, query and all). `%(U)s` is the path alone. docs/style.md rule 17.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'


def post_fork(server: Any, worker: Any) -> None:
    """Make psycopg2 wait through gevent's hub, so a query blocks only its greenlet
    (psycopg2 otherwise waits inside libpq and stalls the whole worker), and for no
    longer than its engine allows (api/postgres_waits.py)."""
    from api import postgres_waits

    postgres_waits.install()
