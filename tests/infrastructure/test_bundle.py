"""What the Lambda bundles hold, read from the staged assets of the synthesized cloud assembly.

Each function's code asset holds its own package and ``common``, nothing else; the dependency layer
holds exactly the locked runtime packages, with compiled ones built for aarch64 and CPython 3.14,
and no test, dev or infrastructure package.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from infra.packaging import LAMBDA_LOCK_FILE, PYTHON_VERSION, build_dependency_layer, layer_cache_key

from tests import REPO
from tests.infrastructure.synthesis import Synthesis

# Test, dev, local-server and infrastructure packages (requirements/dev.txt) that must never ship.
FORBIDDEN = {
    "moto",
    "werkzeug",
    "flask",
    "pytest",
    "_pytest",
    "hypothesis",
    "aws_cdk",
    "cdk_nag",
    "constructs",
    "jsii",
    "cfnlint",
    "mypy",
    "ruff",
    "uv",
    "boto3_stubs",
    "mypy_boto3_dynamodb",
    "docker",
    "forward_orders_cli",
    "tests",
    "cli",
}
FUNCTION_PACKAGES = ("forward_orders", "authorizer", "order_events", "console")
ELF_MACHINE_AARCH64 = 183
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _locked_packages() -> dict[str, str]:
    packages = {}
    for line in LAMBDA_LOCK_FILE.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line.strip())
        if match:
            packages[_canonical(match[1])] = match[2]
    return packages


def _function_code(synthesized: Synthesis, handler_package: str) -> Path:
    for function in synthesized.of_type("AWS::Lambda::Function").values():
        if function["Properties"]["Handler"].startswith(f"{handler_package}."):
            return synthesized.asset_dir(function["Properties"]["Code"]["S3Key"])
    raise AssertionError(f"no function with a handler in {handler_package}")


@pytest.fixture(scope="module")
def layer(synthesized: Synthesis) -> Path:
    _, layer = synthesized.one("AWS::Lambda::LayerVersion")
    return synthesized.asset_dir(layer["Properties"]["Content"]["S3Key"])


def _size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    ("package", "handler_module"),
    [
        ("forward_orders", "forward_orders/handler.py"),
        ("authorizer", "authorizer/handler.py"),
        ("order_events", "order_events/handler.py"),
        ("console", "console/handler.py"),
    ],
)
def test_function_code_is_its_package_and_the_shared_one_only(
    synthesized: Synthesis, package: str, handler_module: str
) -> None:
    code = _function_code(synthesized, package)
    assert sorted(entry.name for entry in code.iterdir()) == sorted([package, "common"])
    assert "def lambda_handler(" in (code / handler_module).read_text()
    assert (code / "common" / "tables.py").is_file()
    files = [path.relative_to(code).as_posix() for path in code.rglob("*") if path.is_file()]
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc") or "test" in name]
    source = REPO / "functions"
    for name in files:
        assert (code / name).read_bytes() == (source / name).read_bytes(), name


def test_layer_holds_exactly_the_locked_packages(layer: Path) -> None:
    site_packages = layer / "python"
    installed = {}
    for dist_info in site_packages.glob("*.dist-info"):
        name, version = dist_info.name.removesuffix(".dist-info").rsplit("-", 1)
        installed[_canonical(name)] = version
    assert installed == _locked_packages()
    # boto3 is bundled on purpose (see infra/packaging.py): the locked version, not the runtime's.
    assert installed["boto3"] == _locked_packages()["boto3"]
    assert (site_packages / "forward_orders").exists() is False


def test_compiled_packages_are_aarch64_builds_for_the_runtime_python(layer: Path) -> None:
    site_packages = layer / "python"
    python_tag = "cp" + PYTHON_VERSION.replace(".", "")
    wheel = (
        site_packages / f"pydantic_core-{_locked_packages()['pydantic_core']}.dist-info" / "WHEEL"
    ).read_text()
    tags = re.findall(r"^Tag: (\S+)$", wheel, re.MULTILINE)
    assert tags and all(tag.startswith(f"{python_tag}-{python_tag}-") and "aarch64" in tag for tag in tags)
    extensions = list(site_packages.rglob("*.so"))
    assert any(path.parent.name == "pydantic_core" for path in extensions)
    for extension in extensions:
        assert f"cpython-{python_tag[2:]}-aarch64-linux-gnu" in extension.name or ".abi3." in extension.name
        header = extension.read_bytes()[:20]
        assert header[:4] == b"\x7fELF"
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE_AARCH64, extension


def test_no_test_dev_or_infrastructure_package_ships(synthesized: Synthesis, layer: Path) -> None:
    shipped = {
        _canonical(entry.name.split("-")[0].removesuffix(".py")) for entry in (layer / "python").iterdir()
    }
    for package in FUNCTION_PACKAGES:
        shipped |= {entry.name for entry in _function_code(synthesized, package).iterdir()}
    assert shipped & FORBIDDEN == set()


def test_bundles_fit_lambdas_size_limit(synthesized: Synthesis, layer: Path) -> None:
    for package in FUNCTION_PACKAGES:
        assert _size(layer) + _size(_function_code(synthesized, package)) < LAMBDA_UNZIPPED_LIMIT_BYTES


def test_layer_build_is_cached_by_the_lock_file(layer: Path) -> None:
    # A second build with the same lock is the same folder, not a new install.
    assert build_dependency_layer().name == f"dependencies-{layer_cache_key()}"
    assert (build_dependency_layer() / "python").is_dir()
