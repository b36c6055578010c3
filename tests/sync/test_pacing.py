"""The request gate: short throttles are retried in place, honouring the server's wait;
anything longer, and failures without an answer, go up to the task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from connectors.errors import TransientError
from connectors.http import HttpClient
from sync.pacing import Gate, Pacing, calls_made, gate_connector

FAST = Pacing(retries=3, max_wait=0.5, base_seconds=0.01)


def answering(*outcomes: Exception | str) -> Callable[..., Any]:
    """A send function failing or answering with `outcomes`, in order."""
    remaining = list(outcomes)

    def send(method: str, path: str, **kwargs: Any) -> str:
        outcome = remaining.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send


def test_a_throttled_request_is_retried_in_place() -> None:
    gate = Gate(answering(TransientError("429", status=429, retry_after=0.05), "ok"), None, FAST)
    assert gate.request("GET", "x") == "ok"
    assert gate.calls == 2


def test_retries_in_place_are_bounded() -> None:
    errors = [TransientError("503", status=503) for _ in range(4)]
    gate = Gate(answering(*errors, "never"), None, FAST)
    with pytest.raises(TransientError):
        gate.request("GET", "x")
    assert gate.calls == 4  # the first try and three retries


def test_a_long_wait_goes_up_to_the_task_countdown() -> None:
    gate = Gate(answering(TransientError("429", status=429, retry_after=30.0), "ok"), None, FAST)
    with pytest.raises(TransientError) as raised:
        gate.request("GET", "x")
    assert raised.value.retry_after == 30.0 and gate.calls == 1


def test_a_timeout_is_not_retried_in_place() -> None:
    gate = Gate(answering(TransientError("timed out"), "ok"), None, FAST)
    with pytest.raises(TransientError):
        gate.request("GET", "x")


def test_gating_a_connector_routes_every_request_through_the_gate() -> None:
    class Store:
        def __init__(self) -> None:
            self.http = HttpClient("test", "http://127.0.0.1:1")

    class Auth:
        def __init__(self) -> None:
            self.http = HttpClient("test", "http://127.0.0.1:1")

    class Erp:
        def __init__(self) -> None:
            self.api = Auth()

    store, erp = Store(), Erp()
    store_gate, erp_gate = gate_connector(store, None, FAST), gate_connector(erp, None, FAST)
    assert store.http.request == store_gate.request
    assert erp.api.http.request == erp_gate.request
    assert calls_made(store) == 0 and calls_made(object()) is None
    with pytest.raises(TypeError):
        gate_connector(object(), None, FAST)
