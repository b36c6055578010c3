"""The demo's summary as text: what a person reads to check that it all worked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from demo.realtime import Drive
from demo.summary import SiteSync, Webhooks, percentile


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [f"  {line}"]
    for row in rows:
        cells = (
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )
        out.append(f"  {'  '.join(cells)}")
    return out


def full_sync(syncs: Sequence[SiteSync], names: Mapping[str, str]) -> list[str]:
    rows = [
        [
            names[s.platform],
            s.status,
            f"{s.checked:,}",
            f"{s.changed:,}",
            f"{s.unchanged:,}",
            f"{s.failed:,}",
            f"{s.write_calls:,}",
            f"{s.store_requests:,}",
            f"{s.store_refused:,}",
            f"{s.seconds:.1f} s",
        ]
        for s in syncs
    ]
    headers = ["site", "status", "checked", "changed", "unchanged", "failed"]
    headers += ["write calls", "store requests", "refused (429)", "duration"]
    return ["full sync, per site:", *_table(headers, rows)]


def realtime(
    sent: Drive, hooks: Webhooks, seen: Sequence[float], expected: int, window: float
) -> list[str]:
    orders = sum(sent.store_orders.values())
    crafted = [f"    {c.what}: {', '.join(c.answers)}" for c in sent.crafted]
    # What happened, not a verdict: the targets are the benchmarks' (bench/latency.py).
    p95 = percentile(hooks.to_store, 95)
    duplicates = ", ".join(f"{n:,} {why}" for why, n in hooks.duplicates.most_common())
    lines = [
        "real-time path:",
        f"  sent: {len(sent.erp_skus):,} SKUs changed in the ERP ({sent.erp_changes:,} changes, "
        f"{sent.erp_notifications} Business Central notifications)",
        f"  and {orders} store orders ({_per_store(sent.store_orders)}), "
        "each with the store's own webhook",
        "  and what platforms also send (the receiver's answers):",
        *crafted,
        f"  webhooks received       {hooks.received:>6,}",
        f"  processed               {hooks.statuses['processed']:>6,}",
        f"  duplicates dropped      {hooks.statuses['duplicate']:>6,}  ({duplicates or 'none'})",
        f"  refused                 {hooks.statuses['rejected']:>6,}",
        *(f"    {why}: {n}" for why, n in hooks.refused.most_common()),
        f"  ignored                 {hooks.statuses['ignored']:>6,}",
        f"  failed                  {hooks.statuses['failed']:>6,}",
        f"  still pending           {hooks.pending:>6,}",
        f"  webhook to store (received -> store written, webhook log), "
        f"{len(hooks.to_store)} ERP events: p50 {_seconds(percentile(hooks.to_store, 50))}, "
        f"p95 {_seconds(p95)} (each waits the {window:g} s window that merges a burst "
        "into one store write)",
        f"  ERP change to store write confirmed, {len(seen)} of {expected} store values: "
        f"p50 {_seconds(percentile(seen, 50))}, p95 {_seconds(percentile(seen, 95))}",
    ]
    return lines


def _per_store(orders: Mapping[str, int]) -> str:
    return ", ".join(f"{platform} {count}" for platform, count in orders.items())


def equality(differing: Mapping[str, int], compared: int) -> list[str]:
    equal = not any(differing.values())
    detail = ", ".join(f"{p} {n:,} differ" for p, n in differing.items())
    return [
        f"stores equal to ERP: {'yes' if equal else 'NO'} "
        f"({compared:,} SKUs compared per store; {detail})"
    ]
