"""``forward-orders push``: files of orders into the API, in batches, concurrently, resumably.

One thread reads the inputs and plans batches (batching.py); up to ``concurrency`` threads send
them (batching.settle). Batches finish out of order; the reading thread commits them in order:
a batch's rejects are written and its counts added only when every batch before it is settled, and
then the checkpoint records the end of that prefix (checkpoint.py). How many batches may wait for
the prefix is bounded, which keeps memory flat whatever the size of the input.

Two batches that hold the same order identifier are never in flight together: the later one waits
until the earlier one is settled, so an order's updates reach the API in the order of the file.
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from forward_orders_client import checkpoint, jsontext
from forward_orders_client.batching import Batch, Outcome, Settled, plan_batches, settle
from forward_orders_client.checkpoint import Checkpoint, InputFile, Totals
from forward_orders_client.client import (
    AuthenticationError,
    ForwardOrdersClient,
    ForwardOrdersError,
    PushStopped,
    RetriesExhausted,
    RetryEvent,
)
from forward_orders_client.limits import BatchLimits
from forward_orders_client.sources import Position, SourceOrder, UnreadableInput, detect_format, read_orders

# Measured against `forward-orders serve` (client/README.md, "Concurrency"); with the default rate
# it stays inside the API's standard per-client tier.
DEFAULT_CONCURRENCY = 4
# Requests per second, burst: under the API's default per-client tier (10/s, burst 20).
DEFAULT_RATE = 8.0
# Batches sent or waiting for the prefix, per sending thread.
# (A batch that keeps failing holds back the commits after it, not the sending of others.)
WINDOW_PER_SENDER = 8
CHECKPOINT_INTERVAL = 0.5  # seconds between checkpoint writes (and always at the end)
EXIT_STORED, EXIT_REJECTED, EXIT_STOPPED = 0, 1, 2


@dataclass
class PushOptions:
    inputs: list[Path]
    format: str | None = None
    rejects: Path | None = None  # one file for every input; default: <input>.rejects.jsonl each
    checkpoint: Path | None = None  # default: <first input>.checkpoint.json
    resume: bool = False
    concurrency: int = DEFAULT_CONCURRENCY
    limits: BatchLimits = field(default_factory=BatchLimits)
    partial_success: bool = True

    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.inputs[0].with_name(self.inputs[0].name + ".checkpoint.json")

    def rejects_path(self, path: Path) -> Path:
        return self.rejects or path.with_name(path.name + ".rejects.jsonl")


@dataclass
class Snapshot:
    """What the progress display shows."""

    bytes_read: int
    total_bytes: int
    totals: Totals
    retries: int
    in_flight: int
    elapsed: float


@dataclass
class PushSummary:
    totals: Totals
    exit_code: int
    stopped: str | None  # why it stopped early, or None
    retries: int
    requests: int
    elapsed: float
    rejects_files: list[str]
    checkpoint: str | None  # kept for --resume, when stopped
    resumed_from: int = 0  # orders acknowledged before this run

    def describe(self) -> str:
        t = self.totals
        done = t.stored + t.stale + t.rejected
        rate = (done - self.resumed_from) / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"{done:,} order{'' if done == 1 else 's'}: {t.stored:,} stored, {t.stale:,} stale, "
            f"{t.rejected:,} rejected ({t.rejected_locally:,} of them by local checks)",
            f"{self.requests:,} requests, {self.retries:,} retries, "
            f"{self.elapsed:.1f} s, {rate:,.0f} orders/s",
        ]
        if t.stale_records:
            lines.append(f"{t.stale_records:,} records skipped as older than the stored ones (stale)")
        if t.rejected:
            lines.append("rejects: " + ", ".join(self.rejects_files))
        if self.stopped:
            lines.append(f"stopped: {self.stopped}")
            if self.checkpoint:
                lines.append(f"continue with --resume (checkpoint {self.checkpoint})")
        return "\n".join(lines)


class Reporter(Protocol):
    def update(self, snapshot: Snapshot) -> None: ...


ClientFactory = Callable[[Callable[[RetryEvent], None], threading.Event], ForwardOrdersClient]


class PushError(Exception):
    """The push cannot start (bad input list, checkpoint that does not match)."""


# -- rejects --------------------------------------------------------------------------------------


class RejectsFiles:
    """The rejects files, opened on first use, flushed to disk before each checkpoint."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = dict(sizes)
        self._handles: dict[str, IO[bytes]] = {}

    def prepare(self, path: Path, size: int) -> None:
        """Truncate to what the checkpoint acknowledged (0: remove what an earlier run left)."""
        if size:
            with path.open("r+b") as handle:
                handle.truncate(size)
        else:
            path.unlink(missing_ok=True)
        self.sizes[str(path)] = size

    def write(self, path: str, line: bytes) -> None:
        handle = self._handles.get(path)
        if handle is None:
            # Open for the whole push, closed by close().
            handle = self._handles[path] = Path(path).open("ab")  # noqa: SIM115
        handle.write(line)
        self.sizes[path] = self.sizes.get(path, 0) + len(line)

    def sync(self) -> None:
        for handle in self._handles.values():
            handle.flush()
            os.fsync(handle.fileno())

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()


def reject_line(order: SourceOrder, outcome: Outcome) -> bytes:
    """One line of a rejects file; itself a valid input line (its ``order`` is pushed)."""
    record: dict[str, Any] = order.location.as_json()
    record["identifier"] = order.identifier
    record["refused_by"] = outcome.refused_by
    if outcome.request_id:
        record["request_id"] = outcome.request_id
    if order.extra.get("pushed_from"):
        record["pushed_from"] = order.extra["pushed_from"]
    record["errors"] = outcome.errors
    head = jsontext.dumps(record)[:-1]
    if order.body is not None:
        tail = b',"order":' + order.body + b"}"
    else:
        tail = b',"order":null,"text":' + jsontext.dumps(order.text or "") + b"}"
    return head + tail + b"\n"


# -- the push -------------------------------------------------------------------------------------


class Push:
    def __init__(
        self,
        options: PushOptions,
        client_factory: ClientFactory,
        *,
        stop: threading.Event,
        reporter: Reporter | None = None,
        report_interval: float = 0.2,
    ) -> None:
        self.options = options
        self.client = client_factory(self.count_retry, stop)
        self.stop = stop
        self.reporter = reporter
        self.report_interval = report_interval
        self.retries = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._seq = 0
        self._window: dict[int, Batch] = {}  # planned and not yet committed, by seq
        self._done: dict[int, Settled] = {}
        self._futures: dict[concurrent.futures.Future[Settled], Batch] = {}
        self._in_flight_ids: Counter[str] = Counter()
        self._next_commit = 0
        self._stopped: str | None = None
        self._bytes_read = 0
        self._last_report = 0.0
        self._last_save = 0.0
        self._dirty = False
        self._started = time.monotonic()

    def count_retry(self, _: RetryEvent) -> None:
        with self._lock:
            self.retries += 1

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    # -- setting up -----------------------------------------------------------------------------

    def _prepare(self) -> tuple[Checkpoint, list[InputFile]]:
        options = self.options
        if not options.inputs:
            raise PushError("no input files")
        files = []
        for path in options.inputs:
            fmt = detect_format(path, options.format)
            if not path.is_file():
                raise PushError(f"{path}: no such file")
            files.append(InputFile.of(path, fmt))
        path = options.checkpoint_path()
        try:
            found = checkpoint.load(path)
        except ValueError as error:
            raise PushError(str(error)) from error
        if options.resume and found is not None:
            if found.inputs != files:
                raise PushError(
                    f"{path} is the checkpoint of other input files (or they changed since): "
                    "push without --resume to start again"
                )
            state = found
        else:
            state = Checkpoint(inputs=files)
            state.rejects = {str(options.rejects_path(path)): 0 for path in options.inputs}
        return state, files

    # -- running --------------------------------------------------------------------------------

    def run(self) -> PushSummary:
        try:
            state, files = self._prepare()
        except BaseException:
            self.client.close()
            raise
        self.state = state
        self.resumed_from = state.totals.stored + state.totals.stale + state.totals.rejected
        self.rejects = RejectsFiles(state.rejects)
        for name, size in state.rejects.items():
            self.rejects.prepare(Path(name), size)
        self.total_bytes = sum(entry.size for entry in files)
        self._save(force=True)
        executor = concurrent.futures.ThreadPoolExecutor(self.options.concurrency, "forward-orders-push")
        self._executor = executor
        try:
            self._read_and_send(files)
            self._drain()
        finally:
            if self._futures:
                self.stop.set()
                self._drain()
            executor.shutdown(wait=True)
            self._save(force=True)
            self.rejects.close()
            self.client.close()
        return self._summary()

    def _read_and_send(self, files: list[InputFile]) -> None:
        limits = self.options.limits
        for index in range(self.state.file, len(files)):
            entry = files[index]
            start = self.state.position if index == self.state.file else Position()
            # The path as given (the checkpoint holds the resolved one): rejects name it so.
            path = self.options.inputs[index]
            orders = read_orders(path, entry.format, start, max_line_bytes=limits.max_body_bytes)
            before = sum(f.size for f in files[:index])
            try:
                for batch in plan_batches(orders, limits, index, self._next_seq):
                    if not self._dispatch(batch):
                        return
                    self._bytes_read = before + min(batch.end.offset, entry.size)
            except UnreadableInput as error:
                self._stop_with(f"unreadable input: {error}")
                return

    def _dispatch(self, batch: Batch) -> bool:
        """Send the batch when there is room; False when the push is stopping."""
        window = self.options.concurrency * WINDOW_PER_SENDER
        while True:
            self._collect(block=False)
            if self.stop.is_set():
                self._stop_with(self._stopped or "interrupted")
                return False
            blocked = any(self._in_flight_ids[name] for name in batch.identifiers)
            if len(self._futures) < self.options.concurrency and len(self._window) < window and not blocked:
                break
            self._collect(block=True)
        self._window[batch.seq] = batch
        if batch.sendable:
            for name in batch.identifiers:
                self._in_flight_ids[name] += 1
            future = self._executor.submit(self._settle, batch)
            self._futures[future] = batch
        else:
            self._done[batch.seq] = settle(self.client, batch, partial_success=self.options.partial_success)
            self._commit()
        return True

    def _settle(self, batch: Batch) -> Settled:
        return settle(self.client, batch, partial_success=self.options.partial_success)

    def _collect(self, *, block: bool) -> None:
        if self._futures:
            done, _ = concurrent.futures.wait(
                list(self._futures),
                timeout=self.report_interval if block else 0,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
            for future in done:
                batch = self._futures.pop(future)
                for name in batch.identifiers:
                    self._in_flight_ids[name] -= 1
                    if not self._in_flight_ids[name]:
                        del self._in_flight_ids[name]
                self._finished(batch, future)
            if done:
                self._commit()
        elif block:
            self.stop.wait(self.report_interval)
        self._report()
        self._save()

    def _finished(self, batch: Batch, future: concurrent.futures.Future[Settled]) -> None:
        try:
            settled = future.result()
        except PushStopped:
            return  # not settled: sent again on resume
        except AuthenticationError as error:
            self._stop_with(str(error))
            return
        except RetriesExhausted as error:
            self._stop_with(f"the API kept failing: {error}")
            return
        except ForwardOrdersError as error:
            self._stop_with(str(error))
            return
        with self._lock:
            self.requests += settled.requests
        self._done[batch.seq] = settled

    def _stop_with(self, reason: str) -> None:
        if self._stopped is None:
            self._stopped = reason
        self.stop.set()

    def _drain(self) -> None:
        while self._futures:
            self._collect(block=True)

    def _commit(self) -> None:
        while self._next_commit in self._done:
            seq = self._next_commit
            settled = self._done.pop(seq)
            batch = self._window.pop(seq)
            totals = self.state.totals
            for order, outcome in zip(batch.entries, settled.outcomes, strict=True):
                totals.orders += 1
                if outcome.status == "rejected":
                    totals.rejected += 1
                    if outcome.refused_by == "client":
                        totals.rejected_locally += 1
                    path = str(self.options.rejects_path(self.options.inputs[batch.file_index]))
                    self.rejects.write(path, reject_line(order, outcome))
                elif outcome.status == "stale":
                    totals.stale += 1
                else:
                    totals.stored += 1
            totals.stale_records += settled.stale_records
            if batch.last_of_file:
                self.state.file, self.state.position = batch.file_index + 1, Position()
            else:
                self.state.file, self.state.position = batch.file_index, batch.end
            self._next_commit += 1
            self._dirty = True

    def _save(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_save < CHECKPOINT_INTERVAL):
            return
        self.rejects.sync()
        self.state.rejects = dict(self.rejects.sizes)
        checkpoint.save(self.options.checkpoint_path(), self.state)
        self._last_save, self._dirty = now, False

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.reporter is None or (not force and now - self._last_report < self.report_interval):
            return
        self._last_report = now
        self.reporter.update(
            Snapshot(
                bytes_read=self._bytes_read,
                total_bytes=self.total_bytes,
                totals=self.state.totals,
                retries=self.retries,
                in_flight=len(self._futures),
                elapsed=now - self._started,
            )
        )

    def _summary(self) -> PushSummary:
        totals = self.state.totals
        finished = self._stopped is None and self.state.file >= len(self.state.inputs)
        if finished:
            checkpoint.remove(self.options.checkpoint_path())
        if not finished:
            code = EXIT_STOPPED
            self._stopped = self._stopped or "interrupted"
        elif totals.rejected:
            code = EXIT_REJECTED
        else:
            code = EXIT_STORED
        self._bytes_read = self.total_bytes if finished else self._bytes_read
        self._report(force=True)
        return PushSummary(
            totals=totals,
            exit_code=code,
            stopped=self._stopped,
            retries=self.retries,
            requests=self.requests,
            elapsed=time.monotonic() - self._started,
            rejects_files=sorted(name for name, size in self.rejects.sizes.items() if size),
            checkpoint=None if finished else str(self.options.checkpoint_path()),
            resumed_from=self.resumed_from,
        )


def push(
    options: PushOptions,
    client_factory: ClientFactory,
    *,
    stop: threading.Event | None = None,
    reporter: Reporter | None = None,
) -> PushSummary:
    """Run a push; ``client_factory(on_retry, stop)`` builds the client it sends with."""
    return Push(options, client_factory, stop=stop or threading.Event(), reporter=reporter).run()
