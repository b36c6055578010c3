"""The baseline of bench/ingest.py: a Flask route answering 200 to the same POSTs, under
the same gunicorn settings, so the ratio isolates what the receiver itself costs."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.post("/webhooks/<provider>/<owner>")
def bare(provider: str, owner: str) -> tuple[str, int]:
    return "", 200
