"""Figures the reliability tests measure, printed at the end of the run (``make soak`` shows them)."""

from __future__ import annotations

import os
from typing import Any

# FORWARD_ORDERS_SOAK=1 (make soak): the long runs; otherwise the counts that fit in make test.
SOAK = os.environ.get("FORWARD_ORDERS_SOAK", "") not in ("", "0")

FIGURES: dict[str, dict[str, Any]] = {}


def scale(quick: int, soak: int) -> int:
    return soak if SOAK else quick


def record(test: str, **figures: Any) -> None:
    FIGURES.setdefault(test, {}).update(figures)


def render() -> list[str]:
    lines = []
    for test, figures in FIGURES.items():
        values = ", ".join(f"{name}={_format(value)}" for name, value in figures.items())
        lines.append(f"{test}: {values}")
    return lines


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_format(v)}" for k, v in value.items()) + "}"
    return str(value)
