"""moto's DynamoDB as a standalone loopback server, for the tests that share one DynamoDB between
several processes (several ``forward-orders serve``, like several Lambda execution environments).

DynamoDB applies each UpdateItem atomically: two concurrent updates of one item never lose each
other's attributes. moto's server does not promise that: its UpdateItem reads the item, creates it
if missing and then assigns attributes, with nothing held in between, so two concurrent first writes
of one new item can lose one writer's attributes. Those tests check the service's write strategy,
not moto, so this server applies one request at a time (a lock around moto's WSGI application):
each call is atomic, as on DynamoDB, while the callers stay truly concurrent. ``--no-lock`` runs
moto as it is (``FORWARD_ORDERS_MOTO_LOCK=0`` for the tests): the race is real in moto's code but its
window is narrow, and the concurrency tests have not been seen to hit it.

``--journal FILE`` appends one JSON line per UpdateItem that succeeded, in the order they were
applied: its table, key and the ``:version`` it was conditioned on (null without one). That is
what a DynamoDB stream of the table would carry a record for, and nothing else: the versioned
deliveries test reads it to prove that no stale write reached the stream.

Prints its port on the first line of stdout, then serves until killed.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import threading
from collections.abc import Iterable
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-lock", action="store_true", help="moto as it is: calls not atomic")
    parser.add_argument("--journal", help="append each UpdateItem that succeeded to this file")
    args = parser.parse_args()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def atomic(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with lock:
            return list(moto_app(environ, start_response))

    journal = open(args.journal, "a", encoding="utf-8") if args.journal else None  # noqa: SIM115

    def journaled(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").endswith(".UpdateItem"):
            return atomic(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        statuses: list[str] = []

        def remember(status: str, *rest: Any) -> Any:
            statuses.append(status)
            return start_response(status, *rest)

        with lock:  # the journal's order is the order the writes were applied in
            answer = list(moto_app(environ, remember))
            if journal is not None and statuses and statuses[0].startswith("200"):
                request = json.loads(body)
                version = request.get("ExpressionAttributeValues", {}).get(":version", {}).get("N")
                entry = {"table": request["TableName"], "key": request["Key"], "version": version}
                journal.write(json.dumps(entry) + "\n")
                journal.flush()
        return answer

    app = moto_app if args.no_lock else journaled if journal else atomic
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
