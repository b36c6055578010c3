"""Access tokens issued by a sandbox's OAuth endpoint, as both ERP sandboxes need them.

Business Central (Entra ID) and Zoho both hand out bearer-style tokens that the API then
checks on every call (docs/platforms.md sections 6 and 7). Tests count the tokens minted, to
prove connectors share one, and revoke them all, to prove a 401 is answered by minting a
new token once.
"""

from __future__ import annotations

import threading


class IssuedTokens:
    """The live tokens of one sandbox, under their `Authorization` scheme."""

    def __init__(self, scheme: str, prefix: str) -> None:
        self.scheme = scheme
        self.prefix = prefix
        self.minted = 0
        self._live: set[str] = set()
        self._lock = threading.Lock()

    def mint(self) -> str:
        """A new token, valid until `revoke_all`. Predictable on purpose: it is a sandbox."""
        with self._lock:
            self.minted += 1
            token = f"{self.prefix}-{self.minted}"
            self._live.add(token)
            return token

    def revoke_all(self) -> None:
        """Fail every token issued so far with 401, as an expiry or a revocation does."""
        with self._lock:
            self._live.clear()

    def accepts(self, authorization: str) -> bool:
        """Whether an `Authorization` header value carries a live token of our scheme."""
        scheme, _, token = authorization.partition(" ")
        with self._lock:
            return scheme == self.scheme and token in self._live
