"""The token of an `Authorization: Bearer <token>` header (admin API, plugin endpoint)."""

from __future__ import annotations

#: Our keys and tokens are far shorter; anything much longer is not one of them.
MAX_TOKEN_LENGTH = 200


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None.

    The scheme is case-insensitive (RFC 7235). Anything unusable is None, so the caller
    has one refusal path and malformed headers never raise.
    """
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token
