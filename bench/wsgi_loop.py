"""Child of bench/instructions.py: call a WSGI app in-process, as a gevent worker of
gunicorn would, for the first COUNT deliveries of a file, then exit.

    python -m bench.wsgi_loop APP REQUESTS_FILE COUNT GREENLETS

REQUESTS_FILE is bench/ingest.py's (`delivery_lines`): path, headers, body per line.

gevent patches the standard library before anything else is imported (as gunicorn's
gevent worker does), and psycopg2 waits through the hub (api/gunicorn_conf.py), so the
receiver's writer batches the rows of concurrent requests as it does in production.
"""

from gevent import monkey

monkey.patch_all()

from psycogreen.gevent import patch_psycopg  # noqa: E402

patch_psycopg()

import importlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402

from bench.loadgen import parse_request  # noqa: E402


def _environ(line: str) -> dict[str, Any]:
    path, headers, body = parse_request(line)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "5000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return environ


def main() -> None:
    app_path, requests_file, count, greenlets = sys.argv[1:5]
    module, name = app_path.split(":")
    app = getattr(importlib.import_module(module), name)
    with open(requests_file) as lines:
        environs = [_environ(line) for _, line in zip(range(int(count)), lines, strict=False)]
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def serve(first: int) -> None:
        for environ in environs[first :: int(greenlets)]:
            b"".join(app(environ, start_response))

    gevent.joinall([gevent.spawn(serve, k) for k in range(int(greenlets))])
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
