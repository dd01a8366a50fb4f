"""The checkpoint of a push: how far each input is acknowledged, written atomically.

It records the end of the longest run of batches, from the start, that are all acknowledged (the
contiguous prefix): with several batches in flight they finish out of order, and a batch after a
gap is sent again on resume rather than tracked (upserts are idempotent). The rejects files are
truncated on resume to the sizes recorded with that prefix, so a reject is never written twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from forward_orders_client.sources import Position

VERSION = 1


@dataclass(frozen=True)
class InputFile:
    path: str
    format: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path, fmt: str) -> InputFile:
        stat = path.stat()
        return cls(str(path.resolve()), fmt, stat.st_size, stat.st_mtime_ns)


@dataclass
class Totals:
    orders: int = 0
    stored: int = 0
    stale: int = 0
    rejected: int = 0
    rejected_locally: int = 0
    stale_records: int = 0

    def add(self, other: Totals) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Checkpoint:
    inputs: list[InputFile]
    file: int = 0  # the input being read; len(inputs) when all are done
    position: Position = field(default_factory=Position)
    totals: Totals = field(default_factory=Totals)
    rejects: dict[str, int] = field(default_factory=dict)  # rejects file -> bytes acknowledged

    def as_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "inputs": [asdict(entry) for entry in self.inputs],
            "file": self.file,
            "position": asdict(self.position),
            "totals": asdict(self.totals),
            "rejects": self.rejects,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        if data.get("version") != VERSION:
            raise ValueError(f"checkpoint version {data.get('version')!r}, this client writes {VERSION}")
        return cls(
            inputs=[InputFile(**entry) for entry in data["inputs"]],
            file=int(data["file"]),
            position=Position(**data["position"]),
            totals=Totals(**data["totals"]),
            rejects={str(name): int(size) for name, size in data["rejects"].items()},
        )


def load(path: Path) -> Checkpoint | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Checkpoint.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a checkpoint this client can resume: {error}") from error


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write-then-rename in the same directory, each flushed to disk: a crash leaves the old
    checkpoint or the new one, never a mix."""
    directory = path.parent
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(checkpoint.as_json(), handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _sync_directory(directory)


def remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # not every file system syncs directories
    finally:
        os.close(descriptor)
