"""The BigCommerce sandbox's seeded catalog: products, variants and their V3 JSON.

Catalog shape (docs/platforms.md section 4): every 5th product has four option variants
(S, M, L, XL) and is tracked by variant; every other product is simple, with one base
variant, and is tracked by product. Only sellable variants carry catalog SKUs, so a
sandbox of `items` SKUs holds exactly `items` variants. As in BigCommerce, a product
with options has no `base_variant_id` and a base variant has no V2 `sku_id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.catalog import skus, store_quantity

OPTION_LABELS = ("S", "M", "L", "XL")
#: Id ranges kept apart so a test mixing up product, variant and SKU ids fails.
FIRST_PRODUCT_ID = 100
FIRST_VARIANT_ID = 100_000
FIRST_SKU_ID = 900_000


@dataclass
class Variant:
    id: int
    product_id: int
    sku: str
    #: The V2 SKU id that `store/sku/*` webhooks name; None for a base variant.
    sku_id: int | None
    option: str | None
    level: int


@dataclass
class Product:
    id: int
    sku: str
    tracking: str
    variants: list[Variant]

    @property
    def has_options(self) -> bool:
        return self.variants[0].option is not None


def seed_products(items: int, drift: float, seed: int) -> list[Product]:
    """Products in id order holding exactly `items` variants, SKU-000001 upwards."""
    all_skus = skus(items)
    products: list[Product] = []
    variant_count = start = 0
    while start < len(all_skus):
        product_id = FIRST_PRODUCT_ID + len(products)
        options = (len(products) + 1) % 5 == 0 and len(all_skus) - start >= len(OPTION_LABELS)
        group = all_skus[start : start + (len(OPTION_LABELS) if options else 1)]
        start += len(group)
        variants = []
        for n, sku in enumerate(group):
            variants.append(
                Variant(
                    id=FIRST_VARIANT_ID + variant_count,
                    product_id=product_id,
                    sku=sku,
                    sku_id=FIRST_SKU_ID + variant_count if options else None,
                    option=OPTION_LABELS[n] if options else None,
                    level=store_quantity(sku, drift, seed),
                )
            )
            variant_count += 1
        products.append(
            Product(
                id=product_id,
                sku="" if options else group[0],
                tracking="variant" if options else "product",
                variants=variants,
            )
        )
    return products


def product_json(product: Product, *, with_variants: bool) -> dict[str, Any]:
    """The V3 product fields stocksync reads; a tracked-by-variant product's level is
    the sum of its variants', as BigCommerce reports it."""
    body: dict[str, Any] = {
        "id": product.id,
        "name": f"Product {product.id}",
        "type": "physical",
        "sku": product.sku,
        "inventory_level": sum(v.level for v in product.variants),
        "inventory_warning_level": 0,
        "inventory_tracking": product.tracking,
        "base_variant_id": None if product.has_options else product.variants[0].id,
    }
    if with_variants:
        body["variants"] = [variant_json(v) for v in product.variants]
    return body


def variant_json(variant: Variant) -> dict[str, Any]:
    options = []
    if variant.option is not None:
        options = [
            {"id": 1, "label": variant.option, "option_id": 1, "option_display_name": "Size"}
        ]
    return {
        "id": variant.id,
        "product_id": variant.product_id,
        "sku": variant.sku,
        "sku_id": variant.sku_id,
        "inventory_level": variant.level,
        "inventory_warning_level": 0,
        "option_values": options,
    }
