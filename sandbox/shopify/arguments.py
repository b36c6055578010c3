"""Reading one field of a parsed GraphQL document: its arguments and sub-fields.

Values come from literals or `variables` (`value_from_ast_untyped`); the sandbox has no
schema, so nothing is coerced to a declared type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, Undefined
from graphql.language import DirectiveNode, FieldNode
from graphql.utilities import value_from_ast_untyped

MAX_PAGE_SIZE = 250


def arguments(node: FieldNode | DirectiveNode, variables: dict[str, Any]) -> dict[str, Any]:
    """Argument values of a field or directive; a missing variable reads as None."""
    given = node.arguments or ()
    values = {a.name.value: value_from_ast_untyped(a.value, variables) for a in given}
    return {k: None if v is Undefined else v for k, v in values.items()}


def child(field: FieldNode, name: str) -> FieldNode | None:
    """The sub-field `name` selected under `field`, if any."""
    selections = field.selection_set.selections if field.selection_set else ()
    return next((s for s in selections if isinstance(s, FieldNode) and s.name.value == name), None)


def page_size(args: Mapping[str, Any]) -> int:
    """A connection's `first`; Shopify refuses more than 250 (UNCONFIRMED wording)."""
    first = args.get("first")
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(
            f"Connections need `first` between 1 and {MAX_PAGE_SIZE}, got {first!r}",
            extensions={"code": "MAX_PAGE_SIZE_EXCEEDED"},
        )
    return first
