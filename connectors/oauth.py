"""OAuth access tokens for the ERP connectors: one shared token per account, renewed once on 401.

Both ERPs hand out short-lived bearer tokens (Zoho ~1 h, docs/platforms.md section 6; Entra ID
for Business Central ~1 h, section 7). Minting one per call or per worker is wasteful for
Business Central and fatal for Zoho, which allows only 10 access tokens per refresh token
per 10 minutes and then blocks the account for the rest of the window (section 6). So a
token lives in the shared `TokenCache` (Redis in the workers) under a key that names the
account without revealing its secrets, and every worker uses the same one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.errors import PermanentError
from connectors.http import HttpClient
from connectors.tokens import MemoryTokenCache, TokenCache

#: Seconds before the platform's expiry at which a cached token is dropped, so a token
#: read from the cache always outlives the request (and a page loop) that uses it.
EXPIRY_MARGIN = 300


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A freshly minted token and its lifetime in seconds, as the token endpoint gave it."""

    value: str
    expires_in: int


Mint = Callable[[], AccessToken]


def require(credentials: Mapping[str, str], platform: str, *names: str) -> None:
    """Fail with one clear `PermanentError` naming every missing credential.

    A source saved without, say, its refresh token can never succeed: retrying is useless,
    so the batch must record why.
    """
    missing = [name for name in names if not credentials.get(name)]
    if missing:
        raise PermanentError(f"{platform}: missing credentials: {', '.join(missing)}")


def cache_key(platform: str, *identity: str) -> str:
    """The cache key of one account: a hash of what identifies it, never a secret in clear.

    `identity` is what makes two tokens interchangeable (token URL, tenant, client id,
    refresh token). The client secret is left out: it proves the identity, it is not part
    of it, so rotating it keeps using the still-valid cached token.
    """
    digest = hashlib.sha256("\x00".join(identity).encode()).hexdigest()
    return f"oauth:{platform}:{digest}"


class TokenAuth:
    """Sends API calls with a cached bearer token; on a 401, renews it and retries once.

    A 401 means the cached token was revoked or expired early (clock skew, an admin
    disabling the app). One retry with a fresh token fixes that; a second 401 means the
    credentials themselves are refused, and retrying more would only burn Zoho's token
    quota, so it surfaces as the `PermanentError` it is.
    """

    def __init__(
        self,
        http: HttpClient,
        *,
        mint: Mint,
        key: str,
        scheme: str,
        token_cache: TokenCache | None = None,
    ) -> None:
        self.http = http
        self.mint = mint
        self.key = key
        self.scheme = scheme
        self.cache: TokenCache = token_cache if token_cache is not None else MemoryTokenCache()

    def token(self) -> str:
        """The cached token, or a newly minted (and cached) one."""
        return self.cache.get(self.key) or self._mint_and_store()

    def json(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        """`HttpClient.json` with the `Authorization` header, renewing the token once on 401."""
        token = self.token()
        try:
            return self.http.json(method, path, headers=self._with(token, headers), **kwargs)
        except PermanentError as exc:
            if exc.status != 401:
                raise
        token = self._renew(rejected=token)
        return self.http.json(method, path, headers=self._with(token, headers), **kwargs)

    def _with(self, token: str, headers: Mapping[str, str] | None) -> dict[str, str]:
        return {**(headers or {}), "Authorization": f"{self.scheme} {token}"}

    def _renew(self, *, rejected: str) -> str:
        # Another worker may have hit the same 401 and already cached a new token: use
        # it instead of minting a second one (each mint counts against Zoho's 10/10 min).
        current = self.cache.get(self.key)
        if current and current != rejected:
            return current
        return self._mint_and_store()

    def _mint_and_store(self) -> str:
        token = self.mint()
        ttl = token.expires_in - EXPIRY_MARGIN
        if ttl > 0:
            self.cache.set(self.key, token.value, ttl)
        return token.value
