"""GET /tracking/{tracking_number}: what each kind of key may see, the lookup's limits and failures,
its schema and route, and the same through the local gateway with the real authorizer.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from werkzeug.test import Client

from common.api_keys import ApiKeyStore
from common.api_routes import (
    API_FUNCTION,
    CATCH_ALL_RESOURCE,
    ROUTES,
    fallback_resources,
    match_request,
    served_by,
)
from common.tables import ORDERS_TABLE, REVERSE_TRACKING_NUMBER_INDEX, TRACKING_NUMBER_INDEX
from tests.api.tracking_calls import (
    SERVER_FIELDS,
    assert_not_found,
    context_of,
    matches,
    post,
    summary,
    track,
)
from tests.api_calls import API_KEYS_TABLE_NAME, ORDERS_TABLE_NAME, REGION, api_event, call_api
from tests.factories import batch, break_storage, item, order, scan

pytestmark = pytest.mark.usefixtures("dynamodb")

# The functions are imported inside tests, never at collection: their Powertools objects read the
# environment when they are created, and conftest sets it per test.


# -- client keys and operations keys -------------------------------------------------------------------


@pytest.fixture
def two_clients(dynamodb: Any) -> None:
    """acme and globex both use order "shared-1" and tracking number "1Z-SHARED"."""
    post(batch(order("shared-1", [item("a1", tracking_number="1Z-SHARED")], concept="Acme")), "acme")
    post(batch(order("mine", [item("a2", reverse_tracking_number="1z-shared")])), "acme")
    post(batch(order("shared-1", [item("g1", tracking_number="1Z-SHARED")], concept="Globex")), "globex")
    post(batch(order("only-globex", [item("g2", tracking_number="1Z-GLOBEX")])), "globex")


@pytest.mark.usefixtures("two_clients")
def test_a_client_key_sees_only_its_own_clients_items_unlabelled() -> None:
    assert summary(track("1Z-SHARED", "acme")) == [
        (None, "mine", "a2", "reverse_tracking_number"),
        (None, "shared-1", "a1", "tracking_number"),
    ]
    assert [m["concept"] for m in matches(track("1Z-SHARED", "acme")) if "concept" in m] == ["Acme"]
    assert summary(track("1Z-SHARED", "globex")) == [(None, "shared-1", "g1", "tracking_number")]
    assert_not_found(track("1Z-GLOBEX", "acme"))  # exactly as if it did not exist
    assert_not_found(track("1Z-SHARED", "initech"))


@pytest.mark.usefixtures("two_clients")
def test_an_operations_key_sees_every_clients_items_each_labelled_with_its_client() -> None:
    response = track("1z-shared ", None)
    assert summary(response) == [
        ("acme", "mine", "a2", "reverse_tracking_number"),
        ("acme", "shared-1", "a1", "tracking_number"),
        ("globex", "shared-1", "g1", "tracking_number"),
    ]
    concepts = {(m["client_id"], m["order_identifier"]): m.get("concept") for m in matches(response)}
    assert concepts == {
        ("acme", "mine"): None,
        ("acme", "shared-1"): "Acme",
        ("globex", "shared-1"): "Globex",
    }
    assert summary(track("1Z-GLOBEX", None)) == [("globex", "only-globex", "g2", "tracking_number")]
    assert_not_found(track("1Z-NOWHERE", None))


@pytest.mark.usefixtures("two_clients")
def test_an_operations_key_may_not_post_or_read_orders_401_with_an_empty_body(dynamodb: Any) -> None:
    before = scan(dynamodb)
    for method, path, resource, parameters in (
        ("POST", "/forward_orders", "/forward_orders", None),
        ("GET", "/forward_orders/shared-1", "/forward_orders/{identifier}", {"identifier": "shared-1"}),
        ("GET", "/nope", CATCH_ALL_RESOURCE, {"proxy": "nope"}),
        ("GET", "/tracking", "/tracking", None),
    ):
        body = (
            batch(order("from-ops", [item("x", tracking_number="1Z-SHARED")])) if method == "POST" else None
        )
        event = api_event(method, path, body=body, resource=resource, path_parameters=parameters)
        event["requestContext"]["authorizer"] = context_of(None)
        response = call_api(event)
        assert (response.status, response.body) == (401, ""), (method, path)
        assert response.headers["x-request-id"]
    assert scan(dynamodb) == before


def test_an_operations_context_that_also_names_a_client_still_may_not_write() -> None:
    event = api_event("POST", "/forward_orders", body=batch())
    event["requestContext"]["authorizer"] = {**context_of(None), "client_id": "acme"}
    assert call_api(event).status == 401


@pytest.mark.parametrize(
    "authorizer",
    [
        None,
        {},
        {"kind": "client"},
        {"kind": "client", "client_id": ""},
        {"kind": "admin", "client_id": "acme"},
    ],
    ids=["no authorizer", "empty", "client without client id", "empty client id", "unknown kind"],
)
def test_without_a_credential_the_lookup_is_401(authorizer: dict[str, str] | None) -> None:
    post(batch(order("o", [item("i", tracking_number="T")])))
    event = api_event(
        "GET", "/tracking/T", resource="/tracking/{tracking_number}", path_parameters={"tracking_number": "T"}
    )
    event["requestContext"]["authorizer"] = authorizer
    response = call_api(event)
    assert (response.status, response.body) == (401, "")


def test_a_context_without_a_kind_is_a_client_key_cached_before_kinds_existed() -> None:
    post(batch(order("o", [item("i", tracking_number="T")])))
    event = api_event(
        "GET", "/tracking/T", resource="/tracking/{tracking_number}", path_parameters={"tracking_number": "T"}
    )
    assert event["requestContext"]["authorizer"] == {"principalId": "acme", "client_id": "acme"}
    assert summary(call_api(event)) == [(None, "o", "i", "tracking_number")]


# -- limits and failures ---------------------------------------------------------------------------


def test_at_most_max_matches_are_answered_and_truncated_says_there_are_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from forward_orders import tracking

    monkeypatch.setattr(tracking, "MAX_MATCHES", 3)
    post(batch(order("o", [item(str(n), tracking_number="N/A") for n in range(5)])))
    body = track("n/a").json()
    assert (len(body["matches"]), body["truncated"]) == (3, True)
    post(batch(order("p", [item("1", tracking_number="ONLY-3"), item("2", tracking_number="ONLY-3")])))
    assert track("only-3").json()["truncated"] is False


def test_the_lookup_reads_the_indexes_then_the_items_and_their_orders_never_a_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from forward_orders import handler

    post(
        batch(
            order("o1", [item("i", tracking_number="T")], concept="1"),
            order("o2", [item("i", reverse_tracking_number="t")]),
        )
    )
    calls: list[tuple[str, dict[str, Any]]] = []
    client = handler.orders_table()._client
    for operation in ("query", "batch_get_item", "scan", "get_item"):
        original = getattr(client, operation)

        def recording(original: Any = original, operation: str = operation, **kwargs: Any) -> Any:
            calls.append((operation, kwargs))
            return original(**kwargs)

        monkeypatch.setattr(client, operation, recording)

    assert len(matches(track("T", None))) == 2

    assert sorted(kwargs["IndexName"] for operation, kwargs in calls if operation == "query") == sorted(
        [TRACKING_NUMBER_INDEX.name, REVERSE_TRACKING_NUMBER_INDEX.name]
    )
    [(_, batch_get)] = [(operation, kwargs) for operation, kwargs in calls if operation == "batch_get_item"]
    [(table, request)] = batch_get["RequestItems"].items()
    assert table == ORDERS_TABLE_NAME
    # The indexes hold keys only (KEYS_ONLY): one BatchGetItem reads the matched items and their
    # order records (the concept), as they are now.
    assert sorted((key["pk"]["S"], key["sk"]["S"]) for key in request["Keys"]) == [
        ("acme#o1", "I#i"),
        ("acme#o1", "ORDER"),
        ("acme#o2", "I#i"),
        ("acme#o2", "ORDER"),
    ]
    assert request["ConsistentRead"] is True
    assert {operation for operation, _ in calls} == {"query", "batch_get_item"}


def test_a_client_keys_query_names_its_client_in_the_key_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    from forward_orders import handler

    post(batch(order("o", [item("i", tracking_number="T")])))
    queries: list[dict[str, Any]] = []
    client = handler.orders_table()._client
    original = client.query

    def recorded_query(**kwargs: Any) -> Any:
        queries.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(client, "query", recorded_query)

    matches(track("T", "acme"))

    for query in queries:
        assert query["KeyConditionExpression"] == "#k = :k AND #c = :c"
        assert query["ExpressionAttributeValues"][":c"] == {"S": "acme"}
        assert "ConsistentRead" not in query  # an index can only be read eventually consistent


def test_more_matches_than_one_batch_get_holds_are_read_in_several_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from forward_orders import handler

    post(
        batch(*(order(f"bulk-{o}", [item(str(n), tracking_number="BULK") for n in range(60)]) for o in "ab"))
    )
    post(batch(order("bulk-a", [], concept="A"), order("bulk-b", [], concept="B")))
    client = handler.orders_table()._client
    original = client.batch_get_item
    keys: list[int] = []

    def recording(**kwargs: Any) -> Any:
        keys.extend(len(request["Keys"]) for request in kwargs["RequestItems"].values())
        return original(**kwargs)

    monkeypatch.setattr(client, "batch_get_item", recording)
    body = track("bulk").json()
    # 100 matches (of 120) and their two orders: 102 keys, at most 100 a call.
    assert (len(body["matches"]), body["truncated"], sorted(keys)) == (100, True, [2, 100])
    assert {match["concept"] for match in body["matches"]} == {"A", "B"}


def test_an_index_entry_that_lags_behind_a_changed_number_is_not_a_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A global index is updated after the table: for a moment it can still list an item under
    the number it had. The item is read from the table, so the answer follows the item."""
    from forward_orders import handler

    post(batch(order("o", [item("i", tracking_number="OLD")], concept="C")))
    post(batch(order("o", [item("i", tracking_number="NEW")])))
    client = handler.orders_table()._client
    original = client.query

    stale_entry = {"pk": {"S": "acme#o"}, "sk": {"S": "I#i"}, "tracking_number_key": {"S": "old"}}

    def lagging(**kwargs: Any) -> Any:
        answer: dict[str, Any] = dict(original(**kwargs))
        key = kwargs["ExpressionAttributeValues"][":k"]
        if kwargs["IndexName"] == TRACKING_NUMBER_INDEX.name and key == {"S": "old"}:
            answer.update(Items=[stale_entry], Count=1)  # the entry the index has not dropped yet
        return answer

    monkeypatch.setattr(client, "query", lagging)
    assert_not_found(track("OLD"))
    assert summary(track("NEW")) == [(None, "o", "i", "tracking_number")]


def test_unprocessed_order_records_are_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.factories import api_orders_table

    post(batch(order("o", [item("i", tracking_number="T")], concept="C")))
    table, sleeps = api_orders_table(monkeypatch)
    original = table._client.batch_get_item
    answers: list[str] = []

    def first_unprocessed(**kwargs: Any) -> Any:
        if not answers:
            answers.append("unprocessed")
            return {"Responses": {ORDERS_TABLE_NAME: []}, "UnprocessedKeys": kwargs["RequestItems"]}
        answers.append("processed")
        return original(**kwargs)

    monkeypatch.setattr(table._client, "batch_get_item", first_unprocessed)
    [match] = matches(track("T"))
    assert (match["concept"], answers, len(sleeps)) == ("C", ["unprocessed", "processed"], 1)


def test_order_records_that_stay_unprocessed_are_a_502_with_retry_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.factories import api_orders_table

    post(batch(order("o", [item("i", tracking_number="T")])))
    table, sleeps = api_orders_table(monkeypatch)
    monkeypatch.setattr(
        table._client,
        "batch_get_item",
        lambda **kwargs: {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]},
    )
    response = track("T")
    assert (response.status, response.json()["message"], response.headers["retry-after"]) == (
        502,
        "Bad Gateway",
        "1",
    )
    assert len(sleeps) == 3  # four attempts, the default


def test_a_throttled_index_is_retried_and_then_a_502(monkeypatch: pytest.MonkeyPatch) -> None:
    post(batch(order("o", [item("i", tracking_number="T")])))
    flaky, _ = break_storage(monkeypatch, "ThrottlingException", operation="query", failures=1)
    assert summary(track("T")) == [(None, "o", "i", "tracking_number")]
    assert flaky.calls == 3  # two indexes, one of them twice

    flaky, _ = break_storage(monkeypatch, "ThrottlingException", operation="query")
    response = track("T")
    assert (response.status, response.json()["message"]) == (502, "Bad Gateway")


# -- schema and routes -------------------------------------------------------------------------------


def test_the_indexes_are_defined_once_in_the_table_schema_keyed_on_the_copies_and_the_client() -> None:
    request = ORDERS_TABLE.create_table_request("t")
    indexes = {index["IndexName"]: index for index in request["GlobalSecondaryIndexes"]}
    assert indexes == {
        "by_tracking_number": {
            "IndexName": "by_tracking_number",
            "KeySchema": [
                {"AttributeName": "tracking_number_key", "KeyType": "HASH"},
                {"AttributeName": "client_id", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
        "by_reverse_tracking_number": {
            "IndexName": "by_reverse_tracking_number",
            "KeySchema": [
                {"AttributeName": "reverse_tracking_number_key", "KeyType": "HASH"},
                {"AttributeName": "client_id", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        },
    }
    assert {"tracking_number_key", "reverse_tracking_number_key", "client_id"} <= {
        definition["AttributeName"] for definition in request["AttributeDefinitions"]
    }


def test_the_match_shows_exactly_the_item_fields_get_forward_orders_shows() -> None:
    from typing import get_args, get_type_hints

    from common.api_responses import StoredOrder, TrackingMatch
    from common.order_records import StoredItem, field_names
    from forward_orders.models import ITEM_FIELDS

    # The lookup's item and GET's items are one shape.
    assert get_type_hints(TrackingMatch)["item"] is StoredItem
    assert get_args(get_type_hints(StoredOrder)["items"]) == (StoredItem,)
    assert set(field_names(StoredItem)) == {"identifier", *ITEM_FIELDS, *SERVER_FIELDS}


def test_the_route_is_declared_for_both_kinds_of_key() -> None:
    [route] = [route for route in ROUTES if route.resource == "/tracking/{tracking_number}"]
    assert (route.method, route.kinds, route.policy_path) == (
        "GET",
        ("client", "operations"),
        "GET/tracking/*",
    )
    assert all(
        route.kinds == ("client",)
        for route in served_by(API_FUNCTION)
        if route.resource != "/tracking/{tracking_number}"
    )
    assert "/tracking" in fallback_resources()


@pytest.mark.parametrize(
    ("method", "path", "resource", "parameters", "routed"),
    [
        ("GET", "/tracking/1Z999", "/tracking/{tracking_number}", {"tracking_number": "1Z999"}, True),
        ("GET", "/tracking/a%2Fb%20c", "/tracking/{tracking_number}", {"tracking_number": "a/b c"}, True),
        ("POST", "/tracking/1Z999", "/tracking/{tracking_number}", {"tracking_number": "1Z999"}, False),
        ("GET", "/tracking", "/tracking", None, False),
        ("GET", "/tracking/", CATCH_ALL_RESOURCE, {"proxy": "tracking/"}, False),
        ("GET", "/tracking/a/b", CATCH_ALL_RESOURCE, {"proxy": "tracking/a/b"}, False),
    ],
)
def test_the_local_server_routes_tracking_requests_as_api_gateway_would(
    method: str, path: str, resource: str, parameters: dict[str, str] | None, routed: bool
) -> None:
    match = match_request(method, path)
    assert (match.resource, match.path_parameters, match.route is not None) == (resource, parameters, routed)


# -- through the local gateway, with the real authorizer ------------------------------------------


@pytest.fixture
def gateway(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> Client:
    from moto.core.config import default_user_config

    from authorizer.handler import lambda_handler as authorizer_handler
    from forward_orders.handler import lambda_handler as api_handler
    from forward_orders_cli.server import LocalApiGateway

    monkeypatch.setitem(default_user_config["core"], "reset_boto3_session", False)
    return Client(LocalApiGateway(authorizer=authorizer_handler, api=api_handler))


def test_through_the_local_gateway_both_kinds_of_key_look_up_and_only_clients_post(gateway: Client) -> None:
    store = ApiKeyStore(boto3.client("dynamodb", region_name=REGION), API_KEYS_TABLE_NAME)
    acme, _ = store.create("acme")
    globex, _ = store.create("globex")
    operations, _ = store.create_operations("warehouse")
    body = json.dumps(batch(order("o", [item("i", tracking_number="1Z-GW")], concept="Acme")))
    assert (
        gateway.post("/forward_orders", data=body, headers={"Authorization": f"Bearer {acme}"}).status_code
        == 200
    )

    own = gateway.get("/tracking/1z-gw", headers={"x-api-key": acme})
    assert own.status_code == 200
    assert [m.get("client_id") for m in own.get_json()["matches"]] == [None]
    assert gateway.get("/tracking/1Z-GW", headers={"x-api-key": globex}).status_code == 404
    labelled = gateway.get("/tracking/%201Z-GW%20", headers={"Authorization": f"Bearer {operations}"})
    assert labelled.status_code == 200
    assert [(m["client_id"], m["concept"]) for m in labelled.get_json()["matches"]] == [("acme", "Acme")]

    for method, path in (
        ("POST", "/forward_orders"),
        ("GET", "/forward_orders/o"),
        ("GET", "/tracking"),
        ("GET", "/x"),
    ):
        refused = gateway.open(
            path, method=method, data=body, headers={"Authorization": f"Bearer {operations}"}
        )
        assert (refused.status_code, refused.data) == (401, b""), (method, path)
    assert gateway.get("/tracking", headers={"x-api-key": acme}).status_code == 404
    assert gateway.get("/tracking/1Z-GW").status_code == 401
