"""SKU normalisation: the one place that decides when two SKUs are the same.

Rule: strip surrounding white space, then upper-case. ERPs and stores disagree on case
(Business Central upper-cases item numbers; WooCommerce keeps what the merchant typed),
and merchants paste SKUs with stray spaces. Business Central's item `number` is a
Code[20] field, so a SKU longer than 20 characters can never match an ERP item: it is
rejected here with a clear error rather than silently truncated into a collision.
"""

from __future__ import annotations

MAX_SKU_LENGTH = 20


class InvalidSku(ValueError):
    """The SKU is empty or cannot exist in the ERP."""


def normalize_sku(raw: object) -> str:
    """Return the canonical form of `raw`, or raise `InvalidSku`."""
    if not isinstance(raw, str):
        raise InvalidSku(f"SKU must be a string, got {type(raw).__name__}")
    sku = raw.strip().upper()
    if not sku:
        raise InvalidSku("SKU is empty")
    if len(sku) > MAX_SKU_LENGTH:
        raise InvalidSku(f"SKU {sku!r} is longer than {MAX_SKU_LENGTH} characters")
    return sku


def try_normalize_sku(raw: object) -> str | None:
    """Like `normalize_sku`, but None for a product that has no usable SKU.

    Catalog streams skip such products (they cannot be matched to the ERP).
    """
    try:
        return normalize_sku(raw)
    except InvalidSku:
        return None
