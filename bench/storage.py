"""The benchmark processes' side of bench/dynamodb_server.py: its address, its delay, its counts.

Control calls go over their own connection with the standard library's http.client, outside every
timed section.
"""

from __future__ import annotations

import http.client
import json
import os
from typing import Any
from urllib.parse import urlsplit

# boto3 reads it for the DynamoDB client's endpoint, and so does the function's adapter.
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"


class Storage:
    """The DynamoDB server the process's clients talk to (its URL in AWS_ENDPOINT_URL_DYNAMODB)."""

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = endpoint or os.environ[ENDPOINT_VARIABLE]
        parts = urlsplit(self.endpoint)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def _call(self, method: str, path: str, body: bytes = b"") -> Any:
        self._connection.request(method, path, body=body)
        return json.loads(self._connection.getresponse().read())

    def reset(self, delay: float) -> None:
        """Answer every later call after ``delay`` seconds; count calls from zero."""
        self._call("POST", "/bench/delay", repr(delay).encode())

    def capture(self) -> None:
        """Keep the bodies (the parameters) of the next UpdateItem calls."""
        self._call("POST", "/bench/capture")

    def calls(self) -> tuple[int, list[dict[str, Any]] | None]:
        """Calls since the last reset, and the captured UpdateItem parameters (then forgotten)."""
        reply = self._call("GET", "/bench/calls")
        return reply["calls"], reply["captured"]
