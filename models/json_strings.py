"""Rewriting every string of a JSON value, keys included, at any depth.

What is stored of a body sent to us must sometimes lose part of its text wherever it
sits: a webhook secret echoed in a payload (api/webhooks/redaction.py), a customer's
e-mail address in a plugin's record (`models.commerce.strip_emails`). The value is
walked without recursion: JSON nested as deep as the parser allows must not overflow
the stack of the request that stores it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def map_strings(
    value: Any,
    change: Callable[[str], str],
    drop_key: Callable[[str], bool] | None = None,
) -> Any:
    """A copy of `value` with `change` applied to every string and every key, without
    the entries whose key `drop_key` (if given) selects."""
    root = [value]
    #: (container of the copy, slot) whose content is still the original.
    pending: list[tuple[Any, Any]] = [(root, 0)]
    while pending:
        holder, slot = pending.pop()
        item = holder[slot]
        if isinstance(item, str):
            holder[slot] = change(item)
        elif isinstance(item, dict):
            copy: dict[str, Any] = {}
            for key, inner in item.items():
                if drop_key is not None and drop_key(key):
                    continue
                new_key = change(key)
                copy[new_key] = inner
                pending.append((copy, new_key))
            holder[slot] = copy
        elif isinstance(item, list):
            holder[slot] = listed = list(item)
            pending.extend((listed, index) for index in range(len(listed)))
    return root[0]
