"""The login throttle: per-address and overall limits in a sliding window, the token
never checked while throttled, and failures forgotten as they leave the window."""

from __future__ import annotations

from sqlalchemy import func, select, text

from models import LoginFailure
from sync.context import Context
from sync.login_throttle import Limits, Verdict, attempt

LIMITS = Limits(per_address=3, overall=5, window_seconds=60)


def _wrong(ctx: Context, address: str, limits: Limits = LIMITS) -> Verdict:
    return attempt(ctx, address, lambda: False, limits)


def _age(ctx: Context, seconds: int) -> None:
    """Move every recorded failure `seconds` into the past."""
    with ctx.sessions.begin() as session:
        session.execute(
            text("UPDATE login_failures SET at = at - make_interval(secs => :s)"), {"s": seconds}
        )


def test_an_address_is_refused_after_its_limit_without_the_token_being_checked(
    service: Context,
) -> None:
    assert [_wrong(service, "10.0.0.1").retry_after for _ in range(3)] == [None] * 3
    checked: list[str] = []

    def right() -> bool:
        checked.append("token")
        return True

    refused = attempt(service, "10.0.0.1", right, LIMITS)
    assert refused == Verdict(accepted=False, retry_after=refused.retry_after)
    assert refused.retry_after is not None and 55 <= refused.retry_after <= 60
    assert checked == []  # a throttled client learns nothing, not even from a right token
    # Another address is not affected, and a right token is accepted without a row.
    assert attempt(service, "10.0.0.2", right, LIMITS) == Verdict(accepted=True)
    with service.sessions() as session:
        assert session.execute(select(func.count()).select_from(LoginFailure)).scalar() == 3


def test_the_overall_cap_refuses_everyone(service: Context) -> None:
    for n in range(5):
        assert _wrong(service, f"10.0.1.{n}").retry_after is None
    assert _wrong(service, "10.0.2.1").retry_after is not None
    assert attempt(service, "10.0.2.2", lambda: True, LIMITS).retry_after is not None


def test_retry_after_says_when_the_oldest_counted_failure_leaves_the_window(
    service: Context,
) -> None:
    for _ in range(3):
        _wrong(service, "10.0.0.1")
    _age(service, 50)
    refused = _wrong(service, "10.0.0.1")
    assert refused.retry_after is not None and 5 <= refused.retry_after <= 10
    _age(service, 11)
    assert _wrong(service, "10.0.0.1").retry_after is None
    # The window's old rows are deleted as new failures come: only the new one is left.
    with service.sessions() as session:
        assert session.execute(select(func.count()).select_from(LoginFailure)).scalar() == 1
