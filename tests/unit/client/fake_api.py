"""An in-process stand-in for the API behind ``httpx.MockTransport``: a v1 server (all-or-nothing
422, at most 100 problems listed) or a per-order one shaped as issue 10 specifies (200/207 with
``results``). An order is invalid when it has ``"bad"`` (its error names ``orders/<i>/bad``), and
makes the server fail (500) when it has ``"boom"``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

MAX_PROBLEMS = 100


@dataclass
class FakeApi:
    per_order: bool = False
    max_body_bytes: int = 262_144
    max_orders: int = 100
    key: str = "good-key"
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # identifier -> versions
    requests: list[dict[str, Any]] = field(default_factory=list)
    # Called with each request's orders before it is answered; may return a response to send instead.
    before: Callable[[httpx.Request, list[Any]], httpx.Response | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {self.key}":
            return httpx.Response(401)
        if request.method == "GET":
            return self.get(request)
        body = request.content
        orders = json.loads(body)["orders"] if len(body) <= self.max_body_bytes else []
        with self.lock:
            self.requests.append({"orders": orders, "params": dict(request.url.params), "size": len(body)})
        replaced = self.before(request, orders) if self.before is not None else None
        return replaced or self.refusal(len(body), orders) or self.answer(request, orders)

    def refusal(self, size: int, orders: list[Any]) -> httpx.Response | None:
        if size > self.max_body_bytes:
            return httpx.Response(413, json={"message": "Payload Too Large"})
        if len(orders) > self.max_orders:
            return self.invalid([{"field": "orders", "code": "invalid", "message": "too many"}])
        if any("boom" in order for order in orders):
            return httpx.Response(500, json={"message": "Internal Server Error", "request_id": "r-500"})
        return None

    def answer(self, request: httpx.Request, orders: list[Any]) -> httpx.Response:
        problems = [
            {"field": f"orders/{i}/bad", "code": "invalid", "message": "bad is not allowed"}
            for i, order in enumerate(orders)
            if "bad" in order
        ]
        if not (self.per_order and request.url.params.get("partial_success") == "true"):
            if problems:
                return self.invalid(problems[:MAX_PROBLEMS])
            for order in orders:
                self.store(order)
            body = {"message": "Success", "orders_upserted": len(orders), "items_upserted": 0}
            return httpx.Response(200, json=body)
        results = []
        for i, order in enumerate(orders):
            result = {"index": i, "identifier": order["identifier"], "status": "stored"}
            if "bad" in order:
                errors = [p for p in problems if p["field"].startswith(f"orders/{i}/")]
                result.update(status="rejected", errors=errors)
            elif order.get("stale"):
                result["status"] = "stale"
            else:
                self.store(order)
            results.append(result)
        status = 207 if problems else 200
        message = "Success" if status == 200 else "Multi-Status"
        return httpx.Response(status, json={"message": message, "results": results, "stale": []})

    def store(self, order: dict[str, Any]) -> None:
        with self.lock:
            self.stored.setdefault(str(order["identifier"]), []).append(order)

    def invalid(self, errors: list[dict[str, str]]) -> httpx.Response:
        return httpx.Response(
            422, json={"message": "Validation Failed", "errors": errors, "request_id": "r-422"}
        )

    def get(self, request: httpx.Request) -> httpx.Response:
        identifier = request.url.path.rsplit("/", 1)[-1]
        versions = self.stored.get(identifier)
        if not versions:
            return httpx.Response(404, json={"message": "Not Found"})
        return httpx.Response(200, json=versions[-1])
