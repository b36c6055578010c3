"""JSON for what the service layer describes: API answers and the CLI's `--json`.

Datetimes go out in ISO 8601 with their offset (Flask's default is the HTTP date
format, which drops sub-second precision), so both doors print the same document.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, default=_encode, indent=indent, sort_keys=True)
