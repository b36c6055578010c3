"""The web layer's one JSON reader (api/json_body.py): JSON only, finite numbers only,
at most MAX_DEPTH levels, and every refusal a `NotJson`, never a RecursionError."""

from __future__ import annotations

import pytest

from api.json_body import MAX_DEPTH, NotJson, load


def _nested(depth: int, opening: bytes = b"[", closing: bytes = b"]") -> bytes:
    return opening * depth + closing * depth


@pytest.mark.parametrize(
    "body",
    [
        _nested(MAX_DEPTH),
        b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH,
        b"[" + b"[[]]," * 500 + b"[]]",  # many brackets, shallow
        b'["' + b"[" * 500 + b'"]',  # brackets inside a string are text
        b'["\\"' + b"{" * 500 + b'"]',  # ... after an escaped quote too
        b'{"price": 1.5e300, "n": -0.0, "big": ' + b"9" * 400 + b"}",
    ],
    ids=["64-deep", "64-deep-objects", "shallow", "in-a-string", "escaped-quote", "numbers"],
)
def test_json_within_the_bounds_is_read(body: bytes) -> None:
    assert load(body) is not None


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (_nested(MAX_DEPTH + 1), "nested deeper than 64 levels"),
        (_nested(100_000, b"{", b"}"), "nested deeper than 64 levels"),
        (b'[{"a":' * 33 + b"1" + b"}]" * 33, "nested deeper than 64 levels"),
        (b"[" * 100_000, None),
        (b"[" + b"[{]}," * 40 + b"[]]", None),  # pairs that do not match
        (b"[1e400]", "number out of range (1e400)"),
        (b"[-1e400]", "number out of range (-1e400)"),
        (b"[NaN]", None),
        (b"[Infinity]", None),
        (b"\xff", None),
        (b"", None),
    ],
    ids=[
        "65-deep",
        "100k-deep",
        "66-deep-alternating",
        "unclosed",
        "mismatched",
        "1e400",
        "-1e400",
        "nan",
        "infinity",
        "not-utf8",
        "empty",
    ],
)
def test_what_it_does_not_read_is_refused_with_a_reason(body: bytes, detail: str | None) -> None:
    with pytest.raises(NotJson) as refused:
        load(body)
    assert refused.value.detail == detail
    assert str(refused.value).startswith("body is not JSON")
