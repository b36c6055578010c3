"""Every string of a JSON value rewritten, keys included, at any depth, as a copy."""

from __future__ import annotations

import json

from models.json_strings import map_strings


def test_strings_and_keys_change_others_stay_and_the_original_is_untouched() -> None:
    value = {"a": ["x", 1, {"b": "x", "x": None}], "drop": "x", "n": 2.5}
    copy = map_strings(value, str.upper, drop_key=lambda key: key == "drop")
    assert copy == {"A": ["X", 1, {"B": "X", "X": None}], "N": 2.5}
    assert value == {"a": ["x", 1, {"b": "x", "x": None}], "drop": "x", "n": 2.5}
    assert map_strings("x", str.upper) == "X" and map_strings(3, str.upper) == 3


def test_json_nested_as_deep_as_the_parser_allows_is_walked() -> None:
    value = json.loads("[" * 900 + '"x"' + "]" * 900)
    assert "X" in json.dumps(map_strings(value, str.upper))
