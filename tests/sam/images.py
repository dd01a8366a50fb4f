"""The local images the SAM tests run in, built from Debian packages and PyPI wheels (docs/deployment.md).

No registry image can be pulled here, so both images start ``FROM scratch``:

- the **Lambda image** (arm64): a Debian root file system with ``python3.14``, Lambda's runtime
  interface client (``awslambdaric``, the locked cp314/aarch64 wheels) in ``/var/runtime`` and a
  bootstrap that starts it. ``sam local invoke --invoke-image`` runs the synthesized functions in it,
  under qemu;
- the **Python image** (x86_64): the same root file system for this machine, with a venv of the
  locked dev dependencies; the fast test suite runs in it natively under Python 3.14, and it serves
  moto (DynamoDB, EventBridge, SQS) to the Lambda containers.

Each is built once and cached by what it is built from: a root file system by its suite,
architecture, packages and options (a tar under ``~/.cache/forward-orders/sam``), an image by its
root file system and recipe files (a tag carrying that hash in Docker's own image store). A second
run, or a fresh clone on the same machine, finds both and builds nothing.

Usage: ``python -m tests.sam.images`` builds what is missing and prints ``NAME=TAG`` lines;
``python -m tests.sam.images pytest ARGS...`` runs pytest under Python 3.14 in the Python image.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
RECIPE_DIR = Path(__file__).resolve().parent / "image"
RUNTIME_LOCK = REPOSITORY_ROOT / "requirements" / "lambda-runtime.txt"
DEV_LOCK = REPOSITORY_ROOT / "requirements" / "dev.txt"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "forward-orders" / "sam"

# Debian testing ("forky" by name, so that a release does not silently move it) has python3.14.
SUITE = "forky"
MIRROR = "http://deb.debian.org/debian"
# libstdc++6: awslambdaric's runtime_client extension links it, as Lambda's own runtime image has it.
PACKAGES = ("python3.14", "ca-certificates", "libstdc++6")
# The x86_64 image runs tests that import the CDK app's constants, and the CDK library runs on node.
EXTRA_PACKAGES = {"amd64": ("nodejs",), "arm64": ()}
MMDEBSTRAP_OPTIONS = (
    # Essential packages plus ours, configured by their own maintainer scripts; no apt in the image.
    "--variant=essential",
    # A mirror that serves a fixed copy of the archive has Release files past their Valid-Until.
    '--aptopt=Acquire::Check-Valid-Until "false"',
    # Documentation, manuals and translations are never read in a container.
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
)
PLATFORMS = {"arm64": "linux/arm64", "amd64": "linux/amd64"}
UV_PLATFORM = "aarch64-manylinux2014"  # as the Lambda layer (infra/packaging.py)
PYTHON_UV_PLATFORM = "x86_64-manylinux_2_28"
REPOSITORY = "forward-orders-sam"


def _digest(*parts: bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(len(part).to_bytes(8, "big"))
        hasher.update(part)
    return hasher.hexdigest()[:16]


def _log(message: str) -> None:
    print(f"[sam images] {message}", file=sys.stderr, flush=True)


def _run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


@dataclass(frozen=True)
class RootFilesystem:
    arch: str

    @property
    def key(self) -> str:
        return _digest(SUITE.encode(), MIRROR.encode(), self.arch.encode(), *map(str.encode, self.packages),
                       *map(str.encode, MMDEBSTRAP_OPTIONS))  # fmt: skip

    @property
    def packages(self) -> tuple[str, ...]:
        return PACKAGES + EXTRA_PACKAGES[self.arch]

    @property
    def tar(self) -> Path:
        return CACHE_DIR / f"rootfs-{SUITE}-{self.arch}-{self.key}.tar"

    def build(self) -> Path:
        if self.tar.is_file():
            return self.tar
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        staging = self.tar.with_suffix(f".{os.getpid()}.partial.tar")
        started = time.monotonic()
        _log(f"mmdebstrap {SUITE} {self.arch} (cold; arm64 runs its maintainer scripts under qemu) ...")
        try:
            _run(
                [
                    "mmdebstrap",
                    "--quiet",
                    f"--architectures={self.arch}",
                    f"--include={','.join(self.packages)}",
                    *MMDEBSTRAP_OPTIONS,
                    SUITE,
                    str(staging),
                    MIRROR,
                ]
            )
            staging.rename(self.tar)
        finally:
            staging.unlink(missing_ok=True)
        for stale in CACHE_DIR.glob(f"rootfs-*-{self.arch}-*.tar"):
            if stale != self.tar:
                stale.unlink(missing_ok=True)  # an older recipe's
        _log(f"root file system {self.arch}: {time.monotonic() - started:.0f} s")
        return self.tar


@dataclass(frozen=True)
class Image:
    name: str
    arch: str
    dockerfile: str
    inputs: tuple[Path, ...]  # files copied into the build context, hashed into the tag

    @property
    def rootfs(self) -> RootFilesystem:
        return RootFilesystem(self.arch)

    @property
    def tag(self) -> str:
        recipe = [(RECIPE_DIR / self.dockerfile).read_bytes(), self.rootfs.key.encode()]
        recipe += [path.name.encode() + b"\0" + path.read_bytes() for path in self.inputs]
        return f"{REPOSITORY}/{self.name}:{self.arch}-{_digest(*recipe)}"

    def exists(self) -> bool:
        found = subprocess.run(["docker", "image", "inspect", self.tag], capture_output=True, check=False)  # noqa: S607
        return found.returncode == 0

    def build(self, context_files: dict[str, Path]) -> str:
        if self.exists():
            return self.tag
        rootfs = self.rootfs.build()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"{self.name}-", dir=CACHE_DIR) as context:
            root = Path(context)
            os.link(rootfs, root / "rootfs.tar")  # same folder: a hard link, not a 200 MB copy
            shutil.copy(RECIPE_DIR / self.dockerfile, root / "Dockerfile")
            for name, source in context_files.items():
                if source.is_dir():
                    shutil.copytree(source, root / name)
                else:
                    shutil.copy2(source, root / name)
            # --network host: the only build step that downloads (the venv's wheels) uses this
            # machine's own network settings, not the bridge.
            _run(
                ["docker", "build", "--quiet", "--network", "host", "--platform", PLATFORMS[self.arch],
                 "--label", f"forward-orders.recipe={self.tag}", "-t", self.tag, str(root)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
        _log(f"image {self.tag}: {time.monotonic() - started:.0f} s")
        self._remove_older_recipes()
        return self.tag

    def _remove_older_recipes(self) -> None:
        repository = self.tag.split(":")[0]
        listed = subprocess.run(
            ["docker", "image", "ls", repository, "--format", "{{.Repository}}:{{.Tag}}"],  # noqa: S607
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        for tag in listed.stdout.split():
            if tag != self.tag and tag.split(":")[1].startswith(f"{self.arch}-"):
                subprocess.run(["docker", "image", "rm", tag], capture_output=True, check=False)  # noqa: S607


LAMBDA_IMAGE = Image(
    "lambda-python3.14", "arm64", "lambda.Dockerfile", (RECIPE_DIR / "bootstrap", RUNTIME_LOCK)
)
PYTHON_IMAGE = Image("python3.14-dev", "amd64", "python.Dockerfile", (DEV_LOCK,))


def _uv() -> Path:
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        raise SystemExit(f"uv not found next to {sys.executable}: run make install")
    return uv


def _wheels(lock: Path, platform: str, target: Path) -> Path:
    """The locked packages' CPython 3.14 wheels for ``platform``, unpacked into ``target`` by this
    machine's uv (its cache and network settings). Wheels only: a locked package without a wheel
    for 3.14 fails here, by name."""
    _run(
        [str(_uv()), "pip", "install", "--quiet", "--no-deps", "--only-binary", ":all:",
         "--python-version", "3.14", "--python-platform", platform,
         "--target", str(target), "-r", str(lock)],
    )  # fmt: skip
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts for the host's Python
    return target


def build_lambda_image() -> str:
    if LAMBDA_IMAGE.exists():
        return LAMBDA_IMAGE.tag
    with tempfile.TemporaryDirectory(prefix="runtime-") as scratch:
        # The runtime interface client as Lambda's arm64 runtime would load it: cp314 aarch64 wheels.
        runtime = _wheels(RUNTIME_LOCK, UV_PLATFORM, Path(scratch) / "runtime")
        return LAMBDA_IMAGE.build({"runtime": runtime, "bootstrap": RECIPE_DIR / "bootstrap"})


def build_python_image() -> str:
    if PYTHON_IMAGE.exists():
        return PYTHON_IMAGE.tag
    with tempfile.TemporaryDirectory(prefix="site-packages-") as scratch:
        site_packages = _wheels(DEV_LOCK, PYTHON_UV_PLATFORM, Path(scratch) / "site-packages")
        return PYTHON_IMAGE.build({"uv": _uv(), "site-packages": site_packages})


def build_all() -> dict[str, str]:
    """Both images, built side by side: the arm64 root file system (qemu, one core) dominates a
    cold build, and the x86_64 one with its venv fits beside it."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        lambda_image = pool.submit(build_lambda_image)
        python_image = pool.submit(build_python_image)
        return {"LAMBDA_IMAGE": lambda_image.result(), "PYTHON_IMAGE": python_image.result()}


def run_pytest(arguments: list[str]) -> int:
    """pytest under Python 3.14 in the Python image, on this checkout mounted read-only, with no
    network (the tests use moto in-process): what is run is this tree, nothing is written into it."""
    tag = build_python_image()
    started = time.monotonic()
    command = [
        "docker", "run", "--rm", "--network", "none",
        "--volume", f"{REPOSITORY_ROOT}:/src:ro", "--workdir", "/src",
        "--env", "PYTHONPATH=/src/functions:/src/cli:/src/client", "--env", "PYTHONDONTWRITEBYTECODE=1",
        "--env", "HYPOTHESIS_STORAGE_DIRECTORY=/tmp/hypothesis",
        tag, "python", "-m", "pytest", "-p", "no:cacheprovider", *arguments,
    ]  # fmt: skip
    returncode = subprocess.run(command, check=False).returncode
    _log(f"pytest under Python 3.14 (x86_64): {time.monotonic() - started:.1f} s")
    return returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the tags as one JSON object")
    parser.add_argument("command", nargs="?", choices=["build", "pytest"], default="build")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="pytest's arguments")
    args = parser.parse_args(argv)
    if args.command == "pytest":
        return run_pytest(args.arguments)
    started = time.monotonic()
    tags = build_all()
    _log(f"images ready in {time.monotonic() - started:.1f} s")
    if args.json:
        print(json.dumps(tags))
    else:
        for name, tag in tags.items():
            print(f"{name}={tag}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
