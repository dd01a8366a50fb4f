"""The authorizer from the synthesized template, run by ``sam local invoke`` on arm64 and Python 3.14:
a client key gets the Allow policy for the whole stage with its client in the context; an unknown
key is refused with the exact "Unauthorized" that API Gateway turns into a 401."""

from __future__ import annotations

from common.api_keys import ApiKeyStore
from tests.api.test_authorizer import ACME_CONTEXT, METHOD_ARN, authorizer_event
from tests.sam.conftest import API_KEYS_TABLE_NAME
from tests.sam.harness import LocalAws, Sam

STAGE_WIDE = METHOD_ARN.split("/", 2)[0] + "/v1/*"


def test_a_client_key_is_allowed_the_whole_stage(
    sam: Sam, function_ids: dict[str, str], client_key: str, local_aws: LocalAws
) -> None:
    record = ApiKeyStore(local_aws.client("dynamodb"), API_KEYS_TABLE_NAME).find_active(client_key)
    assert record is not None and record.metering_key is not None
    result = sam.invoke(
        function_ids["authorizer"],
        authorizer_event({"Authorization": f"Bearer {client_key}"}),
        label="authorizer: client key",
    )
    assert result.payload == {
        "principalId": "acme",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_WIDE}],
        },
        # The key's id (not the key) for the access log, which records every allowed request.
        "context": {**ACME_CONTEXT, "key_id": record.key_id},
        # API Gateway meters the request under the key's usage plan key (docs/deployment.md).
        "usageIdentifierKey": record.metering_key,
    }
    # Allowed requests are logged at debug only (the access log has them); nothing logs the key.
    assert client_key not in result.logs


def test_an_unknown_key_is_refused(sam: Sam, function_ids: dict[str, str], client_key: str) -> None:
    unknown = "fo_" + "A" * 43
    result = sam.invoke(
        function_ids["authorizer"],
        authorizer_event({"x-api-key": unknown}),
        label="authorizer: unknown key",
    )
    assert result.payload["errorMessage"] == "Unauthorized"
    assert result.payload["errorType"] == "Unauthorized"
    assert '"request denied"' in result.logs
    assert unknown not in result.logs
