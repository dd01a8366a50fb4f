"""Only what the Lambda bundle holds is importable in the benchmark's function processes.

This virtualenv also holds the local and test tooling (moto, requests, werkzeug, the CDK, ...); the
deployed function has only the packages of requirements/lambda.txt (its layer) and its own code.
A library that finds an optional dependency here, but would not in Lambda, does different work
at import: the X-Ray SDK's patch_all, for one, patches and imports requests if it is installed.
So the parent lists the top-level modules of every installed distribution that is not in the
layer, and each function process refuses to import them, as Lambda would.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

VARIABLE = "BENCH_NOT_IN_LAYER"
PROJECT = "forward-orders"  # the function's own code (and the dev tooling, not imported by it)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def modules_not_in_layer(lock_file: Path) -> list[str]:
    """Top-level modules installed here whose distributions the Lambda layer does not have."""
    from importlib.metadata import packages_distributions

    layer = {
        _normalise(line.split("==")[0])
        for line in lock_file.read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    layer.add(PROJECT)
    return sorted(
        module
        for module, distributions in packages_distributions().items()
        if not any(_normalise(d) in layer for d in distributions)
    )


class _NotInLayer(MetaPathFinder):
    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] in self.modules:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not in the Lambda layer)")
        return None


def install_from_environment() -> None:
    modules = {name for name in os.environ.get(VARIABLE, "").split(",") if name}
    if modules:
        sys.meta_path.insert(0, _NotInLayer(modules))
