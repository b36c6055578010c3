"""Every registered provider, called as the receiver calls it (api/webhooks/registry.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.webhooks.event import Secret, SignatureError
from api.webhooks.registry import PROVIDERS
from tests.factories import signed
from tests.factories.signed import Signed

#: Per provider, a valid request and a stored secret of a shape it cannot use: a
#: mapping where a string belongs, or a mapping without the part that authenticates.
WRONG_SHAPES: dict[str, tuple[Callable[[], Signed], Secret]] = {
    "woocommerce": (signed.woocommerce, {"secret": signed.WC_SECRET}),
    "shopify": (signed.shopify, {"secret": signed.SHOPIFY_SECRET}),
    "standard": (signed.standard, {"secret": signed.STANDARD_SECRET}),
    "bigcommerce": (signed.bigcommerce, {"client_secret": signed.BC_CLIENT_SECRET}),
    "zoho": (signed.zoho, {"hmac_key": signed.ZOHO_HMAC_KEY}),
    "businesscentral": (signed.businesscentral, {"clientState": signed.CLIENT_STATE}),
}


def test_every_registered_provider_is_covered_here() -> None:
    assert sorted(WRONG_SHAPES) == sorted(PROVIDERS)


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_secret_stored_in_the_wrong_shape_refuses_every_delivery(name: str) -> None:
    """An operator's mistake must refuse (401, or Business Central's 200), never accept
    unchecked and never crash."""
    build, secret = WRONG_SHAPES[name]
    request = build()
    with pytest.raises(SignatureError):
        PROVIDERS[name].verify(request.body, request.received, secret, {})
