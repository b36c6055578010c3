"""The seeded WooCommerce catalog: products, variations, their REST JSON and stock writes.

Ids share one integer space, as WordPress post ids do: a variation is a post too, which
is why `GET /products/<variation id>` finds it (docs/platforms.md section 1, INFERRED). Every
lookup is a dict or list index, so a 20,000-SKU store pages as fast as a small one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.catalog import sku_for, store_quantity
from sandbox.woocommerce.errors import WcError, invalid_param

#: Every 10th product is `variable` with 3 variations, each a sellable SKU.
VARIABLE_EVERY = 10
VARIATIONS_PER_PRODUCT = 3
FIRST_ID = 100
SEEDED_AT = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Product:
    """One post: a `simple` or `variable` product, or a `variation` of one."""

    id: int
    name: str
    sku: str
    type: str
    parent_id: int = 0
    manage_stock: bool = True
    stock_quantity: int | None = None
    modified: datetime = SEEDED_AT
    variations: list[int] = field(default_factory=list)
    #: `publish`, or `trash` once the merchant deleted it from the admin.
    status: str = "publish"

    @property
    def sellable(self) -> bool:
        """A variable parent is not bought itself; its variations are; nothing trashed is."""
        return self.type != "variable" and self.status != "trash"


class Catalog:
    """All posts by id, plus the two indexes the REST routes need."""

    def __init__(self, items: int, drift: float, seed: int) -> None:
        self.records: dict[int, Product] = {}
        #: Top-level product ids in creation (= id) order: what `GET /products` pages.
        self.top_ids: list[int] = []
        self.by_sku: dict[str, int] = {}
        self._seed(items, drift, seed)

    def _seed(self, items: int, drift: float, seed: int) -> None:
        """Exactly `items` sellable SKUs, `SKU-000001` upwards, in simple and variable products."""
        next_id, assigned, number = FIRST_ID, 0, 0
        while assigned < items:
            number += 1
            variable = number % VARIABLE_EVERY == 0 and items - assigned >= VARIATIONS_PER_PRODUCT
            if not variable:
                assigned += 1
                sku = sku_for(assigned)
                self._add(
                    Product(
                        next_id,
                        f"Product {number}",
                        sku,
                        "simple",
                        stock_quantity=store_quantity(sku, drift, seed),
                    )
                )
                next_id += 1
                continue
            parent = Product(
                next_id, f"Product {number}", f"PARENT-{number:06d}", "variable", manage_stock=False
            )
            self._add(parent)
            for option in range(1, VARIATIONS_PER_PRODUCT + 1):
                next_id += 1
                assigned += 1
                sku = sku_for(assigned)
                self._add(
                    Product(
                        next_id,
                        f"Product {number} - option {option}",
                        sku,
                        "variation",
                        parent_id=parent.id,
                        stock_quantity=store_quantity(sku, drift, seed),
                    )
                )
                parent.variations.append(next_id)
            next_id += 1

    def _add(self, product: Product) -> None:
        self.records[product.id] = product
        self.by_sku[product.sku] = product.id
        if not product.parent_id:
            self.top_ids.append(product.id)

    # Reads -----------------------------------------------------------------------------

    def sellable(self) -> Iterator[Product]:
        return (p for p in self.records.values() if p.sellable)

    def sellable_by_sku(self, sku: str) -> Product | None:
        product = self.records.get(self.by_sku.get(sku, 0))
        return product if product is not None and product.sellable else None

    def top_level_page(self, page: int, per_page: int, descending: bool) -> list[Product]:
        """One page of top-level products, sliced by index, never copying the id list."""
        count = len(self.top_ids)
        if descending:
            stop = count - (page - 1) * per_page
            ids = self.top_ids[max(0, stop - per_page) : max(0, stop)][::-1]
        else:
            ids = self.top_ids[(page - 1) * per_page : page * per_page]
        return [self.records[i] for i in ids]

    def matching(
        self, skus: Iterable[str] | None, include: Iterable[int] | None, descending: bool
    ) -> list[Product]:
        """`sku` and `include` filters. A SKU filter also finds variations (section 2)."""
        if skus is not None:
            found = [self.records[self.by_sku[s]] for s in skus if s in self.by_sku]
            if include is not None:
                wanted = set(include)
                found = [p for p in found if p.id in wanted]
        else:
            found = [self.records[i] for i in include or () if i in self.records]
            found = [p for p in found if not p.parent_id]
        return sorted({p.id: p for p in found}.values(), key=lambda p: p.id, reverse=descending)

    def variations_of(self, product_id: int) -> list[Product]:
        parent = self.records.get(product_id)
        return [self.records[i] for i in parent.variations] if parent else []

    def stock_status(self, product: Product) -> str:
        """Derived like WC does when stock is managed: no backorders, so 0 is out of stock."""
        if product.type == "variable":
            children = (self.records[i] for i in product.variations)
            return (
                "instock"
                if any(self.stock_status(c) == "instock" for c in children)
                else ("outofstock")
            )
        if product.manage_stock:
            return "instock" if (product.stock_quantity or 0) > 0 else "outofstock"
        return "instock"

    def to_json(self, product: Product, api_root: str) -> dict[str, Any]:
        """The v3 product view (the subset stocksync and the webhook payload need)."""
        stamp = product.modified.strftime("%Y-%m-%dT%H:%M:%S")
        links: dict[str, list[dict[str, str]]] = {
            "self": [{"href": f"{api_root}/products/{product.id}"}],
            "collection": [{"href": f"{api_root}/products"}],
        }
        if product.parent_id:
            links["up"] = [{"href": f"{api_root}/products/{product.parent_id}"}]
        return {
            "id": product.id,
            "name": product.name,
            "type": product.type,
            "status": product.status,
            "sku": product.sku,
            "parent_id": product.parent_id,
            "date_modified": stamp,
            "date_modified_gmt": stamp,
            "manage_stock": product.manage_stock,
            "stock_quantity": product.stock_quantity if product.manage_stock else None,
            "stock_status": self.stock_status(product),
            "backorders": "no",
            "variations": list(product.variations),
            "_links": links,
        }

    # Writes ----------------------------------------------------------------------------

    def writable(self, raw_id: object, parent_id: int | None) -> Product:
        """The post an update item names, or WC's per-item invalid-id error (HTTP 400)."""
        post_type = "product" if parent_id is None else "product_variation"
        error = WcError(f"woocommerce_rest_{post_type}_invalid_id", "Invalid ID.", 400)
        if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
            raise error
        try:
            product = self.records.get(int(raw_id))
        except ValueError:
            raise error from None
        if product is None or (parent_id is not None and product.parent_id != parent_id):
            raise error
        return product

    def apply(self, product: Product, item: dict[str, Any]) -> bool:
        """Validate a whole update item, then apply it; True if anything changed.

        As in WC, `stock_quantity` only takes effect on a product that manages stock.
        """
        manage = item.get("manage_stock", product.manage_stock)
        if not isinstance(manage, bool):
            raise invalid_param("manage_stock", "manage_stock is not of type boolean.")
        quantity = item.get("stock_quantity", product.stock_quantity)
        if "stock_quantity" in item and (
            isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0
        ):
            raise invalid_param("stock_quantity", "stock_quantity must be an integer >= 0.")
        sku = item.get("sku", product.sku)
        if not isinstance(sku, str):
            raise invalid_param("sku", "sku is not of type string.")
        sku = sku.strip()
        if sku and self.by_sku.get(sku, product.id) != product.id:
            raise WcError("product_invalid_sku", "Invalid or duplicated SKU.", 400)
        changed = manage != product.manage_stock or sku != product.sku
        if sku != product.sku:
            self.by_sku.pop(product.sku, None)
            if sku:
                self.by_sku[sku] = product.id
        product.sku, product.manage_stock = sku, manage
        if manage and quantity != product.stock_quantity:
            product.stock_quantity, changed = quantity, True
        if changed:
            product.modified = datetime.now(UTC)
        return changed

    def trash(self, product: Product) -> None:
        """Move a top-level product and its variations to the trash, WordPress's delete:
        gone from listings and SKU lookups, while `GET /products/<id>` still answers it
        with `status: "trash"` (docs/platforms.md section 2)."""
        for post in [product, *(self.records[i] for i in product.variations)]:
            post.status = "trash"
            self.by_sku.pop(post.sku, None)
        self.top_ids.remove(product.id)

    def set_quantity(self, product: Product, quantity: int) -> bool:
        """A stock change from outside the API (an order, the admin): no validation."""
        if product.manage_stock and product.stock_quantity == quantity:
            return False
        product.manage_stock, product.stock_quantity = True, quantity
        product.modified = datetime.now(UTC)
        return True
