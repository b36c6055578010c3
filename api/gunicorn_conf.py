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
import resource
from typing import Any

worker_class = "gevent"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
#: Connections per worker; each is a greenlet, not a thread. Far above any genuine
#: load, so that slow senders, each cut off after api/body_deadline.py's 10 s, cannot
#: take every connection (2 x 1,000 were taken by 2,200 of them: issue 19 item 15).
#: Each costs a file descriptor: `post_worker_init` raises the soft limit to match.
worker_connections = 10_000
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


def post_worker_init(worker: Any) -> None:
    """Bound each request's body (api/body_deadline.py), and let the worker hold its
    `worker_connections` as far as the hard file limit allows (the soft one is often
    1,024, which would refuse connections long before)."""
    from api.body_deadline import BodyDeadline

    worker.wsgi = BodyDeadline(worker.wsgi)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = worker_connections + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        ceiling = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, ceiling), hard))
