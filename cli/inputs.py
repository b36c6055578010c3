"""What the site and source commands read from their options: JSON objects and
secrets given inline or as @file, and the help text listing each platform's keys.

A bad value is one line naming the option (and the file), exit code 2 like click's
own usage errors, and never the value itself: it may be a credential.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from sync.accounts import BASE_URL_EXAMPLES, WEBHOOK_SECRETS, credential_keys


class InputError(click.ClickException):
    """A value the command line cannot use: one line on stderr, exit code 2."""

    exit_code = 2


def _read(option: str, value: str) -> tuple[str, str | None]:
    """The option's text, and the file it came from (None if inline)."""
    if not value.startswith("@"):
        return value, None
    path = value[1:]
    if not path:
        raise InputError(f"{option}: give a file name after @")
    try:
        return Path(path).read_text(encoding="utf-8"), path
    except FileNotFoundError:
        raise InputError(f"{option}: no file {path}") from None
    except IsADirectoryError:
        raise InputError(f"{option}: {path} is a directory, not a file") from None
    except PermissionError:
        raise InputError(f"{option}: cannot read {path}: permission denied") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise InputError(f"{option}: cannot read {path}: {reason}") from None


def _parse(option: str, text: str, path: str | None) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        # The decoder's message names a position, never the text around it.
        why = getattr(error, "msg", "not JSON")
        where = f"{path} is not valid JSON" if path else "not valid JSON"
        raise InputError(f"{option}: {where} ({why}); give a JSON object or @file.json") from None


def json_object(option: str, value: str) -> dict[str, Any]:
    """A JSON object given inline or as @path (keeps credentials out of shell history)."""
    text, path = _read(option, value)
    parsed = _parse(option, text, path)
    if not isinstance(parsed, dict):
        where = f"{path} holds" if path else "got"
        raise InputError(f"{option}: {where} a JSON {_kind(parsed)}, not an object")
    return parsed


def secret(option: str, value: str | None) -> str | dict[str, Any] | None:
    """A webhook secret: a plain string, a JSON object ({...}), or @path to a file
    holding either as JSON (a string in quotes, or an object)."""
    if value is None or not value.startswith(("{", "@")):
        return value
    text, path = _read(option, value)
    parsed = _parse(option, text, path)
    if not isinstance(parsed, (str, dict)):
        where = f"{path} holds" if path else "got"
        raise InputError(f"{option}: {where} a JSON {_kind(parsed)}, not a string or object")
    return parsed


def _kind(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def keys_help(platforms: Iterable[str]) -> str:
    """Each platform's credential keys and webhook secret, as click help paragraphs
    that keep their lines (`\\b`), from connectors/credentials.py and
    sync/accounts.py's WEBHOOK_SECRETS: the same tables the service checks."""
    platforms = list(platforms)
    keys = ["\b", "--credentials keys (a JSON object, or @file.json):"]
    secrets = ["\b", "--webhook-secret, by platform:"]
    for platform in platforms:
        keys += [
            f"{platform} (--base-url {BASE_URL_EXAMPLES[platform]}):",
            credential_keys(platform),
        ]
        secrets.append(f"  {platform}: {WEBHOOK_SECRETS[platform]}")
    return "\n".join(keys) + "\n\n" + "\n".join(secrets)
