"""What the demo's sandboxes allow and how fast they answer (README, "The two commands").

By default each sandbox runs on its platform's profile (`sandbox.profiles`: the
default limits a merchant's account meets and a typical latency per call), sped up
`speed` times so that the demo ends in about 3 minutes, and the source and the sites
are registered with the budgets those scaled limits allow. So stocksync meets what it
meets in a real store, in the same order, only sooner: a sandbox kinder than the
platform would let a demo pass that a merchant's store would fail (docs/style.md,
last list).

`lab` is the sandboxes' own default instead: no limits, answers in 0 ms, and budgets
no sync reaches (`SANDBOX_QUOTA`); what stocksync itself can do on this machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from demo.registration import SANDBOX_QUOTA
from sandbox.profiles import PROFILES, Profile

#: How many times faster than the platforms the demo runs by default, for the 20,000-SKU
#: demo to end within 3 minutes on 2 cores: WooCommerce's full sync is most of it (about
#: 2,300 calls at 300 per window, 2 at once; its platform floor, bench/platform_floor.py).
#: At 10 the demo took 3 min 01 s with WooCommerce 141 s of it; at 12, 2 min 39 s.
DEFAULT_SPEED = 12.0


@dataclass(frozen=True)
class Pace:
    """The demo's sandboxes on their profiles `speed` times faster, or (`lab`) on none."""

    speed: float = DEFAULT_SPEED
    lab: bool = False

    def profile(self, platform: str) -> Profile:
        """`platform`'s profile at this speed."""
        return PROFILES[platform].scaled(self.speed)

    def knobs(self, platform: str) -> dict[str, Any]:
        """`platform`'s sandbox settings (`SandboxConfig` keyword arguments)."""
        return {} if self.lab else self.profile(platform).knobs()

    def quota(self, platform: str) -> Mapping[str, int | None]:
        """The budget `platform`'s site or source is registered with."""
        return SANDBOX_QUOTA if self.lab else self.profile(platform).quota()

    def describe(self, platforms: Iterable[str]) -> list[str]:
        """One line per platform saying what its sandbox allows, for the demo's output."""
        if self.lab:
            return [
                "  every sandbox a lab (--lab): no limits, answers in 0 ms, budgets no sync reaches"
            ]
        return [f"  {platform}: {self.profile(platform).describe()}" for platform in platforms]

    def timeout(self, seconds: float) -> float:
        """A wait the demo allows at the default speed, stretched for a slower one: at
        `--speed 1` every platform takes DEFAULT_SPEED times as long to allow the same work."""
        return seconds * max(1.0, DEFAULT_SPEED / self.speed)
