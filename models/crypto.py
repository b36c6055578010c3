"""Credentials and webhook secrets are stored encrypted (Fernet), never in clear.

`Vault` wraps `MultiFernet`: the first key encrypts, every key decrypts, so a key is
rotated by putting the new one first in STOCKSYNC_ENCRYPTION_KEY, running
`stocksync keys rotate` (which re-encrypts every row), then dropping the old key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(ValueError):
    """A stored secret cannot be decrypted with any configured key."""


class Vault:
    def __init__(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            raise VaultError("no encryption key configured (STOCKSYNC_ENCRYPTION_KEY)")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, value: Mapping[str, Any] | str) -> str:
        """Encrypt a credentials mapping or a secret string."""
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise VaultError(
                "stored secret does not decrypt with any configured key "
                "(was STOCKSYNC_ENCRYPTION_KEY changed without rotation?)"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise VaultError("stored secret does not decrypt with any configured key") from None
