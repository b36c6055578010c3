"""Cutting a resolver's answer down to exactly the fields the query selected.

Resolvers build the whole object they know (`variant_node`, a subscription node); the
response carries only what the selection set asks for, under its alias where one is
given, as a GraphQL server answers (spec section 6.3, "Executing Selection Sets"). A
client that reads a field it never asked for fails here as it would on Shopify, instead
of passing against a kinder sandbox (issue 21).

Inline fragments (`... on WebhookHttpEndpoint { callbackUrl }`) and named fragments
apply when the object's `__typename` matches their type condition; objects without a
`__typename` match any condition (the sandbox has no schema to check interfaces).
Asking for a field the object does not have is a GraphQL error naming the field, the
message Shopify gives for an unknown field (its type name omitted: the sandbox has no
schema).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

Fragments = Mapping[str, FragmentDefinitionNode]


def project(value: Any, selection: SelectionSetNode | None, fragments: Fragments) -> Any:
    """`value` with only the fields `selection` names (lists element by element)."""
    if selection is None or value is None:
        return value
    if isinstance(value, list):
        return [project(v, selection, fragments) for v in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    _collect(value, selection, fragments, result)
    return result


def _collect(
    value: Mapping[str, Any],
    selection: SelectionSetNode,
    fragments: Fragments,
    result: dict[str, Any],
) -> None:
    for node in selection.selections:
        if isinstance(node, FieldNode):
            name = node.name.value
            key = node.alias.value if node.alias else name
            if name not in value:
                raise GraphQLError(
                    f"Field '{name}' doesn't exist on this type",
                    extensions={"code": "undefinedField", "fieldName": name},
                )
            result[key] = project(value[name], node.selection_set, fragments)
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition.name.value if node.type_condition else None
            if _applies(value, condition):
                _collect(value, node.selection_set, fragments, result)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is None:
                raise GraphQLError(f"Fragment {node.name.value} was used, but not defined")
            if _applies(value, fragment.type_condition.name.value):
                _collect(value, fragment.selection_set, fragments, result)


def _applies(value: Mapping[str, Any], condition: str | None) -> bool:
    typename = value.get("__typename")
    return condition is None or typename is None or typename == condition
