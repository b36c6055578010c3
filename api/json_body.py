"""The one JSON reader of the web layer: every request body is decoded here.

Python's json module reads more than JSON, and less safely than a server should:
- `NaN`, `Infinity` and numbers past a float's range (`1e400`, read as infinity) are
  not JSON, and PostgreSQL's jsonb refuses them: a stored payload holding one failed
  the webhook log's whole commit batch (api/intake.py), a 503 on every retry.
- its C scanner recurses once per level: a body of 5,000 `[` raised RecursionError (a
  500, before authentication on Business Central's route), and every walk of the
  result (schema validation, `check_storable`, the intake encoder) recurses again.
So nesting is bounded by `MAX_DEPTH` before decoding, and only finite numbers are read.
Callers turn `NotJson` into their own 400 (Business Central: logged, answered 200).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

#: Levels of arrays and objects. Far deeper than any platform's payload or admin body
#: (a Shopify product with variants and metafields is under 10).
MAX_DEPTH = 64

#: A JSON string, escapes included; brackets inside one are text, not nesting. Written
#: as runs between escapes: three times faster than one alternation per character.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
#: For `bytes.translate`: every byte but the four brackets deleted, braces made square
#: (nesting is nesting; json.loads refuses a brace closed by a bracket).
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")


class NotJson(ValueError):
    """The body is not a JSON document this server reads; safe to answer and log.

    `detail` says why when the body is JSON to a lenient reader (too deep, a number out
    of range); None for plain bad syntax.
    """

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(f"body is not JSON: {detail}" if detail else "body is not JSON")
        self.detail = detail


def load(data: bytes) -> Any:
    """Decode a JSON document of at most `MAX_DEPTH` levels with finite numbers only."""
    _check_depth(data)
    try:
        return json.loads(data, parse_constant=_constant, parse_float=_finite)
    except NotJson:
        raise
    except (ValueError, RecursionError):
        # ValueError covers bad syntax, bad UTF-8 (UnicodeDecodeError) and integers of
        # over 4,300 digits; RecursionError cannot happen within MAX_DEPTH but is a
        # sender's fault if it ever does.
        raise NotJson() from None


def _check_depth(data: bytes) -> None:
    """Refuse a body whose brackets outside strings nest deeper than `MAX_DEPTH`.

    Why this shape: a body with no more than MAX_DEPTH opening brackets cannot be deeper
    (the usual webhook, checked by two `count`s); otherwise the strings are removed and
    the brackets kept, and each pass removes the innermost pairs, one level, all in C.
    Brackets that do not pair up are not JSON, whatever json.loads would make of them.
    Cost: about as long as json.loads itself on a bracket-heavy body (a 5.6 KB product
    with 200 brackets: 53 us, json.loads 55 us).
    """
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return
    brackets = _STRING.sub(b"", data).translate(_SQUARE, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH):
        stripped = brackets.replace(b"[]", b"")
        if not stripped:
            return
        if stripped == brackets:
            raise NotJson()
        brackets = stripped
    raise NotJson(f"nested deeper than {MAX_DEPTH} levels")


def _constant(name: str) -> NoReturn:
    raise NotJson()  # NaN, Infinity or -Infinity


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise NotJson(f"number out of range ({text[:40]})")
    return number
