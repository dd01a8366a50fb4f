"""The API stage's access log: one JSON line per request, its fields defined once (the stack writes
the format, the cost model renders it to count its bytes: bench/cost.py).

Never a header (the Authorization header holds the key) and never the request path, which holds
order identifiers and tracking numbers: the resource path (the route's template) says which route
was called. Kept free of CDK imports so that tooling can read it without starting jsii.
"""

from __future__ import annotations

import json

# Field name -> the API Gateway context variable it logs.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integration.error",
    "errorType": "$context.error.responseType",
    "errorMessage": "$context.error.message",
    "clientId": "$context.authorizer.principalId",
    "keyId": "$context.authorizer.key_id",
    "plan": "$context.authorizer.plan",
    "apiKeyId": "$context.identity.apiKeyId",
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatency": "$context.authorizer.latency",
    "authorizerError": "$context.authorizer.error",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "xrayTraceId": "$context.xrayTraceId",
}


def access_log_format() -> str:
    """The stage's access log format: every value quoted, because API Gateway writes "-" for an
    empty one, which would break bare numbers."""
    return json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))
