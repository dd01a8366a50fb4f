"""The Lambda code and its third-party dependencies, built on this machine without Docker.

Function code: each function's asset holds its own package and the shared ``common`` package, copied
from ``functions/`` into a folder under ``build/`` named after a hash of their contents. Nothing else
of the repository can end up in a bundle: not ``cli/`` (local tooling), not the tests.

Dependencies: one Lambda layer, installed from ``requirements/lambda.txt`` (the lock ``make lock``
writes for the Lambda's Python and arm64) with ``--only-binary`` wheels for the Lambda platform, so
compiled packages (pydantic_core, wrapt) are the aarch64 builds for the runtime's CPython, whatever
machine runs the synth. The layer is built once per lock file: its folder is named after a hash of
the lock and of this recipe, and a synth that finds it skips the install.

boto3 and botocore are in the layer, although the Lambda runtime ships its own: the lock pins them,
so the deployed code runs the SDK version the tests ran against (the retry configuration and error
classes in common/dynamodb_client.py and storage.py depend on it), instead of whichever version the runtime
carries that month. The price is about 30 MB of layer, which SnapStart keeps out of cold starts.

No bytecode is compiled here: the synthesizing Python is not the Lambda's, and with SnapStart the
modules are imported (and compiled) once, before the snapshot, not on every cold start.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from aws_cdk import AssetHashType, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPOSITORY_ROOT / "functions"
LAMBDA_LOCK_FILE = REPOSITORY_ROOT / "requirements" / "lambda.txt"
BUILD_DIR = REPOSITORY_ROOT / "build"

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
PYTHON_VERSION = "3.14"  # the runtime's, for wheel selection
PIP_PLATFORM = "manylinux2014_aarch64"  # pip's name of the platform
UV_PLATFORM = "aarch64-manylinux2014"  # uv's name of the same platform
SHARED_PACKAGE = "common"

# Part of the layer's cache key: change it whenever the build steps below change, so that an
# existing build/ folder is not reused for a different recipe.
LAYER_RECIPE = f"v1 {PYTHON_VERSION} {PIP_PLATFORM} only-binary no-deps prune(bin,__pycache__)"

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".DS_Store")


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()[:20]


def _publish(staging: Path, target: Path) -> Path:
    """Move a finished build into place atomically; a concurrent build that won keeps its copy."""
    try:
        staging.rename(target)
    except OSError:
        if not target.is_dir():
            raise
        shutil.rmtree(staging, ignore_errors=True)
    return target


def layer_cache_key(lock_file: Path = LAMBDA_LOCK_FILE) -> str:
    return _digest(LAYER_RECIPE.encode(), lock_file.read_bytes())


def _install_command(lock_file: Path, target: Path) -> list[str]:
    uv = Path(sys.executable).with_name("uv")
    if uv.exists() or shutil.which("uv"):
        return [
            str(uv) if uv.exists() else "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            sys.executable,
            "--no-deps",
            "--only-binary",
            ":all:",
            "--python-version",
            PYTHON_VERSION,
            "--python-platform",
            UV_PLATFORM,
            "--target",
            str(target),
            "-r",
            str(lock_file),
        ]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        PYTHON_VERSION,
        "--platform",
        PIP_PLATFORM,
        "--target",
        str(target),
        "-r",
        str(lock_file),
    ]


def build_dependency_layer(lock_file: Path = LAMBDA_LOCK_FILE, build_dir: Path = BUILD_DIR) -> Path:
    """The folder of the dependency layer (``python/...`` inside), built now unless cached."""
    key = layer_cache_key(lock_file)
    layers = build_dir / "layers"
    target = layers / f"dependencies-{key}"
    if target.is_dir():
        return target
    layers.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".dependencies-{key}-", dir=layers))
    try:
        site_packages = staging / "python"
        # --no-deps: the lock already lists every package, so nothing unlocked can slip in.
        subprocess.run(_install_command(lock_file, site_packages), check=True)  # noqa: S603
        # Console scripts cannot run in a layer, and bytecode of the building Python is useless.
        shutil.rmtree(site_packages / "bin", ignore_errors=True)
        for cache in list(site_packages.rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)
        _readable_by_lambda(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _publish(staging, target)


def _readable_by_lambda(folder: Path) -> None:
    # mkdtemp makes the folder 0700; Lambda runs the code as another user than the one that
    # unpacks it, so the asset's folders must be world-readable and searchable, like a checkout.
    os.chmod(folder, 0o755)  # noqa: S103


def stage_function_code(
    package: str, functions_dir: Path = FUNCTIONS_DIR, build_dir: Path = BUILD_DIR
) -> Path:
    """A folder holding exactly ``package`` and the shared package, named after their contents."""
    packages = (package, SHARED_PACKAGE)
    parts: list[bytes] = []
    for name in packages:
        root = functions_dir / name
        if not (root / "__init__.py").is_file():
            raise FileNotFoundError(f"{root} is not a Python package")
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo"):
                parts += [path.relative_to(functions_dir).as_posix().encode(), path.read_bytes()]
    target = build_dir / "functions" / f"{package}-{_digest(*parts)}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{package}-", dir=target.parent))
    try:
        for name in packages:
            shutil.copytree(functions_dir / name, staging / name, ignore=_IGNORED)
        _readable_by_lambda(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _publish(staging, target)


class LambdaPackaging(Construct):
    """The dependency layer shared by the functions, and each function's code asset."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        layer_dir = build_dependency_layer()
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            description="Third-party packages of the Forward Orders functions, from requirements/lambda.txt",
            # The cache key already names the exact inputs; hashing 40 MB again on every synth
            # would only cost time.
            code=lambda_.Code.from_asset(
                str(layer_dir), asset_hash=layer_cache_key(), asset_hash_type=AssetHashType.CUSTOM
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            # A replaced layer version is no longer used by the live alias; keeping every old one
            # would only fill the account's code storage.
            removal_policy=RemovalPolicy.DESTROY,
        )

    @staticmethod
    def function_code(package: str) -> lambda_.Code:
        return lambda_.Code.from_asset(str(stage_function_code(package)))
