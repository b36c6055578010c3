"""The admin surface over real HTTP, as `stocksync up` serves it (gunicorn, PostgreSQL):
logging out ends the session for every copy of its cookie, the cookie is `Secure` when
a trusted proxy says the request came over https, and wrong tokens are throttled per
address and overall (issue 19, item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy.orm import Session, sessionmaker

from settings import Settings
from tests.support.admin_api import TOKEN
from tests.support.stack_up import stack_up

WRONG = "w" * 20 + "rong-token-0123456789"


def _csrf(page: str) -> str:
    return page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def _login(base: str, address: str, token: str = TOKEN) -> requests.Response:
    return requests.post(
        f"{base}/login",
        data={"token": token},
        headers={"X-Forwarded-For": address},
        allow_redirects=False,
        timeout=10,
    )


def _logout_leaves_the_old_cookie_worthless(base: str) -> None:
    with requests.Session() as browser:
        assert browser.post(f"{base}/login", data={"token": TOKEN}, timeout=10).ok
        cookie = browser.cookies["session"]
        overview = f"{base}/api/overview"
        assert browser.get(overview, timeout=10).status_code == 200
        csrf = _csrf(browser.get(f"{base}/", timeout=10).text)
        assert browser.post(f"{base}/logout", data={"csrf_token": csrf}, timeout=10).ok
    replayed = requests.get(overview, cookies={"session": cookie}, timeout=10)
    assert replayed.status_code == 401
    page = requests.get(f"{base}/", cookies={"session": cookie}, allow_redirects=False, timeout=10)
    assert page.status_code == 302 and page.headers["Location"].endswith("/login")


def _secure_behind_the_trusted_proxy(base: str) -> None:
    def cookie(proto: str) -> str:
        answer = requests.post(
            f"{base}/login",
            data={"token": TOKEN},
            headers={"X-Forwarded-Proto": proto},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302
        return answer.headers["Set-Cookie"]

    assert "; Secure" in cookie("https")
    assert "Secure" not in cookie("http")


def _wrong_tokens_are_throttled(base: str) -> None:
    """200 wrong tokens: 5 from one address, then 429 for it (even with the right
    token); from 200 other addresses, 429 for everyone once 100 failed in the window."""
    answers = [_login(base, "198.51.100.7", WRONG).status_code for _ in range(200)]
    assert answers[:5] == [401] * 5 and set(answers[5:]) == {429}
    refused = _login(base, "198.51.100.7")
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    spread = [_login(base, f"203.0.113.{n}", WRONG).status_code for n in range(200)]
    assert spread[:95] == [401] * 95 and set(spread[95:]) == {429}
    bearer = requests.get(
        f"{base}/api/sites",
        headers={"Authorization": f"Bearer {TOKEN}", "X-Forwarded-For": "192.0.2.1"},
        timeout=10,
    )
    assert bearer.status_code == 429 and bearer.json()["error"]["code"] == "too_many_attempts"


@pytest.mark.slow
def test_logout_secure_cookie_and_throttle_over_http(
    settings: Settings,
    db: sessionmaker[Session],
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    environ = {"ADMIN_TOKEN": TOKEN, "TRUSTED_PROXIES": "1"}
    with stack_up(settings, tmp_path / "up.log", environ=environ) as base:
        _logout_leaves_the_old_cookie_worthless(base)
        _secure_behind_the_trusted_proxy(base)
        _wrong_tokens_are_throttled(base)
    assert TOKEN not in (tmp_path / "up.log").read_text()
