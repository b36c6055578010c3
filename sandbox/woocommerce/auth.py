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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
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


class Authenticator:
    """Checks one request against the store's single consumer key/secret pair."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self.key = consumer_key
        self.secret = consumer_secret
        self.nonces = NonceLedger()

    def authenticate(self, request: Request) -> bool:
        """True if authenticated, False if no credentials; WcError(401) if they are wrong."""
        # PHP's $_GET keeps the last value of a repeated parameter; the official client
        # sends its query twice over HTTP (once in the signed URL, once as `params`).
        params = dict(request.args.items(multi=True))
        key, secret = params.get("consumer_key"), params.get("consumer_secret")
        if not (key and secret) and request.authorization is not None:
            key = request.authorization.username
            secret = request.authorization.password
        if key and secret and hmac.compare_digest(key.encode(), self.key.encode()):
            if hmac.compare_digest(secret.encode(), self.secret.encode()):
                return True
            raise _auth_error("Consumer secret is invalid.")
        return self._oauth(request, params)

    def _oauth(self, request: Request, params: dict[str, str]) -> bool:
        missing = [name for name in OAUTH_PARAMS if not params.get(name)]
        if len(missing) == len(OAUTH_PARAMS):
            return False
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise WcError(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth parameter{plural} {', '.join(missing)}",
                401,
            )
        if not hmac.compare_digest(params["oauth_consumer_key"].encode(), self.key.encode()):
            raise _auth_error("Consumer key is invalid.")
        if params["oauth_signature_method"] not in HASHES:
            raise _auth_error("Invalid signature - signature method is invalid.")
        # The signed URL is the site URL plus the path, without the query (WC uses its
        # home URL; the sandbox's home is whatever host the client addressed).
        url = request.host_url.rstrip("/") + request.path
        expected = oauth_signature(request.method, url, params, self.secret)
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
        return True
