"""The sellable number: the formula by table, and its promises by property."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.types import SourceItem
from sync.sellable import (
    BufferUnit,
    RuleKind,
    SkuRule,
    StockBasis,
    StockPolicy,
    basis_figure,
    recorded_reading,
    sellable,
)

UNITS, PERCENT = BufferUnit.UNITS, BufferUnit.PERCENT


@pytest.mark.parametrize(
    ("reading", "policy", "expected"),
    [
        (10, StockPolicy(), 10),
        (10, StockPolicy(2, UNITS), 8),
        (2, StockPolicy(2, UNITS), 0),
        (1, StockPolicy(2, UNITS), 0),
        (5, StockPolicy(2, UNITS, floor=3), 3),
        (4, StockPolicy(2, UNITS, floor=3), 0),
        (0, StockPolicy(0, UNITS, floor=1), 0),
        (-4, StockPolicy(), 0),
        # 10 % of 9 keeps 8.1 sellable: rounded down to 8, never up.
        (9, StockPolicy(10, PERCENT), 8),
        (10, StockPolicy(10, PERCENT), 9),
        (1, StockPolicy(1, PERCENT), 0),
        (100, StockPolicy(100, PERCENT), 0),
        (100, StockPolicy(0, PERCENT), 100),
        (7, StockPolicy(50, PERCENT, floor=4), 0),
        (8, StockPolicy(50, PERCENT, floor=4), 4),
    ],
)
def test_buffer_then_floor(reading: int, policy: StockPolicy, expected: int) -> None:
    assert sellable(reading, policy) == expected


@pytest.mark.parametrize(
    ("available_for_sale", "basis", "expected"),
    [
        (6, StockBasis.ON_HAND, 10),
        (6, StockBasis.AVAILABLE_FOR_SALE, 6),
        (None, StockBasis.ON_HAND, 10),
        # An ERP without the figure (Business Central): none, never a guess.
        (None, StockBasis.AVAILABLE_FOR_SALE, None),
    ],
)
def test_the_basis_picks_the_erp_figure(
    available_for_sale: int | None, basis: StockBasis, expected: int | None
) -> None:
    reading = SourceItem("SKU-1", 10, "1", datetime.now(UTC), available_for_sale=available_for_sale)
    assert basis_figure(reading, StockPolicy(basis=basis)) == expected


#: Three warehouses: (on hand, available-for-sale) each; the item level is their sum.
WAREHOUSES = {"W1": (10, 7), "W2": (4, 4), "W3": (6, 5), "W4": (0, -3)}


@pytest.mark.parametrize(
    ("locations", "basis", "expected"),
    [
        (None, StockBasis.ON_HAND, 20),
        (("W1", "W3"), StockBasis.ON_HAND, 16),
        (("W1", "W3"), StockBasis.AVAILABLE_FOR_SALE, 12),
        (("W2",), StockBasis.AVAILABLE_FOR_SALE, 4),
        # A location the item is not stocked at (absent from the reading) counts 0.
        (("W2", "W9"), StockBasis.ON_HAND, 4),
        # An over-committed warehouse nets against another; a negative sum is 0.
        (("W2", "W4"), StockBasis.AVAILABLE_FOR_SALE, 1),
        (("W4",), StockBasis.AVAILABLE_FOR_SALE, 0),
    ],
)
def test_a_location_mapping_sums_the_mapped_locations(
    locations: tuple[str, ...] | None, basis: StockBasis, expected: int
) -> None:
    reading = SourceItem(
        "SKU-1", 20, "1", datetime.now(UTC), available_for_sale=16, locations=WAREHOUSES
    )
    policy = StockPolicy(basis=basis, locations=locations)
    assert basis_figure(reading, policy) == expected
    assert sellable(expected, StockPolicy(2, UNITS, floor=3, locations=locations)) == (
        0 if expected - 2 < 3 else expected - 2
    )


def test_a_mapping_without_per_location_figures_gives_no_figure() -> None:
    """A reading without `locations` (Business Central, or a Zoho answer without
    `locations[]`), or a location without available-for-sale: none, never a guess."""
    now = datetime.now(UTC)
    mapped = StockPolicy(locations=("W1",))
    assert basis_figure(SourceItem("SKU-1", 20, "1", now, available_for_sale=16), mapped) is None
    partial = SourceItem("SKU-1", 20, "1", now, locations={"W1": (10, None)})
    assert basis_figure(partial, mapped) == 10
    for_sale = StockPolicy(basis=StockBasis.AVAILABLE_FOR_SALE, locations=("W1",))
    assert basis_figure(partial, for_sale) is None


def test_an_override_is_written_as_given_and_an_opt_out_never() -> None:
    policy = StockPolicy(5, UNITS, floor=10)
    assert sellable(2, policy, SkuRule(RuleKind.OVERRIDE, 7)) == 7
    assert sellable(100, policy, SkuRule(RuleKind.OVERRIDE, 0)) == 0
    assert sellable(100, policy, SkuRule(RuleKind.OPT_OUT)) is None


policies = st.builds(
    StockPolicy,
    buffer=st.integers(0, 1000),
    unit=st.just(UNITS),
    floor=st.integers(0, 1000),
) | st.builds(
    StockPolicy,
    buffer=st.integers(0, 100),
    unit=st.just(PERCENT),
    floor=st.integers(0, 1000),
)
readings = st.integers(-1000, 10**9)


@given(readings, policies)
def test_never_more_than_the_erp_has_nor_below_zero(reading: int, policy: StockPolicy) -> None:
    number = sellable(reading, policy)
    assert number is not None
    assert 0 <= number <= max(0, reading)


@given(readings, policies)
def test_a_positive_number_is_at_least_the_floor(reading: int, policy: StockPolicy) -> None:
    number = sellable(reading, policy)
    assert number == 0 or number >= policy.floor


@given(readings, readings, policies)
def test_more_stock_never_sells_less(low: int, high: int, policy: StockPolicy) -> None:
    low, high = sorted((low, high))
    assert sellable(low, policy) <= sellable(high, policy)  # type: ignore[operator]


@given(st.integers(0, 10**9), st.integers(0, 100))
def test_a_percent_buffer_rounds_the_sellable_number_down(reading: int, pct: int) -> None:
    exact = Fraction(reading * (100 - pct), 100)
    assert sellable(reading, StockPolicy(pct, PERCENT)) == math.floor(exact)


@pytest.mark.parametrize("locations", [None, ("W1", "W3")])
@pytest.mark.parametrize("basis", list(StockBasis))
def test_a_recorded_reading_gives_its_figure_back(
    locations: tuple[str, ...] | None, basis: StockBasis
) -> None:
    """The store-order path rebuilds readings from `items.erp_quantity`: whatever the
    site's basis and mapping, the figure is the one it last sold from."""
    reading = recorded_reading("SKU-1", 7, "1", datetime.now(UTC), locations)
    assert basis_figure(reading, StockPolicy(basis=basis, locations=locations)) == 7
