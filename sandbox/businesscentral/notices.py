"""How the Business Central sandbox sends notifications and what an answer does to a
subscription (docs/platforms.md section 7, "Answers").

BC retries a notification for 36 hours when the subscriber answers 408, 429 or 5xx (or
cannot be reached); any other answer that is not 2xx deletes the subscription at once
(`dynamics-subscriptions.md`; MicrosoftDocs/dynamics365smb-devitpro-pb#2584). The
sandbox does not resend: a subscription failing for longer than `RETRY_PERIOD` on its
clock is deleted when the clock next moves (`BusinessCentralState.clock_advanced`), and
in between it keeps getting every new notification, as BC's retries would reach it.
"""

from __future__ import annotations

from datetime import timedelta

#: How long BC keeps retrying an unreachable subscriber (section 7).
RETRY_PERIOD = timedelta(hours=36)


def retried(status: int | None) -> bool:
    """Whether BC retries after this answer (None: no answer at all) rather than
    deleting the subscription (section 7)."""
    return status is None or status in (408, 429) or status >= 500
