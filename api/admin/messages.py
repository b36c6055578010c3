"""The message refusing a request body, which never repeats a write-only value.

jsonschema's messages quote the value they refuse (`'LEAKME' is not of type
'object'`). For a field the schema marks `writeOnly` (credentials, webhook secrets)
that would send the secret back in the answer, and into whatever keeps answers: a
proxy's log, a client's error report (docs/style.md rule 17). Such a refusal names the
field and the rule broken, both taken from the schema, never from the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

#: The rule a write-only value broke, by JSON Schema keyword; `{}` is the keyword's
#: value in the schema.
RULES = {
    "type": "must be of type {}",
    "minLength": "must be at least {} characters long",
    "maxLength": "must be at most {} characters long",
    "minProperties": "must have at least {} entries",
    "maxProperties": "must have at most {} entries",
    "oneOf": "matches none of the accepted forms",
    "anyOf": "matches none of the accepted forms",
    "pattern": "does not match the pattern {}",
}
#: jsonschema's own messages are long for a nested value; an answer need not be.
MAX_MESSAGE = 300


def refusal(error: ValidationError, schema: bool | Mapping[str, Any]) -> str:
    """`body.<path>: <what is wrong>` for `error`, found by validating against `schema`."""
    where = "body" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path
    )
    if _write_only(schema, error.absolute_schema_path):
        rule = RULES.get(str(error.validator), f"breaks the rule {error.validator!r}")
        return f"{where}: {rule.format(error.validator_value)}"[:MAX_MESSAGE]
    return f"{where}: {error.message[:MAX_MESSAGE]}"


def _write_only(schema: Any, path: Iterable[Any]) -> bool:
    """Whether a subschema on `path` (keywords and indexes from `schema`) is write-only."""
    node = schema
    for step in path:
        if isinstance(node, dict) and node.get("writeOnly"):
            return True
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False  # a path through a keyword's value, not a subschema
    return isinstance(node, dict) and bool(node.get("writeOnly"))
