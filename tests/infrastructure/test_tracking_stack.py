"""The stack's part of the lookup by tracking number (docs/tracking.md): the two indexes on the orders
table, built from common/tables.py; the route behind the authorizer, with the resource above it
routed too; the authorizer's rule for operations keys matching a method the stack really has; and
least privilege: Query on exactly the two index ARNs, BatchGetItem on the table, no Scan."""

from __future__ import annotations

import json
from typing import Any

from infra.api import API_INDEX_ACTIONS, API_TABLE_ACTIONS

from common.api_keys import OPERATIONS_KEY
from common.api_responses import GATEWAY_RESPONSES
from common.api_routes import FALLBACK_METHOD, ROUTES
from common.tables import (
    ORDERS_TABLE,
    REVERSE_TRACKING_NUMBER_INDEX,
    TRACKING_INDEXES,
    TRACKING_NUMBER_INDEX,
)
from tests.infrastructure.synthesis import Synthesis, arn_of, ref, resource_paths

TRACKING_RESOURCE = "/tracking/{tracking_number}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- the indexes -----------------------------------------------------------------------------------------


def test_the_orders_table_has_the_two_tracking_indexes_of_the_schema(synthesized: Synthesis) -> None:
    _, table = synthesized.table(ORDERS_TABLE)
    indexes = {index["IndexName"]: index for index in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == {TRACKING_NUMBER_INDEX.name, REVERSE_TRACKING_NUMBER_INDEX.name}
    for index in ORDERS_TABLE.create_table_request("unused")["GlobalSecondaryIndexes"]:
        deployed = indexes[index["IndexName"]]
        assert deployed["KeySchema"] == index["KeySchema"]
        assert deployed["Projection"] == {"ProjectionType": "KEYS_ONLY"} == index["Projection"]
        # On demand, like the table: no capacity to plan.
        assert "WriteProvisionedThroughputSettings" not in deployed


def test_the_index_keys_are_string_attributes_sorted_by_client(synthesized: Synthesis) -> None:
    _, table = synthesized.table(ORDERS_TABLE)
    definitions = {
        d["AttributeName"]: d["AttributeType"] for d in table["Properties"]["AttributeDefinitions"]
    }
    assert definitions == {
        "pk": "S",
        "sk": "S",
        "tracking_number_key": "S",
        "reverse_tracking_number_key": "S",
        "client_id": "S",
    }
    for index in TRACKING_INDEXES.values():
        assert index.sort_key is not None and index.sort_key.name == "client_id"


# -- the route -------------------------------------------------------------------------------------------


def test_the_lookup_route_is_a_get_behind_the_authorizer_proxied_to_the_alias(synthesized: Synthesis) -> None:
    methods = synthesized.methods()
    authorizer_id, _ = synthesized.one("AWS::ApiGateway::Authorizer")
    alias_id, _ = synthesized.one("AWS::Lambda::Alias", "Handler")
    for key in (
        (TRACKING_RESOURCE, "GET"),
        (TRACKING_RESOURCE, FALLBACK_METHOD),
        ("/tracking", FALLBACK_METHOD),
    ):
        properties = methods[key]["Properties"]
        assert properties["AuthorizationType"] == "CUSTOM", key
        assert properties["AuthorizerId"] == ref(authorizer_id), key
        assert properties["Integration"]["Type"] == "AWS_PROXY", key
        assert ref(alias_id) in properties["Integration"]["Uri"]["Fn::Join"][1], key
    # No method-less resource for API Gateway to answer itself before the authorizer runs.
    paths = resource_paths(synthesized)
    with_methods = {path for path, _ in methods}
    assert set(paths.values()) == with_methods


def test_the_authorizers_rule_for_operations_keys_names_methods_the_stack_has(synthesized: Synthesis) -> None:
    """The authorizer allows an operations key ``<stage>/<policy_path>`` of each route open to it:
    each must be a real method, and the lookup the only one."""
    methods = synthesized.methods()
    open_routes = [route for route in ROUTES if OPERATIONS_KEY in route.kinds]
    assert [(route.method, route.resource, route.policy_path) for route in open_routes] == [
        ("GET", TRACKING_RESOURCE, "GET/tracking/*")
    ]
    for route in open_routes:
        assert (route.resource, route.method) in methods


def test_a_refused_operations_key_is_answered_401_with_an_empty_body(synthesized: Synthesis) -> None:
    """API Gateway answers ACCESS_DENIED when the authorizer's policy does not cover the route: the
    contract's 401 for "no valid credential", not a 403 (docs/tracking.md)."""
    [denied] = [
        r["Properties"]
        for r in synthesized.of_type("AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "ACCESS_DENIED"
    ]
    assert (denied["StatusCode"], denied["ResponseTemplates"]) == ("401", {"application/json": ""})
    assert denied["ResponseParameters"]["gatewayresponse.header.WWW-Authenticate"] == "'Bearer'"
    assert GATEWAY_RESPONSES["ACCESS_DENIED"] == GATEWAY_RESPONSES["UNAUTHORIZED"]


# -- least privilege -------------------------------------------------------------------------------------


def test_the_api_function_may_query_exactly_the_two_indexes(synthesized: Synthesis) -> None:
    table_id, _ = synthesized.table(ORDERS_TABLE)
    index_statements = [
        s
        for s in synthesized.statements_of_function("Handler")
        if any("/index/" in json.dumps(resource) for resource in _as_list(s["Resource"]))
    ]
    [statement] = index_statements
    assert statement["Effect"] == "Allow"
    assert _as_list(statement["Action"]) == API_INDEX_ACTIONS == ["dynamodb:Query"]
    resources = sorted(_as_list(statement["Resource"]), key=json.dumps)
    assert resources == sorted(
        (
            {"Fn::Join": ["", [arn_of(table_id), f"/index/{name}"]]}
            for name in (TRACKING_NUMBER_INDEX.name, REVERSE_TRACKING_NUMBER_INDEX.name)
        ),
        key=json.dumps,
    )
    assert "Condition" not in statement


def test_the_api_function_reads_order_concepts_with_batch_get_item_on_the_table_only(
    synthesized: Synthesis,
) -> None:
    table_id, _ = synthesized.table(ORDERS_TABLE)
    statements = synthesized.statements_of_function("Handler")
    [table_statement] = [s for s in statements if s["Resource"] == arn_of(table_id)]
    assert sorted(_as_list(table_statement["Action"])) == sorted(API_TABLE_ACTIONS)
    assert "dynamodb:BatchGetItem" in API_TABLE_ACTIONS
    granting_batch_get = [s for s in statements if "dynamodb:BatchGetItem" in _as_list(s["Action"])]
    assert granting_batch_get == [table_statement]


def test_no_role_may_scan_and_only_the_api_function_may_read_the_indexes(synthesized: Synthesis) -> None:
    _, api = synthesized.one("AWS::Lambda::Function", "Handler")
    api_role = ref(api["Properties"]["Role"]["Fn::GetAtt"][0])
    for policy in synthesized.of_type("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = _as_list(statement["Action"])
            assert "dynamodb:Scan" not in actions
            text = json.dumps(statement["Resource"])
            if "/index/" in text:
                assert policy["Properties"]["Roles"] == [api_role]
                assert "/index/*" not in text


def test_the_dynamodb_alarms_watch_the_lookups_batch_get_item(synthesized: Synthesis) -> None:
    operations = synthesized.dynamodb_alarm_operations()
    assert {"Query", "BatchGetItem"} <= operations
