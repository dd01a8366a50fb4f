"""The boto3 boundary of the benchmark: DynamoDB answered in-process, after a fixed delay.

A ``before-send`` handler is the last thing botocore runs before the HTTP send: the request has been
validated, serialized, routed to its endpoint and signed. Returning a response from it skips only
the network, so every call costs exactly what botocore costs plus the injected delay, and no
server (moto or otherwise) spends CPU in this process.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class Storage:
    """Answers every DynamoDB call of the clients it is installed on: ``{}`` (an UpdateItem without
    ReturnValues answers exactly that) after ``delay`` seconds, counting calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.captured: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def install(self, client: Any) -> Any:
        events = client.meta.events
        events.register_first("before-send.dynamodb", self._answer, unique_id="bench-answer")
        events.register(
            "before-parameter-build.dynamodb.UpdateItem", self._capture, unique_id="bench-capture"
        )
        return client

    def capture(self) -> None:
        """Record the parameters of the next UpdateItem calls (the floor replays them)."""
        self.captured = []

    def _capture(self, params: dict[str, Any], **_: Any) -> None:
        if self.captured is not None:
            with self._lock:
                self.captured.append(copy.deepcopy(params))

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        with self._lock:
            self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        headers = HTTPHeaders()
        headers["x-amzn-requestid"] = "BENCH"
        headers["content-type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 200, headers, _Body(b"{}"))
