"""GET /tracking/{tracking_number}: lookup by tracking number or reverse tracking number, through the
API function (moto's DynamoDB, the tables built from common/tables.py), with a client key's and an
operations key's authorizer context; and the same through the local gateway with the real
authorizer. docs/tracking.md is the design these tests pin down."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
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
from tests.conftest import (
    API_KEYS_TABLE_NAME,
    ORDERS_TABLE_NAME,
    REGION,
    ApiResponse,
    api_event,
    call_api,
    get_order,
    post_orders,
)
from tests.factories import batch, break_storage, full_item, item, order, reuse_boto3_session, scan  # noqa: F401

pytestmark = [
    pytest.mark.usefixtures("dynamodb"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

# The functions are imported inside tests, never at collection: their Powertools objects read the
# environment when they are created, and conftest sets it per test.

CLIENT = {"kind": "client"}
OPERATIONS = {"kind": "operations", "key_name": "warehouse"}
SERVER_FIELDS = {"first_received_at", "last_received_at"}


def context_of(client_id: str | None) -> dict[str, str]:
    """The authorizer context of a client key (``client_id``) or of an operations key (None)."""
    if client_id is None:
        return {"principalId": "operations:warehouse", **OPERATIONS}
    return {"principalId": client_id, **CLIENT, "client_id": client_id}


def track(number: str, client_id: str | None = "acme", *, encoded: str | None = None) -> ApiResponse:
    """GET /tracking/<number> as API Gateway sends it: the path encoded, the parameter decoded."""
    event = api_event(
        "GET",
        f"/tracking/{encoded if encoded is not None else quote(number, safe='')}",
        resource="/tracking/{tracking_number}",
        path_parameters={"tracking_number": number},
    )
    event["requestContext"]["authorizer"] = context_of(client_id)
    return call_api(event)


def post(body: dict[str, Any], client_id: str = "acme") -> None:
    response = post_orders(body, client_id=client_id)
    assert response.status == 200, response.body


def matches(response: ApiResponse) -> list[dict[str, Any]]:
    assert response.status == 200, response.body
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"tracking_number", "matches", "truncated"}
    result: list[dict[str, Any]] = body["matches"]
    return result


def summary(response: ApiResponse) -> list[tuple[Any, ...]]:
    """(client, order, item, matched) of each match; client is None when not labelled."""
    return [
        (m.get("client_id"), m["order_identifier"], m["item"]["identifier"], m["matched"])
        for m in matches(response)
    ]


def assert_not_found(response: ApiResponse) -> None:
    assert response.status == 404, response.body
    assert response.json() == {"message": "Not Found", "request_id": response.headers["x-request-id"]}


# -- lookup by either number ------------------------------------------------------------------------


def test_an_items_tracking_number_finds_it_with_its_order_concept_and_stored_fields() -> None:
    post(batch(order("order-1", [full_item("item-1")], concept="Acme Outdoors", postal_code="02134")))

    response = track("1Z999AA10123456784")

    [match] = matches(response)
    stored_item = get_order("order-1").json()["items"][0]
    # Its end date (2025-02-01T00:00:00Z) is long past: tests/api/test_tracking_eligibility.py has the rest.
    eligibility = match.pop("return_eligibility")
    assert eligibility["status"] == "expired"
    assert eligibility["return_policy_end_date"] == "2025-02-01T00:00:00Z"
    assert eligibility["days_left"] < 0
    assert match == {
        "order_identifier": "order-1",
        "concept": "Acme Outdoors",
        "matched": "tracking_number",
        "item": stored_item,
    }
    assert set(stored_item) >= SERVER_FIELDS
    assert response.json()["tracking_number"] == "1z999aa10123456784"
    assert response.json()["truncated"] is False
    assert response.headers["x-request-id"]


def test_a_reverse_tracking_number_finds_the_item_and_says_which_number_matched() -> None:
    post(batch(order("order-1", [full_item("item-1")])))
    assert summary(track("1Z999AA10123456785")) == [(None, "order-1", "item-1", "reverse_tracking_number")]
    assert summary(track("1Z999AA10123456784")) == [(None, "order-1", "item-1", "tracking_number")]


def test_every_item_with_the_number_is_found_in_client_order_and_item_order() -> None:
    post(
        batch(
            order("B", [item("2", tracking_number="T-1"), item("1", tracking_number="T-1")], concept="b"),
            order("A", [item("9", reverse_tracking_number="T-1"), item("8", tracking_number="T-2")]),
        )
    )
    assert summary(track("T-1")) == [
        (None, "A", "9", "reverse_tracking_number"),
        (None, "B", "1", "tracking_number"),
        (None, "B", "2", "tracking_number"),
    ]
    [first, *_] = matches(track("T-1"))
    assert "concept" not in first  # order A has none: left out, as GET leaves it out


def test_an_item_whose_two_numbers_are_the_same_is_found_once_per_number() -> None:
    post(batch(order("o", [item("i", tracking_number="SAME", reverse_tracking_number="same")])))
    assert summary(track("same")) == [
        (None, "o", "i", "tracking_number"),
        (None, "o", "i", "reverse_tracking_number"),
    ]


def test_an_item_whose_order_record_is_missing_is_found_without_a_concept(dynamodb: Any) -> None:
    """The window docs/design.md describes (a failed batch's items stored before their order)."""
    post(batch(order("o", [item("i", tracking_number="T")], concept="C")))
    dynamodb.delete_item(TableName=ORDERS_TABLE_NAME, Key={"pk": {"S": "acme#o"}, "sk": {"S": "ORDER"}})
    [match] = matches(track("T"))
    assert (match["order_identifier"], "concept" in match) == ("o", False)


def test_an_unknown_number_is_404_not_found() -> None:
    post(batch(order("o", [full_item("i")])))
    assert_not_found(track("1Z999AA10123456786"))
    assert_not_found(track("1Z999AA1012345678"))  # a prefix is not a match
    assert_not_found(track("   "))  # nothing left after trimming
    assert_not_found(track("o"))  # an order identifier is not a tracking number
    assert_not_found(track("012345678905"))  # nor is a UPC


# -- normalisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scanned",
    [
        "1Z999AA10123456784",
        "1z999aa10123456784",
        "  1z999Aa10123456784  ",
        "\t1Z999AA10123456784\r\n",
        "\u00a01Z999AA10123456784",
    ],
    ids=["as sent", "lower case", "mixed case and spaces", "tab and newline", "no-break space"],
)
def test_surrounding_whitespace_and_letter_case_of_the_scanned_number_do_not_matter(scanned: str) -> None:
    post(batch(order("o", [item("i", tracking_number="1Z999AA10123456784")])))
    assert summary(track(scanned)) == [(None, "o", "i", "tracking_number")]


def test_the_stored_number_is_normalised_too_and_still_read_back_as_the_client_sent_it() -> None:
    post(
        batch(
            order("o", [item("i", tracking_number="  1z999aA10123456784 ", reverse_tracking_number="rMa-7")])
        )
    )

    [match] = matches(track("1Z999AA10123456784"))
    assert match["item"]["tracking_number"] == "1z999aA10123456784"  # trimmed, as every string
    assert match["item"]["reverse_tracking_number"] == "rMa-7"
    assert get_order("o").json()["items"][0]["tracking_number"] == "1z999aA10123456784"
    assert summary(track("RMA-7")) == [(None, "o", "i", "reverse_tracking_number")]


def test_case_folding_is_unicode_aware_and_inner_characters_are_kept() -> None:
    post(batch(order("o", [item("i", tracking_number="STRASSE-Ä1"), item("j", tracking_number="1Z 999")])))
    assert summary(track("straße-ä1")) == [(None, "o", "i", "tracking_number")]
    assert summary(track("1z 999")) == [(None, "o", "j", "tracking_number")]
    assert_not_found(track("1Z999"))  # inner whitespace is part of the number
    assert_not_found(track("1Z  999"))


def test_a_number_sent_as_a_json_integer_is_found_by_its_digits() -> None:
    post(batch(order("o", [item("i", tracking_number=1234567890123456789012)])))
    assert summary(track("1234567890123456789012")) == [(None, "o", "i", "tracking_number")]


@given(
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    st.sampled_from(["", " ", "  ", "\t", "\n"]),
)
def test_index_keys_ignore_surrounding_whitespace_and_ascii_case(number: str, padding: str) -> None:
    from forward_orders.tracking import index_key, normalise

    assert index_key(f"{padding}{number.upper()}{padding}") == index_key(number.lower()) == normalise(number)
    assert normalise(normalise(number)) == normalise(number)


def test_a_number_too_long_for_an_index_key_is_indexed_by_its_digest_and_still_found(dynamodb: Any) -> None:
    from forward_orders.tracking import HASHED_KEY_PREFIX, MAX_INDEX_KEY_BYTES

    long_number = "Ab" * MAX_INDEX_KEY_BYTES  # 4,096 bytes, over DynamoDB's 2,048 for a key
    post(batch(order("o", [item("i", tracking_number=long_number)])))

    [record] = [r for r in scan(dynamodb) if r["sk"]["S"] == "I#i"]
    assert record["tracking_number"]["S"] == long_number
    assert record["tracking_number_key"]["S"].startswith(HASHED_KEY_PREFIX)
    assert summary(track(f" {long_number.lower()} ")) == [(None, "o", "i", "tracking_number")]
    assert_not_found(track(long_number[:-1]))


def test_a_number_exactly_at_the_key_limit_is_indexed_as_it_is(dynamodb: Any) -> None:
    from forward_orders.tracking import MAX_INDEX_KEY_BYTES

    number = "é" * (MAX_INDEX_KEY_BYTES // 2)  # two bytes each in UTF-8
    post(batch(order("o", [item("i", tracking_number=number)])))
    [record] = [r for r in scan(dynamodb) if r["sk"]["S"] == "I#i"]
    assert record["tracking_number_key"]["S"] == number
    assert summary(track(number.upper())) == [(None, "o", "i", "tracking_number")]


# -- what is stored, and kept right on update ------------------------------------------------------


def test_items_carry_the_index_keys_and_orders_do_not(dynamodb: Any) -> None:
    post(
        batch(
            order("o", [item("with", tracking_number=" AB ", reverse_tracking_number="Cd"), item("without")])
        )
    )
    records = {r["sk"]["S"]: r for r in scan(dynamodb)}
    assert records["I#with"]["tracking_number_key"] == {"S": "ab"}
    assert records["I#with"]["reverse_tracking_number_key"] == {"S": "cd"}
    assert records["I#with"]["client_id"] == {"S": "acme"}
    for sk in ("ORDER", "I#without"):
        assert not {"tracking_number_key", "reverse_tracking_number_key", "client_id"} & set(records[sk])


def test_the_index_keys_never_show_in_get_forward_orders_or_in_a_match() -> None:
    post(batch(order("o", [full_item("i")])))
    stored = get_order("o").json()
    hidden = {
        "tracking_number_key",
        "reverse_tracking_number_key",
        "client_id",
        "pk",
        "sk",
        "order_identifier",
    }
    assert not hidden & set(stored)
    assert not hidden & set(stored["items"][0])
    [match] = matches(track("1Z999AA10123456784"))
    assert not hidden & set(match["item"])


def test_changing_a_tracking_number_drops_the_old_match() -> None:
    post(batch(order("o", [item("i", tracking_number="OLD-1", reverse_tracking_number="R-OLD")])))
    post(batch(order("o", [item("i", tracking_number="new-1")])))

    assert_not_found(track("OLD-1"))
    [match] = matches(track("NEW-1"))
    assert match["item"]["tracking_number"] == "new-1"
    # Left out of the update: kept, as every field is, and still found.
    assert summary(track("r-old")) == [(None, "o", "i", "reverse_tracking_number")]

    post(batch(order("o", [item("i", reverse_tracking_number="R-NEW")])))
    assert_not_found(track("R-OLD"))
    assert summary(track("R-NEW")) == [(None, "o", "i", "reverse_tracking_number")]
    assert summary(track("NEW-1")) == [(None, "o", "i", "tracking_number")]


def test_an_update_that_leaves_the_numbers_out_keeps_the_item_found_with_its_new_fields() -> None:
    post(batch(order("o", [item("i", tracking_number="T", quantity=1)])))
    post(batch(order("o", [item("i", quantity=5)], concept="Later")))
    [match] = matches(track("t"))
    assert (match["item"]["quantity"], match["concept"]) == (5, "Later")


def test_a_number_moved_to_another_item_finds_only_that_one() -> None:
    post(batch(order("o", [item("a", tracking_number="T"), item("b", tracking_number="U")])))
    post(batch(order("o", [item("a", tracking_number="V"), item("b", tracking_number="T")])))
    assert summary(track("T")) == [(None, "o", "b", "tracking_number")]


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


# -- identifiers and numbers with special characters --------------------------------------------


@pytest.mark.parametrize(
    ("order_id", "item_id", "number"),
    [
        ("A#1", "I#1", "1Z#99"),
        ("a/b c", "x/y", "AB/CD 12"),
        ("100%", "?&=", "50%+OFF?"),
        ("ünïcödé 注文", "项目", "ÅÄÖ-ß-注"),
        ("🛒🛍️", "😀", "📦-1"),
        ("12345678901234567890", "0", "00012"),
    ],
)
def test_identifiers_and_numbers_with_special_characters_round_trip(
    order_id: str, item_id: str, number: str
) -> None:
    post(batch(order(order_id, [item(item_id, tracking_number=number)], concept="C#1/ü")))
    response = track(number.upper())
    [match] = matches(response)
    assert (match["order_identifier"], match["item"]["identifier"], match["concept"]) == (
        order_id,
        item_id,
        "C#1/ü",
    )
    assert match["item"]["tracking_number"] == number
    labelled = matches(track(f" {number.lower()} ", None))
    assert [(m["client_id"], m["order_identifier"]) for m in labelled] == [("acme", order_id)]


def test_the_percent_encoded_path_is_only_a_fallback_for_the_decoded_parameter() -> None:
    post(batch(order("o", [item("i", tracking_number="A/B")])))
    event = api_event("GET", "/tracking/A%2FB", resource="/tracking/{tracking_number}", path_parameters=None)
    event["requestContext"]["authorizer"] = context_of("acme")
    assert summary(call_api(event)) == [(None, "o", "i", "tracking_number")]


def test_the_longest_identifiers_a_client_can_send_are_indexed_and_found() -> None:
    """255 four-byte characters make a 1,020-byte identifier, and the client id comes on top: too
    long for an index sort key (1,024 bytes), which is why the indexes sort on the client id."""
    order_id, item_id = "🛒" * 255, "😀" * 255
    post(batch(order(order_id, [item(item_id, tracking_number="T", reverse_tracking_number="R")])), "a" * 64)
    [match] = matches(track("t", "a" * 64))
    assert (match["order_identifier"], match["item"]["identifier"]) == (order_id, item_id)
    assert summary(track("r", None)) == [("a" * 64, order_id, item_id, "reverse_tracking_number")]


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


def test_the_lookup_reads_only_the_indexes_and_the_order_records_never_a_scan(
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
    assert sorted(key["pk"]["S"] for key in request["Keys"]) == ["acme#o1", "acme#o2"]
    assert {key["sk"]["S"] for key in request["Keys"]} == {"ORDER"}
    assert request["ProjectionExpression"] == "#pk, #concept"  # the concept, not the whole order
    assert {operation for operation, _ in calls} == {"query", "batch_get_item"}


def test_a_client_keys_query_names_its_client_in_the_key_condition(monkeypatch: pytest.MonkeyPatch) -> None:
    from forward_orders import handler

    post(batch(order("o", [item("i", tracking_number="T")])))
    queries: list[dict[str, Any]] = []
    client = handler.orders_table()._client
    original = client.query
    monkeypatch.setattr(client, "query", lambda **kwargs: queries.append(kwargs) or original(**kwargs))

    matches(track("T", "acme"))

    for query in queries:
        assert query["KeyConditionExpression"] == "#k = :k AND #c = :c"
        assert query["ExpressionAttributeValues"][":c"] == {"S": "acme"}
        assert "ConsistentRead" not in query  # an index can only be read eventually consistent


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
            "Projection": {"ProjectionType": "ALL"},
        },
        "by_reverse_tracking_number": {
            "IndexName": "by_reverse_tracking_number",
            "KeySchema": [
                {"AttributeName": "reverse_tracking_number_key", "KeyType": "HASH"},
                {"AttributeName": "client_id", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        },
    }
    assert {"tracking_number_key", "reverse_tracking_number_key", "client_id"} <= {
        definition["AttributeName"] for definition in request["AttributeDefinitions"]
    }


def test_the_match_shows_exactly_the_item_fields_get_forward_orders_shows() -> None:
    from forward_orders.models import ITEM_FIELDS
    from forward_orders.tracking import SHOWN_ITEM_FIELDS

    assert set(SHOWN_ITEM_FIELDS) == {"identifier", *ITEM_FIELDS, *SERVER_FIELDS}


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
