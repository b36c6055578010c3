"""The admin API through Flask's test client, on the real test database and Redis."""

from __future__ import annotations

import pytest
import redis
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from settings import Settings
from tests.support.admin_api import Api


@pytest.fixture
def app(settings: Settings, redis_client: redis.Redis, db: sessionmaker[Session]) -> Flask:
    return create_app(settings)


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app.test_client())
