"""A short HTTP smoke test through ``sam local start-api``, which serves the template's REST API with
its REQUEST authorizer: a key's POST and GET go through the authorizer to the API function and back.

What it cannot do: when the authorizer refuses a key by raising "Unauthorized" (which API Gateway
answers with the stack's 401 gateway response), SAM reports the authorizer's answer as invalid
("contains an invalid or missing 'principalId'") and answers 502; and it implements no gateway
responses at all. The last test pins that difference, so that docs/deployment.md stays true.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.sam.harness import Sam, start_api

ORDER = {
    "orders": [
        {"identifier": "smoke-1", "items": [{"identifier": "1", "upc": "1", "sku": "S", "quantity": 1}]}
    ]
}


@pytest.fixture(scope="module")
def api(sam: Sam) -> Iterator[str]:
    with start_api(sam) as url:
        yield url


def _request(url: str, method: str = "GET", body: Any = None, key: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_key_posts_and_reads_back_through_the_authorizer(api: str, client_key: str, sam: Sam) -> None:
    started = time.monotonic()
    status, body = _request(f"{api}/forward_orders", "POST", ORDER, key=client_key)
    sam.timings.append(("start-api: POST (authorizer and function cold)", time.monotonic() - started))
    assert (status, json.loads(body)) == (
        200,
        {"message": "Success", "orders_upserted": 1, "items_upserted": 1},
    )
    started = time.monotonic()
    status, body = _request(f"{api}/forward_orders/smoke-1", key=client_key)
    sam.timings.append(("start-api: GET (warm)", time.monotonic() - started))
    assert status == 200
    order = json.loads(body)
    assert (order["identifier"], [item["sku"] for item in order["items"]]) == ("smoke-1", ["S"])


def test_a_refused_key_is_sams_502_where_api_gateway_answers_401(api: str) -> None:
    status, body = _request(f"{api}/forward_orders/smoke-1", key="fo_" + "B" * 43)
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
