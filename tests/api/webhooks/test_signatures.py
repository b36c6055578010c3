"""The two signature formulas providers share, and the readers every parser uses
(api/webhooks/signatures.py).

Each formula is checked through every provider that applies it, so a provider reading
the wrong header or the wrong part of its secret fails here. Requests are signed by
tests/factories/signed.py, independently of the code under test, and each case breaks
one thing. Whatever the break, the refusal is the one `SignatureError`: a ValueError or
binascii.Error escaping verification is a 500 at the receiver (docs/style.md rule 6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.webhooks import bigcommerce, shopify, standard, woocommerce, zoho
from api.webhooks.event import Headers, MalformedPayload, Secret, SignatureError
from api.webhooks.signatures import entity_id, load_json, verify_standard
from tests.factories import signed
from tests.factories.signed import Signed

Verify = Callable[[bytes, Headers, Secret], None]
#: What a provider is handed: raw body, lower-cased headers, the stored secret.
Sent = tuple[bytes, dict[str, str], Secret]


def _sent(
    request: Signed,
    secret: Secret,
    body: bytes | None = None,
    headers: dict[str, str | None] | None = None,
) -> Sent:
    """`request` as received, with `headers` set, or removed where None."""
    received = request.received
    for name, value in (headers or {}).items():
        if value is None:
            del received[name]
        else:
            received[name] = value
    return (request.body if body is None else body), received, secret


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- base64(HMAC-SHA256(key, raw body)): WooCommerce, Shopify, Zoho with an hmac_key ---


@dataclass(frozen=True)
class HmacCase:
    verify: Verify
    build: Callable[[], Signed]
    #: As the site or source stores it; `key` is the HMAC key inside it.
    secret: Secret
    key: str
    header: str

    def with_key(self, key: str) -> Secret:
        return key if isinstance(self.secret, str) else {**self.secret, "hmac_key": key}


HMAC_CASES = {
    "woocommerce": HmacCase(
        woocommerce.verify,
        signed.woocommerce,
        signed.WC_SECRET,
        signed.WC_SECRET,
        "x-wc-webhook-signature",
    ),
    "shopify": HmacCase(
        shopify.verify,
        signed.shopify,
        signed.SHOPIFY_SECRET,
        signed.SHOPIFY_SECRET,
        "x-shopify-hmac-sha256",
    ),
    "zoho": HmacCase(
        zoho.verify,
        lambda: signed.zoho(hmac_key=signed.ZOHO_HMAC_KEY),
        {"token": signed.ZOHO_TOKEN, "hmac_key": signed.ZOHO_HMAC_KEY},
        signed.ZOHO_HMAC_KEY,
        "x-zoho-webhook-signature",
    ),
}


def _hmac_signature(case: HmacCase, request: Signed, value: str | None) -> Sent:
    return _sent(request, case.secret, headers={case.header: value})


HMAC_BREAKS: dict[str, Callable[[HmacCase, Signed], Sent]] = {
    "wrong-secret": lambda c, r: _sent(r, c.with_key("not-the-key")),
    # The signature covers the raw bytes, not the JSON they encode.
    "space-appended": lambda c, r: _sent(r, c.secret, body=r.body + b" "),
    "digit-changed": lambda c, r: _sent(r, c.secret, body=r.body.replace(b"1", b"2", 1)),
    "header-missing": lambda c, r: _hmac_signature(c, r, None),
    "header-empty": lambda c, r: _hmac_signature(c, r, ""),
    "not-base64": lambda c, r: _hmac_signature(c, r, "%%%not-base64%%%"),
    "wrong-length": lambda c, r: _hmac_signature(c, r, _b64(bytes(16))),
    "hex-not-base64": lambda c, r: _hmac_signature(
        c, r, hmac.new(c.key.encode(), r.body, hashlib.sha256).hexdigest()
    ),
    # WSGI hands undecodable header bytes over as latin-1 characters.
    "not-ascii": lambda c, r: _hmac_signature(c, r, "\u00ff" * 44),
}


@pytest.mark.parametrize("provider", sorted(HMAC_CASES))
def test_a_request_signed_with_base64_hmac_of_the_body_is_accepted(provider: str) -> None:
    case = HMAC_CASES[provider]
    request = case.build()
    key = case.key.encode()
    # Signed again by hand, so the formula itself is checked and not only the builder.
    assert request.received[case.header] == _b64(
        hmac.new(key, request.body, hashlib.sha256).digest()
    )
    case.verify(*_sent(request, case.secret))


@pytest.mark.parametrize("provider", sorted(HMAC_CASES))
@pytest.mark.parametrize("break_", sorted(HMAC_BREAKS))
def test_an_hmac_request_broken_in_one_way_is_refused(provider: str, break_: str) -> None:
    case = HMAC_CASES[provider]
    with pytest.raises(SignatureError):
        case.verify(*HMAC_BREAKS[break_](case, case.build()))


# --- Standard Webhooks: the standard provider, and BigCommerce's signed deliveries ---


@dataclass(frozen=True)
class StandardCase:
    verify: Verify
    #: Takes `at` (signing time) and `msg_id`.
    build: Callable[..., Signed]
    secret: Secret
    wrong_secret: Secret


BC_SECRETS = {"header_secret": signed.BC_HEADER_SECRET, "client_secret": signed.BC_CLIENT_SECRET}
STANDARD_CASES = {
    "standard": StandardCase(
        standard.verify,
        signed.standard,
        signed.STANDARD_SECRET,
        "whsec_" + _b64(b"another key, also 32 bytes long."),
    ),
    "bigcommerce": StandardCase(
        bigcommerce.verify,
        signed.bigcommerce,
        BC_SECRETS,
        {**BC_SECRETS, "client_secret": "not-the-client-secret"},
    ),
}

#: A v1 entry that is well formed but signs nothing.
UNRELATED_V1 = "v1," + _b64(bytes(32))


def _signature(case: StandardCase, request: Signed, value: str) -> Sent:
    return _sent(request, case.secret, headers={"webhook-signature": value})


def _timestamp(case: StandardCase, request: Signed, value: str | None) -> Sent:
    return _sent(request, case.secret, headers={"webhook-timestamp": value})


def _signed_at(case: StandardCase, offset: timedelta) -> Signed:
    return case.build(at=datetime.now(UTC) + offset)


def _valid_v1(request: Signed) -> str:
    return request.received["webhook-signature"]


STANDARD_BREAKS: dict[str, Callable[[StandardCase, Signed], Sent]] = {
    "wrong-secret": lambda c, r: _sent(r, c.wrong_secret),
    "body-tampered": lambda c, r: _sent(r, c.secret, body=r.body + b" "),
    # The id and the timestamp are signed with the body.
    "id-changed": lambda c, r: _sent(r, c.secret, headers={"webhook-id": "msg_other"}),
    "timestamp-changed": lambda c, r: _timestamp(
        c, r, str(int(r.received["webhook-timestamp"]) + 1)
    ),
    "id-missing": lambda c, r: _sent(r, c.secret, headers={"webhook-id": None}),
    "id-empty": lambda c, r: _sent(r, c.secret, headers={"webhook-id": ""}),
    "timestamp-missing": lambda c, r: _timestamp(c, r, None),
    "timestamp-not-a-number": lambda c, r: _timestamp(c, r, "soon"),
    "timestamp-nan": lambda c, r: _timestamp(c, r, "nan"),
    "timestamp-infinite": lambda c, r: _timestamp(c, r, "1e400"),
    "timestamp-past-year-9999": lambda c, r: _timestamp(c, r, "9" * 30),
    "signature-empty": lambda c, r: _signature(c, r, ""),
    "signature-no-comma": lambda c, r: _signature(c, r, "v1"),
    "signature-two-commas": lambda c, r: _signature(c, r, "v1,a,b"),
    "signature-not-base64": lambda c, r: _signature(c, r, "v1,%%%not-base64%%%"),
    "signature-bad-padding": lambda c, r: _signature(c, r, "v1,abc"),
    "signature-not-ascii": lambda c, r: _signature(c, r, "v1,\u00e9\u00e9\u00e9\u00e9"),
    "signature-wrong-length": lambda c, r: _signature(c, r, "v1," + _b64(bytes(16))),
    "only-other-versions": lambda c, r: _signature(
        c, r, _valid_v1(r).replace("v1,", "v2,") + " " + _valid_v1(r).replace("v1,", "v1a,")
    ),
    "every-v1-wrong": lambda c, r: _signature(c, r, f"{UNRELATED_V1} v1,{_b64(b'x' * 32)}"),
    "body-not-utf8": lambda c, r: _sent(r, c.secret, body=b"\xff" + r.body),
    "signed-6-minutes-ago": lambda c, r: _sent(_signed_at(c, timedelta(minutes=-6)), c.secret),
    "signed-6-minutes-ahead": lambda c, r: _sent(_signed_at(c, timedelta(minutes=6)), c.secret),
}


@pytest.mark.parametrize("provider", sorted(STANDARD_CASES))
@pytest.mark.parametrize("minutes", [0, -4, 4])
def test_a_standard_webhooks_request_signed_within_five_minutes_is_accepted(
    provider: str, minutes: int
) -> None:
    case = STANDARD_CASES[provider]
    case.verify(*_sent(_signed_at(case, timedelta(minutes=minutes)), case.secret))


#: Key rotation: several space-separated entries; any v1 entry that matches is enough.
ROTATIONS = {
    "match-last": "{other} {valid}",
    "match-first": "{valid} {other}",
    "beside-other-versions": "v1a,{ed25519} v2,xyz {valid}",
}


@pytest.mark.parametrize("provider", sorted(STANDARD_CASES))
@pytest.mark.parametrize("rotation", sorted(ROTATIONS))
def test_any_matching_v1_entry_is_enough(provider: str, rotation: str) -> None:
    case = STANDARD_CASES[provider]
    request = case.build()
    signature = ROTATIONS[rotation].format(
        valid=_valid_v1(request), other=UNRELATED_V1, ed25519=_b64(bytes(64))
    )
    case.verify(*_signature(case, request, signature))


@pytest.mark.parametrize("provider", sorted(STANDARD_CASES))
@pytest.mark.parametrize("break_", sorted(STANDARD_BREAKS))
def test_a_standard_webhooks_request_broken_in_one_way_is_refused(
    provider: str, break_: str
) -> None:
    case = STANDARD_CASES[provider]
    with pytest.raises(SignatureError):
        case.verify(*STANDARD_BREAKS[break_](case, case.build()))


@pytest.mark.parametrize(("minutes", "reason"), [(-6, "too old"), (6, "too new")])
def test_a_timestamp_outside_five_minutes_is_refused_for_that_reason(
    minutes: int, reason: str
) -> None:
    """Not by accident: the request is otherwise correctly signed."""
    request = signed.standard(at=datetime.now(UTC) + timedelta(minutes=minutes))
    with pytest.raises(SignatureError, match=reason):
        verify_standard(request.body, request.received, signed.STANDARD_SECRET)


#: The key a `whsec_` secret stands for: what follows the prefix, base64-decoded.
STANDARD_KEY = base64.b64decode(signed.STANDARD_SECRET.removeprefix("whsec_"))


@pytest.mark.parametrize("body", [b"not json", b"[" * 1000], ids=["not-json", "deeply-nested"])
def test_verification_checks_the_signature_and_leaves_the_body_to_parse(body: bytes) -> None:
    """The standardwebhooks library parsed the body itself (json_parse defaults to
    True): a signed body that is not JSON was refused as a bad signature (401) instead
    of reaching parse (400), and a deeply nested one raised RecursionError, a 500."""
    verify_standard(body, signed.standard_by_hand(body, STANDARD_KEY), signed.STANDARD_SECRET)


# --- The readers every parser uses ---


def test_load_json_reads_a_json_body() -> None:
    assert load_json(b'{"id": 5, "sku": "A"}') == {"id": 5, "sku": "A"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{nope",
        b"\xff\xfe{}",
        # Python's json reads these; they are not JSON and PostgreSQL's jsonb refuses them.
        b'{"price": NaN}',
        b'{"price": Infinity}',
        b"[-Infinity]",
    ],
    ids=["empty", "truncated", "not-utf8", "nan", "infinity", "minus-infinity"],
)
def test_load_json_refuses_what_is_not_json(body: bytes) -> None:
    with pytest.raises(MalformedPayload, match="not JSON"):
        load_json(body)


@pytest.mark.parametrize(
    "body",
    [b"[" * 1000, b"[" * 5000 + b"]" * 5000, b'{"a":' * 65 + b"1" + b"}" * 65],
    ids=["unclosed", "5000-deep", "65-deep"],
)
def test_load_json_refuses_a_deeply_nested_body(body: bytes) -> None:
    """json's RecursionError escaped: 1 KB of '[' was a 500 at the receiver, before
    authentication for Business Central (whose verify reads clientState from the body)."""
    with pytest.raises(MalformedPayload):
        load_json(body)


def test_load_json_reads_64_levels() -> None:
    assert load_json(b"[" * 64 + b"]" * 64) is not None


@pytest.mark.parametrize("body", [b"[1e400]", b'{"price": -1e999}'], ids=["1e400", "-1e999"])
def test_load_json_refuses_a_number_past_a_float_s_range(body: bytes) -> None:
    """json reads 1e400 as infinity, which jsonb refuses: a signed body holding one was
    answered 503 on every retry and could fail its intake batch (api/intake.py)."""
    with pytest.raises(MalformedPayload, match="out of range"):
        load_json(body)


@pytest.mark.parametrize(
    ("value", "expected"), [(5, "5"), (0, "0"), ("4815000000044208", "4815000000044208")]
)
def test_entity_id_reads_an_int_or_a_string(value: Any, expected: str) -> None:
    assert entity_id(value, "id") == expected


@pytest.mark.parametrize("value", [None, "", True, False, 5.0, [5], {"id": 5}])
def test_entity_id_refuses_what_is_not_an_id(value: Any) -> None:
    with pytest.raises(MalformedPayload, match=r"data\.id"):
        entity_id(value, "data.id")
