"""A vault that counts its decryptions, for tests that a secret is opened only as often
as needed (each open is a secret in memory and a little CPU)."""

from __future__ import annotations

from typing import Any

from models.crypto import Vault


class CountingVault(Vault):
    """A vault that counts how often a secret is decrypted."""

    opened = 0

    def open(self, token: str) -> Any:
        self.opened += 1
        return super().open(token)
