"""A `connectors.interfaces.CostMeter` for connector tests: it keeps what it is told."""

from __future__ import annotations

from connectors.types import CostReport


class Recorder:
    """A meter that pays every price at once and keeps what it was told."""

    def __init__(self) -> None:
        self.spent: list[float] = []
        self.settled: list[tuple[float, CostReport | None]] = []

    def spend(self, cost: float) -> None:
        self.spent.append(cost)

    def settle(self, requested: float, report: CostReport | None) -> None:
        self.settled.append((requested, report))
