"""The cost replay: the feed (``bench/feed.py``) through the local gateway and the three functions,
counting what each request costs. Run by ``bench/cost.py`` as ``python -m bench.replay``, once per
tree of code (the current one and the baseline), with that tree's ``functions/`` and ``cli/`` first
on ``PYTHONPATH``; it prints one JSON document of counts, which the model prices.

Pieces, each in its own process, as deployed:

- moto's server (``python -m moto.server``): DynamoDB and EventBridge;
- one ``bench.function_host`` per function (the API function, the authorizer, the order events
  function), each with the environment the stack gives it: CPU time, log lines and AWS calls of
  every invocation are measured there;
- this process: the local API Gateway of ``forward-orders serve`` (``LocalApiGateway``, which
  routes, runs the authorizer, checks its policy and builds every event with ``lambda_events``),
  driven in-process through werkzeug's test client; and the bookkeeping below.

Counted here, by DynamoDB's rules (``bench/capacity.py`` for item sizes), from the items
themselves: the partitions a POST touches are read before and after it (with a client of its
own, not counted), so every UpdateItem's write units come from the item before and after it, and
every index's from the index entry before and after (an entry is written when the item enters or
leaves the index, changes its index key (a delete and a put), or changes an attribute the index
projects; nothing when none of that happens). Reads: GetItem and BatchGetItem by each item's size,
a Query by the total of what it returned, rounded up to 4 KB, half for eventually consistent
reads. The same before and after images are the table's stream records (INSERT or MODIFY, both
images), which the order events function then receives in the batches the event source mapping
would form at each traffic level (``stream_batches``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from bench import feed as feeds
from bench.capacity import item_size, write_units
from bench.push import start_moto
from bench.workload import encode

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"
ORDERS_TABLE = "ForwardOrders-OrdersTable-1A2B3C4D5E6F"
KEYS_TABLE = "ForwardOrders-ApiKeysTable-6F5E4D3C2B1A"
BUS_NAME = "ForwardOrders-order-events"
STREAM_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ORDERS_TABLE}/stream/2026-12-01T00:00:00.000"
SOURCE_IP = "203.0.113.10"
USER_AGENT = "Apache-HttpClient/4.5.14 (Java/17.0.10)"  # a typical order system's HTTP client
OPERATIONS_KEY_NAME = "returns-desk"
WARM_UP_CLIENT = "warm-up"
ORDERS, QUICK_ORDERS = 480, 120  # orders in the replayed feed
READ_UNIT_BYTES = 4096


@dataclass(frozen=True)
class Function:
    """One deployed function: its package, the name the stack gives it, and its settings."""

    package: str
    name: str
    memory_mb: int
    timeout_seconds: float
    environment: dict[str, str]


# -- processes --------------------------------------------------------------------------------------


class Host:
    """A ``bench.function_host`` process: one function's execution environment."""

    def __init__(self, function: Function, environment: dict[str, str]) -> None:
        self.function = function
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.function_host", function.package, str(write_fd)],
            cwd=ROOT,
            env={**environment, **function.environment},
            stdin=subprocess.PIPE,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self.replies = os.fdopen(read_fd)
        self.init = self._reply()

    def _reply(self) -> dict[str, Any]:
        line = self.replies.readline()
        if not line:
            raise RuntimeError(f"the {self.function.package} host died (exit {self.process.wait()})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def invoke(self, event: dict[str, Any], trace_header: str) -> dict[str, Any]:
        command = {
            "event": event,
            "trace_header": trace_header,
            "function_name": self.function.name,
            "timeout_seconds": self.function.timeout_seconds,
            "memory_mb": self.function.memory_mb,
            "version": "7",
        }
        stdin = self.process.stdin
        if stdin is None:
            raise RuntimeError("the host has no stdin")
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        return self._reply()

    def stop(self) -> None:
        stdin = self.process.stdin
        if stdin is not None and not stdin.closed:
            stdin.write('{"command": "stop"}\n')
            stdin.close()
        self.process.wait(timeout=60)
        self.replies.close()


# -- DynamoDB's rules -------------------------------------------------------------------------------

RawItem = dict[str, dict[str, Any]]
Key = tuple[str, str]


def _key(raw: RawItem) -> Key:
    return raw["pk"]["S"], raw["sk"]["S"]


def index_entry(index: Any, raw: RawItem | None) -> RawItem | None:
    """What ``index`` (a ``common.tables.GlobalIndex``) holds for an item: None when the item lacks
    one of its keys (a sparse index); else the table's and the index's keys and the projected
    attributes (``projected_attributes``: None for ALL, else the non-key attributes projected)."""
    if raw is None:
        return None
    index_keys = [key.name for key in (index.partition_key, index.sort_key) if key is not None]
    if any(name not in raw for name in index_keys):
        return None
    projected = index.projected_attributes
    if projected is None:
        return dict(raw)
    names = {"pk", "sk", *index_keys, *projected}
    return {name: value for name, value in raw.items() if name in names}


def index_writes(index: Any, before: RawItem | None, after: RawItem | None) -> int:
    """Write units one table write costs ``index``: a put when the item enters it, a delete when
    it leaves, both when its index key changes, an update when a projected attribute changes."""
    old, new = index_entry(index, before), index_entry(index, after)
    if old is None and new is None:
        return 0
    if old is None or new is None:
        return write_units(0, item_size(old or new or {}))
    key_names = [key.name for key in (index.partition_key, index.sort_key) if key is not None]
    if any(old[name] != new[name] for name in key_names):
        return write_units(0, item_size(old)) + write_units(0, item_size(new))
    if old == new:
        return 0
    return write_units(item_size(old), item_size(new))


def read_units(sizes: list[int], consistent: bool, *, each: bool) -> float:
    """GetItem and BatchGetItem round each item up to 4 KB (``each``); a Query rounds its total."""
    factor = 1.0 if consistent else 0.5
    if each:
        return sum(max(1, math.ceil(size / READ_UNIT_BYTES)) for size in sizes) * factor
    return max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES)) * factor


# -- the bookkeeping --------------------------------------------------------------------------------


@dataclass
class Invocation:
    function: str
    kind: str
    sampled: bool
    cpu: float
    wall: float
    log_lines: list[int]
    rounds: dict[str, int]
    calls: dict[str, int]
    # The order events function's batch: stream records in, PutEvents entries and 64 KB chunks out.
    stream: dict[str, int] = field(default_factory=dict)


@dataclass
class Counts:
    """Everything counted in one replay."""

    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    invocations: list[Invocation] = field(default_factory=list)
    access_log_lines: list[int] = field(default_factory=list)
    write_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    write_units_by_phase: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    read_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    stream_records: list[dict[str, Any]] = field(default_factory=list)
    stream_records_by_post: list[list[int]] = field(default_factory=list)
    lookup_mismatches: int = 0


def rounds(calls: list[dict[str, Any]]) -> dict[str, int]:
    """The longest chain of calls, per service, each one starting after the previous one ended:
    the round trips the invocation waited for (calls in flight together count once)."""
    depth: list[int] = []
    ordered = sorted(calls, key=lambda call: call["started"])
    longest: dict[str, int] = defaultdict(int)
    for position, call in enumerate(ordered):
        before = [depth[j] for j in range(position) if ordered[j]["ended"] <= call["started"]]
        depth.append(1 + max(before, default=0))
        longest[call["service"]] = max(longest[call["service"]], depth[-1])
    return dict(longest)


class Replay:
    def __init__(
        self,
        *,
        moto_url: str,
        functions: dict[str, Function],
        environment: dict[str, str],
        quick: bool,
    ) -> None:
        import boto3
        from werkzeug.test import Client

        from common.api_keys import ApiKeyStore
        from common.tables import API_KEYS_TABLE
        from common.tables import ORDERS_TABLE as ORDERS_SCHEMA
        from forward_orders_cli.lambda_events import Stage
        from forward_orders_cli.server import GatewayConfig, LocalApiGateway

        self.counts = Counts()
        self.schema = ORDERS_SCHEMA
        session = boto3.session.Session(
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - moto on loopback
            region_name=REGION,
        )
        self.oracle = session.client("dynamodb", endpoint_url=moto_url)
        self.oracle.create_table(**ORDERS_SCHEMA.create_table_request(ORDERS_TABLE))
        self.oracle.create_table(**API_KEYS_TABLE.create_table_request(KEYS_TABLE))
        session.client("events", endpoint_url=moto_url).create_event_bus(Name=BUS_NAME)
        store = ApiKeyStore(self.oracle, KEYS_TABLE)
        self.keys = {client: store.create(client)[0] for client in (*feeds.CLIENTS, WARM_UP_CLIENT)}
        self.operations_key = store.create_operations(OPERATIONS_KEY_NAME)[0]
        self.hosts = {name: Host(function, environment) for name, function in functions.items()}
        self._request: dict[str, Any] = {}
        gateway = LocalApiGateway(
            authorizer=self._proxy("authorizer"),
            api=self._proxy("api"),
            config=GatewayConfig(stage=Stage(name="v1", api_id="a1b2c3d4e5", region=REGION)),
        )
        self.client = Client(gateway)
        self.feed = feeds.build(QUICK_ORDERS if quick else ORDERS)
        self._sampled = False
        self._size_cache: dict[tuple[str, Key | str], int] = {}
        # The orders table as this replay wrote it: the item before each write.
        self.items: dict[Key, RawItem] = {}

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop()

    # -- invocations ------------------------------------------------------------------------------

    def _proxy(self, name: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        host = self.hosts[name]

        def invoke(event: dict[str, Any], _context: Any) -> dict[str, Any]:
            reply = host.invoke(event, self._request["trace_header"])
            self._record(name, self._request["kind"], reply)
            self._request.setdefault("latency", {})[name] = reply["wall"]
            if reply["error"] is not None:
                raise RuntimeError(reply["error"])  # as Lambda reports a function's error
            response: dict[str, Any] = reply["response"]
            if name == "authorizer":  # what the access log line takes from its result
                self._request["authorizer"] = response
            return response

        return invoke

    def _record(self, function: str, kind: str, reply: dict[str, Any]) -> None:
        calls = reply["calls"]
        counted: dict[str, int] = defaultdict(int)
        for call in calls:
            counted[f"{call['service']}.{call['operation']}"] += 1
        self.counts.invocations.append(
            Invocation(
                function=function,
                kind=kind,
                sampled=self._sampled,
                cpu=reply["cpu"],
                wall=reply["wall"],
                log_lines=reply["log_lines"],
                rounds=rounds(calls),
                calls=dict(counted),
            )
        )
        self._request.setdefault("calls", []).extend(calls)

    def _trace_header(self) -> str:
        # Alternately sampled and not: the model weighs the two by each traffic level's sampling.
        self._sampled = not self._sampled
        root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
        parent, lineage = uuid.uuid4().hex[:16], uuid.uuid4().hex[:8]
        return f"Root={root};Parent={parent};Sampled={int(self._sampled)};Lineage=1:{lineage}:0"

    # -- requests ---------------------------------------------------------------------------------

    def run(self) -> Counts:
        self._warm_up()
        for request in self.feed.requests():
            if isinstance(request, feeds.Post):
                self._post(request)
            else:
                self._lookup(request)
        return self.counts

    def _warm_up(self) -> None:
        """A warm function's state before anything is counted, as a deployed one has it: clients
        built, the write pool's threads started (one POST of more records than it has threads),
        the order events function's first batch done; then the counts start from zero."""
        orders = [
            {"identifier": f"warm-{n}", "items": [{"identifier": "1", "upc": "1", "sku": "1", "quantity": 1}]}
            for n in range(40)
        ]
        self._send(
            "warm-up",
            "POST",
            "/forward_orders",
            key=self.keys[WARM_UP_CLIENT],
            principal=WARM_UP_CLIENT,
            body=encode({"orders": orders}),
        )
        self._send("warm-up", "GET", "/tracking/WARM-UP", key=self.operations_key, principal="operations")
        self._request = {"kind": "warm-up", "trace_header": self._trace_header()}
        batch = {"Records": [self._stream_record(item, None) for item in list(self.items.values())[:2]]}
        self.hosts["order_events"].invoke(batch, self._request["trace_header"])
        self.counts = Counts()

    def _send(
        self, kind: str, method: str, path: str, *, key: str, principal: str, body: bytes | None = None
    ) -> Any:
        self._request = {"kind": kind, "trace_header": self._trace_header(), "principal": principal}
        started = time.perf_counter()
        response = self.client.open(
            path,
            method=method,
            data=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            environ_base={"REMOTE_ADDR": SOURCE_IP},
        )
        self.counts.requests[kind] += 1
        self.counts.statuses[f"{kind} {response.status_code}"] += 1
        self.counts.access_log_lines.append(
            self._access_log_line(method, path, response, time.perf_counter() - started)
        )
        return response

    def _access_log_line(self, method: str, path: str, response: Any, seconds: float) -> int:
        """The stage's access log line for this request, rendered from the format the stack
        deploys (``infra.access_log``) with this request's values."""
        from infra.access_log import ACCESS_LOG_FIELDS

        from common.api_routes import match_request

        latency = self._request.get("latency", {})
        authorizer = self._request.get("authorizer", {})
        context = authorizer.get("context", {})
        values = {
            "$context.requestId": str(uuid.uuid4()),
            "$context.requestTimeEpoch": str(int(time.time() * 1000)),
            "$context.httpMethod": method,
            "$context.resourcePath": match_request(method, path).resource,
            "$context.status": str(response.status_code),
            "$context.responseLength": str(len(response.get_data())),
            "$context.responseLatency": str(max(1, round(seconds * 1000))),
            "$context.integrationLatency": str(max(1, round(latency.get("api", 0) * 1000))),
            "$context.integrationStatus": str(response.status_code),
            "$context.authorizer.principalId": self._request.get("principal", "-"),
            "$context.authorizer.key_id": context.get("key_id", "-"),
            "$context.authorizer.plan": context.get("plan", "-"),
            # API Gateway's id of the key the result names for metering (ten characters).
            "$context.identity.apiKeyId": "k3y1d0a2b4" if "usageIdentifierKey" in authorizer else "-",
            "$context.authorizer.status": "200",
            "$context.authorizer.latency": str(max(1, round(latency.get("authorizer", 0) * 1000))),
            "$context.identity.sourceIp": SOURCE_IP,
            "$context.identity.userAgent": USER_AGENT,
            "$context.xrayTraceId": self._request["trace_header"].split(";")[0].removeprefix("Root="),
        }
        line = {name: values.get(variable, "-") for name, variable in ACCESS_LOG_FIELDS.items()}
        return len(json.dumps(line, separators=(",", ":")).encode())

    def _post(self, post: feeds.Post) -> None:
        response = self._send(
            post.phase,
            "POST",
            "/forward_orders",
            key=self.keys[post.client_id],
            principal=post.client_id,
            body=post.body,
        )
        if response.status_code != 200:
            raise RuntimeError(f"{post.phase} answered {response.status_code}: {response.get_data()!r}")
        calls = sorted(self._request.get("calls", []), key=lambda call: call["ended"])
        updates = [call for call in calls if call["operation"] == "UpdateItem"]
        keys = list(dict.fromkeys(_call_key(call) for call in updates))
        after = self._read_items(keys)
        records = []
        for call in calls:
            if call["operation"] != "UpdateItem":
                self._count_read(call)
                continue
            key = _call_key(call)
            old, new = self.items.get(key), after.get(key)
            failed = "Error" in call["answer"]
            size_before = item_size(old) if old else 0
            units = write_units(size_before, size_before if failed else item_size(new or {}))
            self._add_writes(post.phase, "table", units)
            if failed or new is None:
                continue
            for index in self.schema.global_indexes:
                self._add_writes(post.phase, index.name, index_writes(index, old, new))
            if new != old:
                records.append(len(self.counts.stream_records))
                self.counts.stream_records.append(self._stream_record(new, old))
            self.items[key] = new
        self.counts.stream_records_by_post.append(records)

    def _add_writes(self, phase: str, target: str, units: float) -> None:
        self.counts.write_units[target] += units
        self.counts.write_units_by_phase[phase] += units

    def _lookup(self, lookup: feeds.Lookup) -> None:
        path = "/tracking/" + quote(lookup.number, safe="")
        response = self._send(
            feeds.LOOKUP, "GET", path, key=self.operations_key, principal=f"operations:{OPERATIONS_KEY_NAME}"
        )
        found = len(json.loads(response.get_data())["matches"]) if response.status_code == 200 else 0
        if found != lookup.expected_matches:
            self.counts.lookup_mismatches += 1
        for call in self._request.get("calls", []):
            self._count_read(call)

    # -- reads ------------------------------------------------------------------------------------

    def _count_read(self, call: dict[str, Any]) -> None:
        operation, params, answer = call["operation"], call["params"], call["answer"]
        if call["service"] != "dynamodb" or "Error" in answer:
            return
        if operation == "GetItem":
            table = params["TableName"]
            size = self._full_size(table, params["Key"])
            self.counts.read_units[_target(table)] += read_units(
                [size], bool(params.get("ConsistentRead")), each=True
            )
        elif operation == "BatchGetItem":
            for table, request in params["RequestItems"].items():
                returned = answer.get("Responses", {}).get(table, [])
                unprocessed = len(answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                sizes = [self._full_size(table, _requested_key(raw, request["Keys"])) for raw in returned]
                missing = len(request["Keys"]) - len(returned) - unprocessed
                sizes += [0] * max(0, missing)
                self.counts.read_units[_target(table)] += read_units(
                    sizes, bool(request.get("ConsistentRead")), each=True
                )
        elif operation == "Query":
            table, index_name = params["TableName"], params.get("IndexName")
            index = next((i for i in self.schema.global_indexes if i.name == index_name), None)
            sizes = []
            for raw in answer.get("Items", []):
                full = self._full_item(table, {"pk": raw["pk"], "sk": raw["sk"]})
                entry = index_entry(index, full) if index is not None else full
                sizes.append(item_size(entry or {}))
            target = _target(table) if index_name is None else index_name
            self.counts.read_units[target] += read_units(
                sizes, bool(params.get("ConsistentRead")), each=False
            )

    def _full_item(self, table: str, key: dict[str, Any]) -> RawItem | None:
        if table == ORDERS_TABLE:  # every write went through this replay
            return self.items.get((key["pk"]["S"], key["sk"]["S"]))
        item: Any = self.oracle.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return cast(RawItem | None, item)

    def _full_size(self, table: str, key: dict[str, Any]) -> int:
        cache_key = (table, json.dumps(key, sort_keys=True))
        if table == KEYS_TABLE and cache_key in self._size_cache:
            return self._size_cache[cache_key]
        item = self._full_item(table, key)
        size = item_size(item) if item else 0
        self._size_cache[cache_key] = size
        return size

    # -- state and stream -------------------------------------------------------------------------

    def _read_items(self, keys: list[Key]) -> dict[Key, RawItem]:
        """The stored items of ``keys``, read with the replay's own client (strongly consistent)."""
        items: dict[Key, RawItem] = {}
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {
                ORDERS_TABLE: {
                    "Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer: Any = self.oracle.batch_get_item(RequestItems=request)
                items.update({_key(raw): raw for raw in answer["Responses"].get(ORDERS_TABLE, [])})
                request = answer.get("UnprocessedKeys") or {}
        return items

    def _stream_record(self, new: RawItem, old: RawItem | None) -> dict[str, Any]:
        """The record Lambda hands the function from a NEW_AND_OLD_IMAGES stream."""
        sequence = str(10**20 + len(self.counts.stream_records))
        stream: dict[str, Any] = {
            "ApproximateCreationDateTime": int(time.time()),
            "Keys": {"pk": new["pk"], "sk": new["sk"]},
            "NewImage": new,
            "SequenceNumber": sequence,
            "SizeBytes": len(json.dumps([new, old])),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if old is not None:
            stream["OldImage"] = old
        return {
            "eventID": uuid.uuid4().hex,
            "eventName": "INSERT" if old is None else "MODIFY",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": REGION,
            "dynamodb": stream,
            "eventSourceARN": STREAM_ARN,
        }

    def summary(self) -> dict[str, Any]:
        """The state at the end: how many orders and records are stored, and their sizes (table
        and each index, DynamoDB's storage rule: item size, plus 100 bytes per index entry)."""
        stored: dict[str, float] = defaultdict(float)
        records = 0
        for (pk, _), raw in self.items.items():
            if not pk.startswith(f"{WARM_UP_CLIENT}#"):
                records += 1
                stored["table"] += item_size(raw) + 100
                for index in self.schema.global_indexes:
                    entry = index_entry(index, raw)
                    if entry is not None:
                        stored[index.name] += item_size(entry) + 100
        return {"orders": self.feed.orders, "records": records, "stored_bytes": dict(stored)}

    # -- the order events function ------------------------------------------------------------------

    def publish(self, batches: list[list[int]], kind: str) -> None:
        """Invoke the order events function with each batch of stream records."""
        host = self.hosts["order_events"]
        for batch in batches:
            self._request = {"kind": kind, "trace_header": self._trace_header()}
            event = {"Records": [self.counts.stream_records[position] for position in batch]}
            reply = host.invoke(event, self._request["trace_header"])
            failures = reply["response"].get("batchItemFailures")
            if failures:
                raise RuntimeError(
                    f"the order events function failed records: {failures[:3]} {reply['calls'][:2]}"
                )
            self._record("order_events", kind, reply)
            entries = [
                entry
                for call in self._request.get("calls", [])
                if call["operation"] == "PutEvents"
                for entry in call["params"]["Entries"]
            ]
            self.counts.invocations[-1].stream = {
                "records": len(batch),
                "entries": len(entries),
                "chunks": sum(math.ceil(_entry_size(entry) / 65536) for entry in entries),
            }


def _entry_size(entry: dict[str, Any]) -> int:
    """EventBridge's size of a PutEvents entry (``order_events.event_bus.entry_size``)."""
    from order_events.event_bus import Event, entry_size

    return entry_size(Event(entry["Source"], entry["DetailType"], entry["Detail"], entry.get("Time")))


def _call_key(call: dict[str, Any]) -> Key:
    key = call["params"]["Key"]
    return key["pk"]["S"], key["sk"]["S"]


def _requested_key(raw: RawItem, keys: list[dict[str, Any]]) -> dict[str, Any]:
    """The requested key an item a BatchGetItem returned answers (its projection may have left
    out part of the key)."""
    return next(key for key in keys if all(raw[name] == value for name, value in key.items() if name in raw))


def _target(table: str) -> str:
    return "keys_table" if table == KEYS_TABLE else "table"


def stream_batches(
    records_by_post: list[list[int]],
    shard_of: Callable[[int], int],
    *,
    posts_per_second: float,
    shards: int,
    polls_per_second: float,
    batching_window_seconds: float,
    batch_size: int,
) -> list[list[int]]:
    """The batches the event source mapping hands the function at a traffic level: POSTs arrive
    evenly at ``posts_per_second``; each order's records go to one of ``shards`` shards (by
    partition key); each shard is read ``polls_per_second`` times a second, or, with a batching
    window, once per window; a batch holds what arrived since, at most ``batch_size`` records."""
    period = batching_window_seconds if batching_window_seconds > 0 else 1 / polls_per_second
    by_window: dict[tuple[int, int], list[int]] = defaultdict(list)
    for number, records in enumerate(records_by_post):
        window = int(number / posts_per_second / period)
        for position in records:
            by_window[(window, shard_of(position) % shards)].append(position)
    batches: list[list[int]] = []
    for window_and_shard in sorted(by_window):
        records = by_window[window_and_shard]
        batches.extend(records[start : start + batch_size] for start in range(0, len(records), batch_size))
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replay")
    parser.add_argument("--settings", required=True, help="JSON: functions, environment, stream, levels")
    parser.add_argument("--quick", action="store_true")
    options = parser.parse_args()
    settings = json.loads(options.settings)
    functions = {name: Function(**spec) for name, spec in settings["functions"].items()}
    environment = settings["environment"]
    moto, url = start_moto(environment)
    replay: Replay | None = None
    try:
        environment = {
            **environment,
            "AWS_ENDPOINT_URL_DYNAMODB": url,
            "AWS_ENDPOINT_URL_EVENTBRIDGE": url,
        }
        replay = Replay(moto_url=url, functions=functions, environment=environment, quick=options.quick)
        started = time.perf_counter()
        counts = replay.run()
        print(f"replay of the feed: {time.perf_counter() - started:.1f} s", file=sys.stderr)
        shards = [hash_partition(record["dynamodb"]["Keys"]["pk"]["S"]) for record in counts.stream_records]
        posts = len(counts.stream_records_by_post)
        stream = settings["stream"]
        events: dict[str, Any] = {}
        for level in settings["levels"]:
            posts_per_second = level["orders_per_second"] * posts / replay.feed.orders
            batches = stream_batches(
                counts.stream_records_by_post,
                shards.__getitem__,
                posts_per_second=posts_per_second,
                shards=stream["shards"],
                polls_per_second=stream["polls_per_second"],
                batching_window_seconds=stream["batching_window_seconds"],
                batch_size=stream["batch_size"],
            )
            kind = f"events@{level['name']}"
            replay.publish(batches, kind)
            events[level["name"]] = {"batches": len(batches), "posts_per_second": posts_per_second}
        result = {
            "feed": {
                "orders": replay.feed.orders,
                "items": sum(
                    len(o["items"]) for p in replay.feed.posts if p.phase == feeds.CREATE for o in p.orders
                ),
                "posts": posts,
                "lookups": len(replay.feed.lookups),
                "request_bytes": sum(len(p.body) for p in replay.feed.posts),
            },
            "requests": dict(counts.requests),
            "statuses": dict(counts.statuses),
            "lookup_mismatches": counts.lookup_mismatches,
            "write_units": dict(counts.write_units),
            "write_units_by_phase": dict(counts.write_units_by_phase),
            "read_units": dict(counts.read_units),
            "stream_records": len(counts.stream_records),
            "access_log_lines": counts.access_log_lines,
            "invocations": [invocation.__dict__ for invocation in counts.invocations],
            "init": {name: host.init for name, host in replay.hosts.items()},
            "events": events,
            **replay.summary(),
        }
    finally:
        if replay is not None:
            replay.close()
        os.killpg(moto.pid, 9)
        moto.wait()
    print(json.dumps(result))


def hash_partition(pk: str) -> int:
    """A stable shard for a partition key (DynamoDB hashes it; any even spread will do)."""
    import hashlib

    return int.from_bytes(hashlib.sha256(pk.encode()).digest()[:4], "big")


if __name__ == "__main__":
    main()
