"""Memory stays flat whatever the size of the input: the peak RSS of a push of a 100 MB file is
that of a 25 MB one (JSON Lines; JSON and CSV at 10 and 40 MB). The server is a stand-in that
answers 200 at once, so that the client is all that is measured. FORWARD_ORDERS_SOAK=1 adds a
2 GB JSON Lines file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.local.push.conftest import push_env

MB = 1024 * 1024
SOAK = os.environ.get("FORWARD_ORDERS_SOAK") == "1"
# The peak of a push, whatever the input: interpreter, httpx, rich, and the batches in flight.
GROWTH_ALLOWED_KIB = 12 * 1024
CEILING_KIB = 120 * 1024


class _Accepting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"message":"Success","orders_upserted":1,"items_upserted":1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def accepting_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accepting)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ITEMS = [
    {
        "identifier": str(j),
        "upc": "012345678905",
        "sku": f"SKU-{j}",
        "quantity": 1,
        "labels": [{"type": "text", "name": "note", "value": "x" * 120}],
    }
    for j in range(8)
]


def write_orders(path: Path, size: int, fmt: str) -> None:
    with path.open("w") as handle:
        written, i = 0, 0
        if fmt == "json":
            handle.write('{"orders": [\n')
        if fmt == "csv":
            handle.write("order_identifier,postal_code,item_identifier,upc,sku,quantity,labels\n")
        while written < size:
            if fmt == "csv":
                line = "".join(
                    f'M-{i},02134,{j},012345678905,SKU-{j},1,"[{{""type"":""text"",""name"":""n"",'
                    f'""value"":""{"x" * 120}""}}]"\n'
                    for j in range(8)
                )
            else:
                order = json.dumps({"identifier": f"M-{i}", "postal_code": "02134", "items": ITEMS})
                line = ("," if fmt == "json" and i else "") + order + "\n"
            handle.write(line)
            written += len(line)
            i += 1
        if fmt == "json":
            handle.write("]}\n")


def peak_rss_kib(path: Path, url: str) -> int:
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("rss_push.py")),
            "push",
            str(path),
            "--url",
            url,
            "--rate",
            "0",
            "--progress",
            "none",
            "--concurrency",
            "4",
        ],
        env=push_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stderr.strip().splitlines()[-1].split()[-1])


SIZES = {"jsonl": (25 * MB, 100 * MB), "json": (10 * MB, 40 * MB), "csv": (10 * MB, 40 * MB)}


@pytest.mark.parametrize("fmt", sorted(SIZES))
def test_peak_memory_does_not_grow_with_the_input(accepting_server: str, tmp_path: Path, fmt: str) -> None:
    small, large = SIZES[fmt]
    sizes = [small, large, *([2048 * MB] if SOAK and fmt == "jsonl" else [])]
    peaks = []
    for size in sizes:
        path = tmp_path / f"orders-{size // MB}.{fmt}"
        write_orders(path, size, fmt)
        peaks.append(peak_rss_kib(path, accepting_server))
        path.unlink()
    print(f"{fmt}: peak RSS KiB for {[s // MB for s in sizes]} MB: {peaks}")
    assert max(peaks) - peaks[0] < GROWTH_ALLOWED_KIB, peaks
    assert max(peaks) < CEILING_KIB, peaks
