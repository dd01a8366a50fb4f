"""Reading JSON Lines, JSON and CSV: every order once, with its location, resumable at each position."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forward_orders_client.sources import Position, SourceOrder, UnreadableInput, detect_format, read_orders

LIMIT = 262_144


def read(path: Path, fmt: str, start: Position | None = None, limit: int = LIMIT) -> list[SourceOrder]:
    return list(read_orders(path, fmt, start or Position(), max_line_bytes=limit))


def bodies(orders: list[SourceOrder]) -> list[object]:
    return [json.loads(order.body) if order.body is not None else None for order in orders]


# -- JSON Lines -----------------------------------------------------------------------------------


def test_jsonl_lines_are_sent_as_written_and_located_by_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"identifier": 12345678901234567890, "items": [{"quantity": 1.50}]}\n'
        b"\n"
        b'  {"identifier": " A-1 ", "items": []}  \r\n'
        b"{not json\n"
        b'{"identifier": "B", "items": [], "n": NaN}\n'
        b'{"identifier": "\xff"}\n'
        b'{"identifier": "last", "items": [{"labels": [1, 2, 3]}, {}]}'
    )
    orders = read(path, "jsonl")
    assert [order.location.line for order in orders] == [1, 3, 4, 5, 6, 7]
    assert orders[0].body == b'{"identifier": 12345678901234567890, "items": [{"quantity": 1.50}]}'
    assert [order.identifier for order in orders] == ["12345678901234567890", "A-1", None, None, None, "last"]
    assert [order.problem[0] if order.problem else None for order in orders] == [
        None,
        None,
        "invalid_json",
        "invalid_json",
        "invalid_json",
        None,
    ]
    assert orders[3].text == '{"identifier": "B", "items": [], "n": NaN}'
    assert (orders[5].items, orders[5].most_labels) == (2, 3)
    assert orders[-1].position == Position(6, path.stat().st_size, 7)


def test_a_line_longer_than_a_request_is_rejected_without_being_held(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    huge = json.dumps({"identifier": "big", "items": [], "pad": "x" * 5000})
    path.write_text(f'{{"identifier": "a", "items": []}}\n{huge}\n{{"identifier": "b", "items": []}}\n')
    orders = read(path, "jsonl", limit=1000)
    assert [order.problem[0] if order.problem else None for order in orders] == [None, "too_large", None]
    assert orders[2].identifier == "b"
    assert orders[2].location.line == 3


def test_a_rejects_file_line_is_read_as_the_order_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl.rejects.jsonl"
    record = {
        "source": "orders.jsonl",
        "line": 7,
        "identifier": "A",
        "errors": [],
        "order": {"identifier": "A", "items": [{"upc": 12345678901234567890}]},
    }
    unreadable = {
        "source": "orders.jsonl",
        "line": 8,
        "identifier": None,
        "errors": [],
        "order": None,
        "text": "{x",
    }
    path.write_text(json.dumps(record) + "\n" + json.dumps(unreadable) + "\n")
    orders = read(path, "jsonl")
    assert orders[0].body == b'{"identifier":"A","items":[{"upc":12345678901234567890}]}'
    assert orders[0].extra["pushed_from"] == {"source": "orders.jsonl", "line": 7}
    assert orders[1].problem is not None


# -- JSON -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [lambda orders: {"before": 1, "orders": orders}, lambda orders: orders])
def test_json_files_are_streamed_from_an_array_or_an_orders_member(tmp_path: Path, wrap: Any) -> None:
    orders = [{"identifier": i, "postal_code": "02134", "items": [{"q": 1.50}]} for i in range(5)]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(wrap(orders), indent=2).replace("1.5", "1.50"))
    found = read(path, "json")
    assert [order.location.index for order in found] == [0, 1, 2, 3, 4]
    assert found[0].body == b'{"identifier":0,"postal_code":"02134","items":[{"q":1.50}]}'
    assert [order.identifier for order in read(path, "json", Position(3))] == ["3", "4"]


def test_a_json_file_broken_half_way_yields_what_came_before_then_stops(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text('[{"identifier": "a", "items": []}, {"identifier": "b", "items": [}]')
    orders = read_orders(path, "json", Position(), max_line_bytes=LIMIT)
    assert next(orders).identifier == "a"
    with pytest.raises(UnreadableInput):
        next(orders)


def test_a_json_file_that_is_not_orders_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    path.write_text('"orders"')
    with pytest.raises(UnreadableInput):
        read(path, "json")


def test_the_format_comes_from_the_extension_or_the_option(tmp_path: Path) -> None:
    assert detect_format(Path("a.NDJSON"), None) == "jsonl"
    assert detect_format(Path("a.txt"), "csv") == "csv"
    with pytest.raises(UnreadableInput):
        detect_format(Path("a.txt"), None)


# -- CSV ------------------------------------------------------------------------------------------

HEADER = (
    "order_identifier,concept,postal_code,created_at,order_updated_at,item_identifier,upc,sku,quantity,"
    "tracking_number,labels,item_updated_at,notes\n"
)


def test_csv_rows_become_orders_with_every_value_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + 'A-1,Acme,02134,2024-03-01,,1,012345678905,SKU-1,02,1Z9,"[{""type"":""barcode"",""name"":""RMA"",'
        '""value"":998877665544}]",2024-03-02T00:00:00Z,ignored\n'
        + "A-1,Acme,02134,2024-03-01,,2,000123,SKU-2,1,,,,\n"
        + "B-2,,,,2024-01-01T00:00:00Z,,,,,,,,\n"
        + 'C-3,"Multi\nline",10001,,,1,1,S,1,,,,\n'
    )
    orders = read(path, "csv")
    assert bodies(orders) == [
        {
            "identifier": "A-1",
            "concept": "Acme",
            "postal_code": "02134",
            "created_at": "2024-03-01",
            "items": [
                {
                    "identifier": "1",
                    "upc": "012345678905",
                    "sku": "SKU-1",
                    "quantity": "02",
                    "tracking_number": "1Z9",
                    "labels": [{"type": "barcode", "name": "RMA", "value": 998877665544}],
                    "updated_at": "2024-03-02T00:00:00Z",
                },
                {"identifier": "2", "upc": "000123", "sku": "SKU-2", "quantity": "1"},
            ],
        },
        {"identifier": "B-2", "updated_at": "2024-01-01T00:00:00Z", "items": []},
        {
            "identifier": "C-3",
            "concept": "Multi\nline",
            "postal_code": "10001",
            "items": [{"identifier": "1", "upc": "1", "sku": "S", "quantity": "1"}],
        },
    ]
    assert b'"value":998877665544' in (orders[0].body or b"")
    assert [(o.location.line, o.location.last_line) for o in orders] == [(2, 3), (4, 4), (5, 6)]


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("A,x,,,,1,1,S,1,,,,,extra\n", "cells"),
        (",x,,,,1,1,S,1,,,,\n", "no order_identifier"),
        ("A,x,,,,1,1,S,1,,,,\nA,y,,,,2,1,S,1,,,,\n", "concept differs"),
        ("A,,,,,1,1,S,1,,[not json,,\n", "labels column is not valid JSON"),
        ('A,,,,,1,1,S,1,,"{""a"":1}",,\n', "must be a JSON array"),
    ],
)
def test_a_csv_order_that_cannot_be_mapped_is_rejected_with_its_lines(
    tmp_path: Path, rows: str, problem: str
) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + rows + "Z,,,,,1,1,S,1,,,,\n")
    orders = read(path, "csv")
    assert orders[0].problem is not None and problem in orders[0].problem[1], orders[0].problem
    assert orders[0].text
    assert orders[-1].identifier == "Z" and orders[-1].problem is None


def test_invalid_utf8_in_a_csv_rejects_only_its_order(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(HEADER.encode() + b"A,\xff,,,,1,1,S,1,,,,\nB,,,,,1,1,S,1,,,,\n")
    orders = read(path, "csv")
    assert orders[0].problem is not None and "UTF-8" in orders[0].problem[1]
    assert orders[1].problem is None


def test_a_csv_without_the_order_identifier_column_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("identifier,sku\n1,2\n")
    with pytest.raises(UnreadableInput):
        read(path, "csv")


# -- resuming at any position gives exactly the rest ----------------------------------------------

rows = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.text('xyz\n",', max_size=6), st.booleans()),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows)
def test_restarting_from_any_orders_position_reads_exactly_the_orders_after_it(
    tmp_path: Path, data: Any
) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["order_identifier", "sku", "item_identifier"])
    lines = []
    for key, sku, blank in data:
        writer.writerow([key, sku, "1"])
        lines.append(json.dumps({"identifier": key, "sku": sku}))
        if blank:
            buffer.write("\n")
            lines.append("")
    (tmp_path / "o.csv").write_text(buffer.getvalue())
    (tmp_path / "o.jsonl").write_text("\n".join(lines))
    for name, fmt in (("o.csv", "csv"), ("o.jsonl", "jsonl"), ("o.json", "json")):
        if fmt == "json":
            (tmp_path / name).write_text(json.dumps([json.loads(line) for line in lines if line]))
        everything = read(tmp_path / name, fmt)
        for cut, order in enumerate(everything):
            rest = read(tmp_path / name, fmt, order.position)
            assert [(o.body, o.location) for o in rest] == [
                (o.body, o.location) for o in everything[cut + 1 :]
            ]
