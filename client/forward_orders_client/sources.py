"""Reading orders from files, one at a time, in constant memory: JSON Lines, JSON, CSV.

Each reader yields ``SourceOrder``s: where the order came from (for the rejects file), where to
resume after it (for the checkpoint), its identifier and its JSON encoding as it will be sent, or
why it could not be read. A problem with one order (a line that is not JSON, a CSV row with too
many cells) is that order's; a problem that stops the reading (a JSON document broken half-way) is
``UnreadableInput``. The CSV column mapping is documented in this package's README.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from forward_orders_client import jsontext

FORMATS = ("jsonl", "json", "csv")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 16

# CSV: one row per item. Order columns (repeated on each row of the order) and item columns; an
# order's rows are consecutive. ``labels`` holds a JSON array. The contract's field lists
# (functions/common/order_records.py) are repeated here because this package is installed alone; a
# test of the repository keeps them equal.
CSV_ORDER_IDENTIFIER = "order_identifier"
CSV_ITEM_IDENTIFIER = "item_identifier"
CSV_ORDER_FIELDS = ("concept", "postal_code", "created_at")
CSV_ITEM_FIELDS = (
    "upc",
    "sku",
    "quantity",
    "tracking_number",
    "reverse_tracking_number",
    "dropship_identifier",
    "shipped_date",
    "return_policy_end_date",
    "labels",
)
# Versioned writes: ``updated_at`` exists on orders and on items.
CSV_ORDER_ALIASES = {"order_updated_at": "updated_at"}
CSV_ITEM_ALIASES = {"item_updated_at": "updated_at"}
CSV_JSON_COLUMNS = frozenset({"labels"})


class UnreadableInput(Exception):
    """The file cannot be read on from here (missing, or a JSON document broken part-way)."""


@dataclass(frozen=True)
class Position:
    """Where reading a file resumes after an order: orders read so far, and for JSON Lines and
    CSV the byte offset and lines consumed (JSON is resumed by skipping ``ordinal`` orders)."""

    ordinal: int = 0
    offset: int = 0
    line: int = 0


@dataclass(frozen=True)
class Location:
    """Where an order is in its file, as the rejects file reports it."""

    source: str
    line: int | None = None  # JSON Lines: its line; CSV: the first line of its rows
    last_line: int | None = None  # CSV: the last line of its rows
    index: int | None = None  # JSON: its position in the orders array, from 0

    def as_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"source": self.source}
        for name in ("line", "last_line", "index"):
            value = getattr(self, name)
            if value is not None:
                found[name] = value
        return found


@dataclass
class SourceOrder:
    location: Location
    position: Position
    identifier: str | None = None
    body: bytes | None = None  # the order's JSON as sent; None when it could not be read
    items: int = 0
    most_labels: int = 0
    # Why it cannot be sent (read here, or refused by a local limit check): code and message.
    problem: tuple[str, str] | None = None
    text: str | None = None  # what could not be read, kept for the rejects file
    extra: dict[str, Any] = field(default_factory=dict)


def detect_format(path: Path, requested: str | None) -> str:
    if requested:
        return requested
    found = _EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise UnreadableInput(
            f"{path}: cannot tell the format from the extension; pass --format jsonl, json or csv"
        )
    return found


def read_orders(path: Path, fmt: str, start: Position, *, max_line_bytes: int) -> Iterator[SourceOrder]:
    try:
        handle = path.open("rb")
    except OSError as error:
        raise UnreadableInput(f"{path}: {error.strerror or error}") from error
    with handle:
        if fmt == "jsonl":
            yield from _jsonl(handle, str(path), start, max_line_bytes)
        elif fmt == "json":
            yield from _json(handle, str(path), start)
        elif fmt == "csv":
            yield from _csv(handle, str(path), start)
        else:
            raise ValueError(f"unknown format {fmt!r}")


def _counts(order: Any) -> tuple[int, int]:
    items = order.get("items") if isinstance(order, dict) else None
    if not isinstance(items, list):
        return 0, 0
    labels = [
        len(item["labels"])
        for item in items
        if isinstance(item, dict) and isinstance(item.get("labels"), list)
    ]
    return len(items), max(labels, default=0)


def _describe(order: SourceOrder, value: Any) -> SourceOrder:
    order.identifier = jsontext.identity(value.get("identifier")) if isinstance(value, dict) else None
    order.items, order.most_labels = _counts(value)
    return order


def is_reject_record(value: Any) -> bool:
    """A line of a rejects file: pushing that file again sends the (fixed) orders it holds."""
    return (
        isinstance(value, dict)
        and "order" in value
        and isinstance(value.get("errors"), list)
        and "source" in value
    )


# -- JSON Lines -----------------------------------------------------------------------------------


def _jsonl(handle: BinaryIO, source: str, start: Position, max_line_bytes: int) -> Iterator[SourceOrder]:
    handle.seek(start.offset)
    offset, line, ordinal = start.offset, start.line, start.ordinal
    while True:
        raw = handle.readline(max_line_bytes + 1)
        if not raw:
            return
        line += 1
        oversized = len(raw) > max_line_bytes and not raw.endswith(b"\n")
        if oversized:
            # Skip the rest of the line without holding it: its order is over the body limit.
            while (chunk := handle.readline(_CHUNK)) and not chunk.endswith(b"\n"):
                pass
            offset = handle.tell()
        else:
            offset += len(raw)
        if line == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        stripped = raw.strip()
        if not stripped:
            continue
        ordinal += 1
        order = SourceOrder(Location(source, line=line), Position(ordinal, offset, line))
        if oversized:
            order.problem = (
                "too_large",
                f"the line is over {max_line_bytes} bytes: more than a request may hold",
            )
            order.text = stripped[:200].decode("utf-8", "replace") + "..."
            yield order
        else:
            yield _jsonl_order(order, stripped)


def _jsonl_order(order: SourceOrder, stripped: bytes) -> SourceOrder:
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError as error:
        order.problem = ("invalid_json", f"the line is not valid UTF-8 (byte {error.start + 1})")
        order.text = stripped.decode("utf-8", "replace")
        return order
    try:
        value = jsontext.loads(text)
    except jsontext.NotJson as error:
        order.problem = ("invalid_json", f"the line is {error}")
        order.text = text
        return order
    if is_reject_record(value):
        order.extra["pushed_from"] = {
            k: int(value[k].text) if isinstance(value[k], jsontext.JsonNumber) else value[k]
            for k in ("source", "line", "last_line", "index")
            if k in value
        }
        value = value["order"]
        if value is None:
            order.problem = ("invalid_json", "this rejects-file line holds no order: fix its text first")
            return order
        order.body = jsontext.dumps(value)
    else:
        # Sent exactly as written: every number keeps its spelling.
        order.body = stripped
    return _describe(order, value)


# -- JSON -----------------------------------------------------------------------------------------


def _json(handle: BinaryIO, source: str, start: Position) -> Iterator[SourceOrder]:
    head = handle.read(_CHUNK)
    first = head.lstrip(_BOM).lstrip()[:1]
    handle.seek(0)
    if first == b"[":
        prefix = "item"
    elif first == b"{":
        prefix = "orders.item"
    else:
        raise UnreadableInput(f"{source}: a JSON file must hold an array of orders or an object with orders")
    index = -1
    try:
        for index, value in enumerate(ijson.items(handle, prefix, use_float=False)):
            if index < start.ordinal:
                continue
            order = SourceOrder(Location(source, index=index), Position(index + 1, handle.tell(), 0))
            try:
                order.body = jsontext.dumps(value)
            except (ValueError, TypeError) as error:
                order.problem = ("invalid_json", str(error))
            yield _describe(order, value)
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as error:
        raise UnreadableInput(f"{source}: not valid JSON after order index {index}: {error}") from error


# -- CSV ------------------------------------------------------------------------------------------


class _Lines:
    """Text lines of a binary file for csv.reader, keeping the byte offset and line number of
    what it has handed out (the reader pulls lines only as it needs them)."""

    def __init__(self, handle: BinaryIO, offset: int, line: int) -> None:
        self._handle = handle
        self.offset = offset
        self.line = line
        self.not_utf8: set[int] = set()  # line numbers

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self._handle.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.line += 1
        if self.line == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.not_utf8.add(self.line)
            return raw.decode("utf-8", "replace")


@dataclass
class _Row:
    cells: list[str]
    first_line: int
    last_line: int
    end: Position


@dataclass
class _Columns:
    order_identifier: int
    order_fields: list[tuple[int, str]]
    item_fields: list[tuple[int, str]]
    width: int
    ignored: list[str]


def csv_columns(header: list[str]) -> _Columns:
    names = [name.strip() for name in header]
    if CSV_ORDER_IDENTIFIER not in names:
        raise UnreadableInput(f"the CSV header has no {CSV_ORDER_IDENTIFIER} column")
    order_fields: list[tuple[int, str]] = []
    item_fields: list[tuple[int, str]] = []
    ignored: list[str] = []
    order_names = {name: name for name in CSV_ORDER_FIELDS} | CSV_ORDER_ALIASES
    item_names = (
        {name: name for name in CSV_ITEM_FIELDS} | CSV_ITEM_ALIASES | {CSV_ITEM_IDENTIFIER: "identifier"}
    )
    for position, name in enumerate(names):
        if name in order_names:
            order_fields.append((position, order_names[name]))
        elif name in item_names:
            item_fields.append((position, item_names[name]))
        elif name != CSV_ORDER_IDENTIFIER:
            ignored.append(name)
    if len(set(names)) != len(names):
        raise UnreadableInput("the CSV header repeats a column name")
    return _Columns(names.index(CSV_ORDER_IDENTIFIER), order_fields, item_fields, len(names), ignored)


def read_csv_header(path: Path) -> tuple[_Columns, Position]:
    with path.open("rb") as handle:
        lines = _Lines(handle, 0, 0)
        try:
            header = next(csv.reader(lines))
        except StopIteration:
            raise UnreadableInput(f"{path}: the CSV file is empty (it needs a header row)") from None
        except csv.Error as error:
            raise UnreadableInput(f"{path}: the CSV header cannot be read: {error}") from error
        return csv_columns(header), Position(0, lines.offset, lines.line)


def _csv(handle: BinaryIO, source: str, start: Position) -> Iterator[SourceOrder]:
    columns, after_header = read_csv_header(Path(source))
    begin = start if start.offset else after_header
    handle.seek(begin.offset)
    lines = _Lines(handle, begin.offset, begin.line)
    # Cells up to a request's size (a labels column can be long); csv's default is 128 KiB.
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))
    reader = csv.reader(lines)
    ordinal = begin.ordinal
    group: list[_Row] = []
    group_key: str | None = None

    def flush() -> SourceOrder:
        nonlocal ordinal
        ordinal += 1
        return _csv_order(group, columns, source, ordinal, lines.not_utf8)

    while True:
        first_line = lines.line + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise UnreadableInput(f"{source}: line {lines.line}: {error}") from error
        row = _Row(cells, first_line, lines.line, Position(0, lines.offset, lines.line))
        if not any(cell.strip() for cell in cells):
            if group:
                group[-1].end = row.end  # a blank line belongs to the order before it
            continue
        key = cells[columns.order_identifier].strip() if columns.order_identifier < len(cells) else ""
        if group and (key != group_key or not key):
            yield flush()
            group = []
        group.append(row)
        group_key = key
    if group:
        yield flush()


def _csv_order(
    rows: list[_Row], columns: _Columns, source: str, ordinal: int, not_utf8: set[int]
) -> SourceOrder:
    last = rows[-1]
    order = SourceOrder(
        Location(source, line=rows[0].first_line, last_line=last.last_line),
        Position(ordinal, last.end.offset, last.end.line),
    )
    problem = _csv_problem(rows, columns, not_utf8)
    value: dict[str, Any] = {"identifier": rows[0].cells[columns.order_identifier]} if problem is None else {}
    for position, name in columns.order_fields if problem is None else ():
        cell = _cell(rows[0].cells, position)
        if cell:
            value[name] = cell
    items = []
    for row in rows if problem is None else ():
        item: dict[str, Any] = {}
        for position, name in columns.item_fields:
            cell = _cell(row.cells, position)
            if cell and name in CSV_JSON_COLUMNS:
                item[name], problem = _json_column(name, cell, row)
                if problem is not None:
                    break
            elif cell:
                item[name] = cell
        if problem is not None:
            break
        if item:
            items.append(item)
    if problem is not None:
        order.problem = ("invalid_csv", problem)
        buffer = io.StringIO()
        csv.writer(buffer).writerows(row.cells for row in rows)
        order.text = buffer.getvalue()
        return order
    value["items"] = items
    order.body = jsontext.dumps(value)
    return _describe(order, value)


def _cell(cells: list[str], position: int) -> str:
    return cells[position] if position < len(cells) and cells[position].strip() else ""


def _csv_problem(rows: list[_Row], columns: _Columns, not_utf8: set[int]) -> str | None:
    first = rows[0]
    for row in rows:
        problem = None
        if len(row.cells) > columns.width:
            problem = f"{len(row.cells)} cells, the header has {columns.width}"
        elif not_utf8 and any(line in not_utf8 for line in range(row.first_line, row.last_line + 1)):
            problem = "not valid UTF-8"
        elif not _cell(row.cells, columns.order_identifier):
            problem = f"no {CSV_ORDER_IDENTIFIER}"
        else:
            for position, name in columns.order_fields:
                mine = _cell(row.cells, position)
                if mine and mine != _cell(first.cells, position):
                    problem = f"{name} differs from the order's first row (line {first.first_line})"
                    break
        if problem is not None:
            return f"line {row.first_line}: {problem}"
    return None


def _json_column(name: str, cell: str, row: _Row) -> tuple[Any, str | None]:
    try:
        value = jsontext.loads(cell)
    except jsontext.NotJson as error:
        return None, f"line {row.first_line}: the {name} column is {error}"
    if not isinstance(value, list):
        return None, f"line {row.first_line}: the {name} column must be a JSON array"
    return value, None
