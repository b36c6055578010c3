"""WooCommerce REST authentication: consumer key/secret, by HTTP Basic or OAuth 1.0a.

Follows `WC_REST_Authentication` (public copy of the WC source; docs/platforms.md section 2):

- Basic auth, or `consumer_key`/`consumer_secret` query parameters, which take
  precedence. WC accepts these only over HTTPS; the sandbox serves plain HTTP, so it
  accepts them as if it were HTTPS, which is how stocksync talks to a real store.
- One-legged OAuth 1.0a in the query string (what the official `woocommerce` client
  sends over plain HTTP), verified with WC's exact signature base string, a 15-minute
  timestamp window and single-use nonces.

An unknown key sent by Basic auth is not an error by itself, just "not logged in",
which the route then answers with its own 401 (`woocommerce_rest_cannot_view`, ...).

Each key carries WC's permissions, `read`, `write` or `read_write`, checked against the
request's method before the route is even matched (`check_user_permissions()` on
`rest_pre_dispatch`): a read-only key's POST is a 401 whatever its body, so a client can
learn a key's permissions without changing anything (docs/platforms.md section 2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from flask import Request

from sandbox.woocommerce.errors import WcError

OAUTH_WINDOW_SECONDS = 15 * 60
OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
HASHES = {"HMAC-SHA1": hashlib.sha1, "HMAC-SHA256": hashlib.sha256}


def _auth_error(message: str) -> WcError:
    return WcError("woocommerce_rest_authentication_error", message, 401)


class NonceLedger:
    """Nonces seen in the last 15 minutes, so a captured signed URL cannot be replayed.

    WC keeps them keyed by timestamp (one per second survives); a set is stricter.
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def use(self, nonce: str, now: float) -> bool:
        """Record `nonce`; False if it was already used inside the window."""
        with self._lock:
            # Insertion order is time order, so expired nonces sit at the front.
            while self._seen and next(iter(self._seen.values())) < now - OAUTH_WINDOW_SECONDS:
                del self._seen[next(iter(self._seen))]
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


def rfc3986(value: str) -> str:
    """PHP's `rawurlencode`: everything but A-Z a-z 0-9 - _ . ~ is percent-encoded."""
    return quote(value, safe="")


def signature_base_string(method: str, url: str, params: dict[str, str]) -> str:
    """WC's `check_oauth_signature` string: sort by key, encode, join, encode again."""
    pairs = (
        f"{rfc3986(key)}={rfc3986(value)}"
        for key, value in sorted(params.items())
        if key != "oauth_signature"
    )
    return f"{method}&{rfc3986(url)}&" + "%26".join(rfc3986(pair) for pair in pairs)


def oauth_signature(method: str, url: str, params: dict[str, str], secret: str) -> str:
    """base64(HMAC(secret + "&", base string)); the token secret is empty (one-legged)."""
    digest = HASHES[params["oauth_signature_method"]]
    base = signature_base_string(method, url, params)
    mac = hmac.new(f"{secret}&".encode(), base.encode(), digest).digest()
    return base64.b64encode(mac).decode()


#: WC's key permissions (`woocommerce_api_keys.permissions`) and the methods each allows.
PERMISSIONS = ("read", "write", "read_write")
_READS = ("GET", "HEAD")
_WRITES = ("POST", "PUT", "PATCH", "DELETE")


def check_permissions(permissions: str, method: str) -> None:
    """`WC_REST_Authentication::check_permissions()`: WcError(401) if the key may not."""
    if method in _READS and permissions not in ("read", "read_write"):
        raise _auth_error("The API key provided does not have read permissions.")
    if method in _WRITES and permissions not in ("write", "read_write"):
        raise _auth_error("The API key provided does not have write permissions.")
    if method not in (*_READS, *_WRITES, "OPTIONS"):
        raise _auth_error("Unknown request method.")


@dataclass(frozen=True)
class ApiKey:
    """One row of `woocommerce_api_keys`, and what its user may do. `manager`: the user
    has `manage_woocommerce` (an administrator or shop manager), which every webhook
    route requires (`wc_rest_check_manager_permissions('webhooks', ...)`)."""

    secret: str
    permissions: str
    manager: bool = True


class Authenticator:
    """Checks one request against the store's API keys.

    The key the sandbox is configured with is `read_write`; a test adds others
    (`add_key`), as a merchant creates keys under WooCommerce > Settings > Advanced.
    """

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        #: consumer key -> its row
        self.keys: dict[str, ApiKey] = {}
        self.nonces = NonceLedger()
        self.add_key(consumer_key, consumer_secret, "read_write")

    def add_key(
        self, consumer_key: str, consumer_secret: str, permissions: str, *, manager: bool = True
    ) -> None:
        if permissions not in PERMISSIONS:
            raise ValueError(f"permissions must be one of {', '.join(PERMISSIONS)}")
        self.keys[consumer_key] = ApiKey(consumer_secret, permissions, manager)

    def authenticate(self, request: Request) -> ApiKey | None:
        """The key if authenticated, None if no credentials; WcError(401) if they are
        wrong or the key's permissions do not allow the request's method."""
        # PHP's $_GET keeps the last value of a repeated parameter; the official client
        # sends its query twice over HTTP (once in the signed URL, once as `params`).
        params = dict(request.args.items(multi=True))
        key, secret = params.get("consumer_key"), params.get("consumer_secret")
        if not (key and secret) and request.authorization is not None:
            key = request.authorization.username
            secret = request.authorization.password
        found = self._find(key) if key and secret else None
        if found is not None and secret is not None:
            if not hmac.compare_digest(secret.encode(), found.secret.encode()):
                raise _auth_error("Consumer secret is invalid.")
            check_permissions(found.permissions, request.method)
            return found
        return self._oauth(request, params)

    def _find(self, key: str) -> ApiKey | None:
        """The (secret, permissions) of `key`, compared in constant time like WC's hash
        lookup, so a wrong key takes as long as a right one."""
        found = None
        for known, entry in self.keys.items():
            if hmac.compare_digest(key.encode(), known.encode()):
                found = entry
        return found

    def _oauth(self, request: Request, params: dict[str, str]) -> ApiKey | None:
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if len(missing) == len(OAUTH_PARAMS):
            return None
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise WcError(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth parameter{plural} {', '.join(missing)}",
                401,
            )
        found = self._find(params["oauth_consumer_key"])
        if found is None:
            raise _auth_error("Consumer key is invalid.")
        secret, permissions = found.secret, found.permissions
        if params["oauth_signature_method"] not in HASHES:
            raise _auth_error("Invalid signature - signature method is invalid.")
        # The signed URL is the site URL plus the path, without the query (WC uses its
        # home URL; the sandbox's home is whatever host the client addressed).
        url = request.host_url.rstrip("/") + request.path
        expected = oauth_signature(request.method, url, params, secret)
        given = unquote(params["oauth_signature"].replace(" ", "+"))
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise _auth_error("Invalid signature - provided signature does not match.")
        now = time.time()
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            raise _auth_error("Invalid timestamp.") from None
        if abs(stamp - now) > OAUTH_WINDOW_SECONDS:
            raise _auth_error("Invalid timestamp.")
        if not self.nonces.use(params["oauth_nonce"], now):
            raise _auth_error("Invalid nonce - nonce has already been used.")
        check_permissions(permissions, request.method)
        return found
