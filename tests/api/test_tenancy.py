"""Tenant isolation: every record is scoped to the client the authorizer named, and to nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api_calls import ApiResponse, call_api, get_event, get_order, post_event, post_orders
from tests.factories import batch, full_item, item, order, scan

pytestmark = pytest.mark.usefixtures("dynamodb")

ACME, GLOBEX = "acme", "globex"


def post_as(client_id: str, body: Any, **kwargs: Any) -> None:
    response = post_orders(body, client_id=client_id, **kwargs)
    assert response.status == 200, response.body


def read_as(client_id: str, identifier: str) -> ApiResponse:
    return get_order(identifier, client_id=client_id)


def comparable(response: ApiResponse) -> tuple[int, dict[str, Any], list[str]]:
    """Everything a client can see of a response, apart from the per-request id."""
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    return response.status, body, sorted(name for name in response.headers if name != "x-request-id")


def test_the_same_order_identifier_from_two_clients_is_two_orders(dynamodb: Any) -> None:
    post_as(ACME, batch(order("o-1", [item("i", sku="acme-sku")], concept="Acme")))
    post_as(GLOBEX, batch(order("o-1", [item("i", sku="globex-sku"), item("j")], concept="Globex")))
    acme, globex = read_as(ACME, "o-1").json(), read_as(GLOBEX, "o-1").json()
    assert (acme["concept"], [i["sku"] for i in acme["items"]]) == ("Acme", ["acme-sku"])
    assert (globex["concept"], [i["sku"] for i in globex["items"]]) == ("Globex", ["globex-sku", "SKU-1"])
    assert len(scan(dynamodb)) == 2 + 3


def test_reading_another_clients_order_is_404_exactly_like_a_missing_one() -> None:
    post_as(ACME, batch(order("acme-only", [full_item("i")])))
    assert read_as(ACME, "acme-only").status == 200
    foreign = read_as(GLOBEX, "acme-only")
    missing = read_as(GLOBEX, "never-existed")
    assert foreign.status == 404
    assert comparable(foreign) == comparable(missing)
    assert foreign.body.replace(foreign.json()["request_id"], "") == missing.body.replace(
        missing.json()["request_id"], ""
    )


def test_another_clients_post_never_changes_this_clients_data() -> None:
    post_as(ACME, batch(order("o-1", [full_item("a"), full_item("b")], concept="Acme", postal_code="02134")))
    before = read_as(ACME, "o-1").json()
    # Same identifiers, every field different, new items, labels replaced, numbers too.
    post_as(
        GLOBEX,
        batch(
            order(
                "o-1",
                [full_item("a", sku="X", labels=[]), item("b", quantity=9), item("c")],
                concept="Globex",
                postal_code=99999,
                created_at="2030-01-01",
            )
        ),
    )
    post_as(GLOBEX, [order("o-1", [item("d")])])
    assert read_as(ACME, "o-1").json() == before


def test_a_client_cannot_reach_another_through_a_crafted_identifier() -> None:
    # The partition key is "<client>#<order>"; an order identifier made to look like another
    # client's key stays inside the client that sent it.
    post_as(ACME, batch(order("o", [item("i")])))
    post_as(GLOBEX, batch(order("acme#o", [item("evil")], concept="Globex")))
    post_as(GLOBEX, batch(order("#o", [item("evil")])))
    assert [i["identifier"] for i in read_as(ACME, "o").json()["items"]] == ["i"]
    assert "concept" not in read_as(ACME, "o").json()
    assert read_as(GLOBEX, "o").status == 404
    assert read_as(ACME, "acme#o").status == 404
    assert read_as(GLOBEX, "acme#o").json()["concept"] == "Globex"


def test_client_ids_that_share_a_prefix_are_separate() -> None:
    post_as("acme", batch(order("o", [item("i")], concept="a")))
    post_as("acme-east", batch(order("o", [item("j")], concept="b")))
    assert read_as("acme", "o").json()["concept"] == "a"
    assert read_as("acme-east", "o").json()["concept"] == "b"
    assert read_as("acm", "o").status == 404


def _claiming_globex(event: dict[str, Any]) -> dict[str, Any]:
    """The same request, with every place a caller controls claiming to be another client."""
    for name in ("x-client-id", "client_id", "x-tenant-id", "x-amzn-principal-id"):
        event["headers"][name] = GLOBEX
        event["multiValueHeaders"][name] = [GLOBEX]
    event["queryStringParameters"] = {"client_id": GLOBEX, "tenant": GLOBEX}
    event["multiValueQueryStringParameters"] = {"client_id": [GLOBEX], "tenant": [GLOBEX]}
    event["stageVariables"] = {"client_id": GLOBEX}
    return event


def test_the_tenant_comes_only_from_the_authorizer_context(dynamodb: Any) -> None:
    body = {
        "client_id": GLOBEX,
        "tenant": GLOBEX,
        "orders": [
            {**order("o", [{**item("i"), "client_id": GLOBEX}]), "client_id": GLOBEX, "client": GLOBEX}
        ],
    }
    event = _claiming_globex(post_event(body, client_id=ACME))
    assert call_api(event).status == 200
    assert read_as(ACME, "o").status == 200
    assert read_as(GLOBEX, "o").status == 404
    assert all(record["pk"]["S"].startswith(f"{ACME}#") for record in scan(dynamodb))


def test_a_get_claiming_another_client_reads_only_the_authorized_one() -> None:
    post_as(GLOBEX, batch(order("o", concept="Globex")))
    event = _claiming_globex(get_event("o", client_id=ACME))
    assert call_api(event).status == 404


def test_the_principal_id_is_not_the_tenant() -> None:
    post_as(ACME, batch(order("o", concept="Acme")))
    event = get_event("o", client_id=GLOBEX)
    event["requestContext"]["authorizer"]["principalId"] = ACME
    assert call_api(event).status == 404


def test_an_identity_in_the_request_context_other_than_the_authorizer_is_ignored(dynamodb: Any) -> None:
    event = post_event(batch(order("o")), client_id=None)
    event["requestContext"]["identity"].update({"apiKey": "k", "user": GLOBEX, "caller": GLOBEX})
    response = call_api(event)
    assert (response.status, response.body) == (401, "")
    assert scan(dynamodb) == []
