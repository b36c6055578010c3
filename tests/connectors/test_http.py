"""HttpClient against a tiny real HTTP server: error types, wait hints, bodies, redaction."""

from __future__ import annotations

import email.utils
import socket
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from connectors.errors import MAX_BODY_CHARS, ConnectorError, PermanentError, TransientError
from connectors.http import HttpClient, redact
from sandbox.server import running

SECRET = "cs_0123456789abcdef"


@Request.application
def replying(request: Request) -> Response:
    """Answers `/reply?status=&body=&retry_after=&type=` as asked; `/slow` after a second."""
    if request.path == "/slow":
        time.sleep(1.0)
        return Response("[]", mimetype="application/json")
    args = request.args
    response = Response(
        args.get("body", "{}"),
        int(args.get("status", "200")),
        content_type=args.get("type", "application/json"),
    )
    if "retry_after" in args:
        response.headers["Retry-After"] = args["retry_after"]
    return response


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with running(replying) as url:
        yield url


@pytest.fixture
def dead_url() -> Iterator[str]:
    """A URL whose port is bound but not listening: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def reply(server: str, **answer: Any) -> Any:
    """What `HttpClient.json` makes of the answer the server is told to give."""
    return HttpClient("test", server).json("GET", "reply", params=answer)


def full_text(exc: BaseException) -> str:
    """Everything a log line with a traceback would show of `exc`."""
    return "".join(traceback.format_exception(exc))


# Status codes --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_transient(server: str, status: int) -> None:
    with pytest.raises(TransientError) as caught:
        reply(server, status=status, body='{"message": "busy"}')

    assert caught.value.status == status
    assert f"test GET reply: HTTP {status} busy" == str(caught.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422])
def test_other_4xx_are_permanent(server: str, status: int) -> None:
    with pytest.raises(PermanentError) as caught:
        reply(server, status=status, body='{"code": "bad_thing", "message": "no"}')

    assert caught.value.status == status
    assert str(caught.value).endswith(f"HTTP {status} bad_thing: no")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('{"code": "rest_invalid_param", "message": "Invalid"}', "rest_invalid_param: Invalid"),
        ('{"status": 422, "title": "[Item with variant_id 1 ...]", "errors": {}}', "[Item"),
        ('{"errors": "[API] Invalid API key or access token"}', "[API] Invalid API key"),
        ('{"error": {"message": "nested"}}', "nested"),
        ("<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
    ],
)
def test_the_reason_is_read_from_each_platforms_error_shape(
    server: str, body: str, reason: str
) -> None:
    with pytest.raises(ConnectorError) as caught:
        reply(server, status=400, body=body)

    assert reason in str(caught.value)


def test_the_error_carries_the_body_cut_at_2000_characters(server: str) -> None:
    body = '{"title": "' + "x" * 5000 + '"}'
    with pytest.raises(PermanentError) as short:
        reply(server, status=422, body='{"title": "bad"}')
    with pytest.raises(TransientError) as long:
        reply(server, status=500, body=body)

    assert short.value.body == '{"title": "bad"}'
    assert long.value.body == body[:MAX_BODY_CHARS]
    assert MAX_BODY_CHARS == 2000


def test_a_2xx_that_is_not_json_is_transient(server: str) -> None:
    with pytest.raises(TransientError) as caught:
        reply(server, status=200, body="<html>maintenance</html>", type="text/html")

    assert str(caught.value) == "test GET reply: response is not JSON"
    assert caught.value.status == 200
    assert caught.value.body == "<html>maintenance</html>"


# Wait hints ----------------------------------------------------------------------------


def test_retry_after_in_seconds(server: str) -> None:
    with pytest.raises(TransientError) as caught:
        reply(server, status=429, retry_after="7")

    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("usegmt", [True, False])  # "GMT", or "-0000", which parses naive
def test_retry_after_as_an_http_date(server: str, usegmt: bool) -> None:
    in_30_s = email.utils.formatdate(time.time() + 30, usegmt=usegmt)
    with pytest.raises(TransientError) as caught:
        reply(server, status=503, retry_after=in_30_s)

    assert caught.value.retry_after == pytest.approx(30, abs=2)


@pytest.mark.parametrize("header", ["soon", "Wed, 99 Foo 2026 25:61:00 GMT", ""])
def test_a_garbled_retry_after_is_no_hint(server: str, header: str) -> None:
    with pytest.raises(TransientError) as caught:
        reply(server, status=503, retry_after=header)

    assert caught.value.retry_after is None


def test_a_date_in_the_past_means_now(server: str) -> None:
    with pytest.raises(TransientError) as caught:
        reply(server, status=503, retry_after=email.utils.formatdate(0, usegmt=True))

    assert caught.value.retry_after == 0.0


# Transport failures --------------------------------------------------------------------


def test_a_timeout_is_transient_and_names_the_exception(server: str) -> None:
    client = HttpClient("test", server, timeout=(2.0, 0.2))
    with pytest.raises(TransientError) as caught:
        client.json("GET", "slow")

    assert caught.value.status is None and caught.value.body is None
    assert str(caught.value).startswith("test GET slow: timed out (ReadTimeout: ")


def test_a_refused_connection_is_transient_and_names_the_exception(dead_url: str) -> None:
    with pytest.raises(TransientError) as caught:
        HttpClient("test", dead_url).json("GET", "products")

    assert caught.value.status is None
    assert str(caught.value).startswith("test GET products: connection failed (ConnectionError: ")
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_a_request_requests_cannot_send_is_permanent() -> None:
    with pytest.raises(PermanentError) as caught:
        HttpClient("test", "http://").json("GET", "products")

    assert "request failed (InvalidURL: " in str(caught.value)


# Redaction -----------------------------------------------------------------------------


def test_query_string_auth_secret_stays_out_of_errors(dead_url: str) -> None:
    """WooCommerce's query-string auth: the secret rides on every URL of the session."""
    session = requests.Session()
    session.params = {"consumer_key": "ck_test", "consumer_secret": SECRET}
    client = HttpClient("woocommerce", dead_url, session=session)

    with pytest.raises(TransientError) as caught:
        client.json("GET", "products", params={"per_page": 100, "page": 1})

    message = str(caught.value)
    assert "connection failed (ConnectionError" in message
    assert "consumer_secret=***" in message and "per_page=***" in message
    assert SECRET not in full_text(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_token_url_secrets_stay_out_of_errors(dead_url: str) -> None:
    """Zoho's token call: client secret and refresh token in one request's query."""
    params = {"refresh_token": "1000.refresh.token", "client_secret": SECRET}

    with pytest.raises(TransientError) as caught:
        HttpClient("zoho", dead_url).json("POST", "oauth/v2/token?grant_type=x", params=params)

    assert str(caught.value).startswith("zoho POST oauth/v2/token: connection failed")
    assert "client_secret=***" in str(caught.value)
    text = full_text(caught.value)
    assert SECRET not in text and "1000.refresh.token" not in text


def test_a_server_reason_quoting_our_url_is_redacted_too(server: str) -> None:
    body = f'{{"message": "No route for /x?consumer_secret={SECRET}&page=2"}}'
    with pytest.raises(PermanentError) as caught:
        reply(server, status=404, body=body)

    assert str(caught.value).endswith("No route for /x?consumer_secret=***&page=***")


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("GET /p?a=1&b=two%26three#top", "GET /p?a=***&b=***#top"),
        ("url: /p?key=&x=1 (Caused by ...)", "url: /p?key=***&x=*** (Caused by ...)"),
        ("no query here: a=1, b=2", "no query here: a=1, b=2"),
        ("https://h/t?secret=a'b\"c)d e", "https://h/t?secret=*** e"),
    ],
)
def test_redact_keeps_names_and_hides_values(text: str, redacted: str) -> None:
    assert redact(text) == redacted
