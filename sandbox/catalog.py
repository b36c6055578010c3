"""Deterministic seed catalogs, so an ERP sandbox and store sandboxes built apart agree.

SKU i is `SKU-000001`-style. The ERP quantity of a SKU is a pure function of it; a store
seeded with `drift > 0` holds a different quantity for that share of SKUs, which is
what a full sync must repair.
"""

from __future__ import annotations

import zlib


def sku_for(index: int) -> str:
    return f"SKU-{index:06d}"


def skus(count: int) -> list[str]:
    return [sku_for(i) for i in range(1, count + 1)]


def _bucket(sku: str, salt: str) -> int:
    return zlib.crc32(f"{salt}:{sku}".encode())


def erp_quantity(sku: str, seed: int = 0) -> int:
    """The ERP's stock for `sku` at start-up."""
    return _bucket(sku, f"erp{seed}") % 500


def store_quantity(sku: str, drift: float, seed: int = 0) -> int:
    """A store's starting stock: the ERP's, except for a `drift` share of SKUs."""
    if (_bucket(sku, f"drift{seed}") % 10_000) < drift * 10_000:
        return (erp_quantity(sku, seed) + 1 + _bucket(sku, "delta") % 50) % 550
    return erp_quantity(sku, seed)
