"""The README's onboarding tables say what the code checks: each platform's credential
keys (connectors/credentials.py) and the webhook secret it expects
(sync/accounts.py WEBHOOK_SECRETS), row for row."""

from __future__ import annotations

import re
from pathlib import Path

from connectors.credentials import CREDENTIAL_KEYS
from sync.accounts import BASE_URL_EXAMPLES, WEBHOOK_SECRETS

README = Path(__file__).resolve().parent.parent / "README.md"


def _section() -> list[str]:
    text = README.read_text()
    start = text.index("## Connecting a store or an ERP")
    return text[start : text.index("\n## ", start + 1)].splitlines()


def _rows(lines: list[str], start: int) -> list[list[str]]:
    """The cells of the table whose header is the first table line after `start`."""
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        # Markdown escapes `<` so `<hash>` is not read as a tag.
        rows.append([cell.strip().replace("\\<", "<") for cell in line.strip("|").split("|")])
    return rows


def test_each_platforms_credential_table_is_its_keys() -> None:
    lines = _section()
    for platform, keys in CREDENTIAL_KEYS.items():
        url = re.escape(BASE_URL_EXAMPLES[platform])
        heading = re.compile(
            rf"^\*\*.+\*\* \(`stocksync \w+ add --\w+ {platform} --base-url {url}`\):$"
        )
        (at,) = [i for i, line in enumerate(lines) if heading.match(line)]
        expected = [
            [f"`{key.name}`", "yes" if key.required else "no", key.help]
            for key in sorted(keys, key=lambda key: not key.required)
        ]
        assert _rows(lines, at) == expected, platform


def test_the_secret_table_names_each_platforms_secret() -> None:
    lines = _section()
    at = lines.index("| platform | `--webhook-secret` |")
    assert _rows(lines, at) == [
        [f"`{platform}`", WEBHOOK_SECRETS[platform]] for platform in CREDENTIAL_KEYS
    ]
    assert set(WEBHOOK_SECRETS) == set(CREDENTIAL_KEYS)
