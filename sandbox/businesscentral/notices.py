"""How the Business Central sandbox sends notifications and what an answer does to a
subscription (docs/platforms.md section 7, "Answers").

BC retries a notification for 36 hours when the subscriber answers 408, 429 or 5xx (or
cannot be reached); any other answer that is not 2xx deletes the subscription at once
(`dynamics-subscriptions.md`; MicrosoftDocs/dynamics365smb-devitpro-pb#2584). The
sandbox does not resend: a subscription failing for longer than `RETRY_PERIOD` on its
clock is deleted when the clock next moves (`BusinessCentralState.clock_advanced`), and
in between it keeps getting every new notification, as BC's retries would reach it.

`sandbox.base.WebhookSender` reports only success or failure, and the BC rule needs the
status, so `NoticeSender` keeps the status of the delivery just attempted. Its one
thread posts and then runs the delivery's callback, so inside that callback
`last_status` is that delivery's answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import requests

from sandbox.base import WebhookSender

#: How long BC keeps retrying an unreachable subscriber (section 7).
RETRY_PERIOD = timedelta(hours=36)


def retried(status: int | None) -> bool:
    """Whether BC retries after this answer (None: no answer at all) rather than
    deleting the subscription (section 7)."""
    return status is None or status in (408, 429) or status >= 500


class _StatusSession(requests.Session):
    """A session remembering the status of its last POST (None if it got no answer)."""

    last_status: int | None = None

    def post(self, url: Any, data: Any = None, json: Any = None, **kwargs: Any) -> Any:
        self.last_status = None
        response = super().post(url, data=data, json=json, **kwargs)
        self.last_status = response.status_code
        return response


class NoticeSender(WebhookSender):
    """`WebhookSender` that also tells the delivery callback which status came back."""

    def __init__(self) -> None:
        super().__init__()
        self._status_session = _StatusSession()
        self._session = self._status_session

    @property
    def last_status(self) -> int | None:
        """The answer to the delivery whose callback is running (sender thread only)."""
        return self._status_session.last_status
