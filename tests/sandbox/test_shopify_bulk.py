"""The Shopify sandbox's 25,000-object pagination cap and bulk query operations
(sandbox.shopify.bulk, docs/platforms.md section 5), over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests

from sandbox.accounts import SHOPIFY_LOCATION
from sandbox.base import SandboxConfig
from sandbox.catalog import skus
from sandbox.registry import create_app
from sandbox.server import running
from sandbox.shopify.bulk import OBJECTS_PER_SECOND, QUEUED_SECONDS, URL_LIFETIME
from sandbox.shopify.queries import PAGINATION_CAP
from sandbox.shopify.state import ShopifyState

TOKEN = "shpat_sandbox_test"

PAGE = """
query ($after: String) {
  productVariants(first: 200, after: $after) { nodes { sku } pageInfo { hasNextPage endCursor } }
}
"""
RUN = """
mutation ($q: String!) {
  bulkOperationRunQuery(query: $q) { bulkOperation { id status } userErrors { code field message } }
}
"""
POLL = """
query ($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status objectCount url } }
}
"""
VARIANTS = (
    "{ productVariants { edges { node { id sku inventoryItem { id "
    f'inventoryLevel(locationId: "{SHOPIFY_LOCATION}") {{ quantities(names: ["available"]) '
    "{ name quantity } } } } } } }"
)


@contextmanager
def shop(**config: Any) -> Iterator[tuple[str, ShopifyState]]:
    app = create_app("shopify", SandboxConfig(credentials={"access_token": TOKEN}, **config))
    with running(app) as url:
        yield url, app.config["SANDBOX_STATE"]


def gql(url: str, query: str, variables: Any = None) -> requests.Response:
    return requests.post(
        f"{url}/admin/api/2026-04/graphql.json",
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": TOKEN},
        timeout=60,
    )


def cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"next:{index}".encode()).decode()


def data(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


def test_cursor_pages_stop_at_25000_objects() -> None:
    """Past the cap a page is an error, not more variants (fails on 0f46d18, where
    the sandbox paged on to any depth)."""
    with shop(items=PAGINATION_CAP + 300) as (url, _state):
        last = data(gql(url, PAGE, {"after": cursor(PAGINATION_CAP - 200)}))
        beyond = gql(url, PAGE, {"after": last["productVariants"]["pageInfo"]["endCursor"]})

    assert len(last["productVariants"]["nodes"]) == 200
    assert last["productVariants"]["pageInfo"]["hasNextPage"] is True
    body = beyond.json()
    assert beyond.status_code == 200 and "data" not in body
    assert "25,000" in body["errors"][0]["message"]


def test_the_variant_count_stops_at_its_limit() -> None:
    with shop(items=12_000) as (url, _state):
        default = data(gql(url, "{ productVariantsCount { count precision } }"))
        unlimited = data(gql(url, "{ productVariantsCount(limit: null) { count precision } }"))
    assert default["productVariantsCount"] == {"count": 10_000, "precision": "AT_LEAST"}
    assert unlimited["productVariantsCount"] == {"count": 12_000, "precision": "EXACT"}


def test_a_bulk_query_runs_on_the_clock_and_serves_its_file_without_a_token() -> None:
    with shop(items=30_000, drift=0.1) as (url, state):
        started = data(gql(url, RUN, {"q": VARIANTS}))["bulkOperationRunQuery"]
        operation = started["bulkOperation"]["id"]
        assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"

        state.clock.advance(QUEUED_SECONDS + 10_000 / OBJECTS_PER_SECOND)
        running = data(gql(url, POLL, {"id": operation}))["node"]
        assert running["status"] == "RUNNING" and running["url"] is None
        assert 9_000 <= int(running["objectCount"]) <= 11_000

        state.clock.advance(30_000 / OBJECTS_PER_SECOND)
        done = data(gql(url, POLL, {"id": operation}))["node"]
        assert (done["status"], done["objectCount"]) == ("COMPLETED", "30000")
        calls = state.route_calls.copy()
        file = requests.get(done["url"], timeout=30)  # no X-Shopify-Access-Token

    lines = file.text.splitlines()
    assert file.status_code == 200 and len(lines) == 30_000
    first = json.loads(lines[0])
    assert first["sku"] == skus(1)[0] and "__parentId" not in first
    assert set(first) == {"id", "sku", "inventoryItem"}  # what the query selected, inline
    assert first["inventoryItem"]["inventoryLevel"]["quantities"][0]["name"] == "available"
    assert [json.loads(line)["sku"] for line in lines] == skus(30_000)
    assert calls["POST /admin/api/<version>/graphql.json"] == 3


def test_one_bulk_query_at_a_time_and_the_file_expires_after_seven_days() -> None:
    with shop(items=500) as (url, state):
        first = data(gql(url, RUN, {"q": VARIANTS}))["bulkOperationRunQuery"]
        second = data(gql(url, RUN, {"q": VARIANTS}))["bulkOperationRunQuery"]
        state.clock.advance(60)
        done = data(gql(url, POLL, {"id": first["bulkOperation"]["id"]}))["node"]
        third = data(gql(url, RUN, {"q": VARIANTS}))["bulkOperationRunQuery"]
        state.clock.advance(URL_LIFETIME.total_seconds() + 60)
        expired = data(gql(url, POLL, {"id": first["bulkOperation"]["id"]}))["node"]
        gone = requests.get(done["url"], timeout=30)

    assert second["bulkOperation"] is None
    assert [e["code"] for e in second["userErrors"]] == ["OPERATION_IN_PROGRESS"]
    assert done["status"] == "COMPLETED" and third["userErrors"] == []
    assert (expired["status"], expired["url"]) == ("EXPIRED", None)
    assert gone.status_code == 403


def test_only_the_connectors_query_shape_is_run() -> None:
    with shop(items=10) as (url, _state):
        refused = data(gql(url, RUN, {"q": "{ orders { edges { node { id } } } }"}))

    errors = refused["bulkOperationRunQuery"]["userErrors"]
    assert [e["code"] for e in errors] == ["INVALID"]
