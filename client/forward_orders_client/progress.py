"""What a push shows while it runs: a progress bar on a terminal, a line every few seconds
otherwise. ETA comes from the input bytes read, the only measure known from the start."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from forward_orders_client.push import Snapshot


def _rate(snapshot: Snapshot) -> float:
    t = snapshot.totals
    return (t.stored + t.stale + t.rejected) / snapshot.elapsed if snapshot.elapsed > 0 else 0.0


class ProgressBar:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self._progress = Progress(
            TextColumn("[bold]push"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[orders]:>10,} orders  {task.fields[rate]:>7,.0f}/s"),
            TextColumn("rejects {task.fields[rejects]:,}  retries {task.fields[retries]:,}"),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream or sys.stderr),
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def update(self, snapshot: Snapshot) -> None:
        t = snapshot.totals
        fields: dict[str, Any] = {
            "orders": t.stored + t.stale + t.rejected,
            "rate": _rate(snapshot),
            "rejects": t.rejected,
            "retries": snapshot.retries,
        }
        if self._task is None:
            self._task = self._progress.add_task("push", total=max(snapshot.total_bytes, 1), **fields)
        self._progress.update(self._task, completed=snapshot.bytes_read, **fields)


class LineLog:
    """One plain line per ``interval`` seconds, for logs and pipes."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 10.0) -> None:
        self._stream = stream or sys.stderr
        self._interval = interval
        self._last = time.monotonic()

    def __enter__(self) -> LineLog:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def update(self, snapshot: Snapshot) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        t = snapshot.totals
        share = snapshot.bytes_read / snapshot.total_bytes if snapshot.total_bytes else 1.0
        eta = snapshot.elapsed * (1 - share) / share if share > 0 else None
        print(
            f"{time.strftime('%H:%M:%S')} push: {t.stored + t.stale + t.rejected:,} orders "
            f"({_rate(snapshot):,.0f}/s), {t.rejected:,} rejected, {snapshot.retries:,} retries, "
            f"{share:.0%} read, ETA {_duration(eta)}",
            file=self._stream,
            flush=True,
        )


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
