"""Running the synthesized functions with ``sam local invoke``: the template, the local AWS they talk
to, the image they run in, and the invocation itself (docs/deployment.md, "Running the functions
with SAM").

What is real: the template ``cdk synth`` wrote and its asset folders (each function's code and the
dependency layer, exactly what ``cdk deploy`` uploads), Python 3.14 on arm64 (under qemu), Lambda's
runtime interface client, and SAM's own emulator of the Lambda service. What stands in for AWS:

- moto's server (DynamoDB, EventBridge, SQS), running in the Python image on a Docker network of
  its own, where the function containers reach it as ``http://aws:5000`` and this process through a
  port published on 127.0.0.1;
- the invoke image: the Lambda image plus ``AWS_ENDPOINT_URL`` (SAM passes a function only the
  variables its template declares, so the endpoint has to come from the image) and a bytecode cache
  of the assets (``PYTHONPYCACHEPREFIX``), compiled once per asset hash, so a cold start does not
  spend half a minute compiling botocore under qemu (on Lambda, SnapStart restores imported modules);
- the template SAM reads is the synthesized one with only each function's ``Timeout`` raised:
  SAM counts the cold start in the timeout, and under qemu a cold start takes longer than the
  authorizer's 5 s. ``sam_template`` checks that nothing else differs.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import boto3

from tests.sam.images import CACHE_DIR, PYTHON_IMAGE, REPOSITORY, _digest

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
CDK_OUT = REPOSITORY_ROOT / "cdk.out"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
ENDPOINT_HOST = "aws"  # moto's name on the test network
ENDPOINT_PORT = 5000
SAM_TIMEOUT_SECONDS = 300
# SAM checks that the container's port accepts a connection before it sends the invoke, but Docker's
# userland proxy accepts one before the emulator inside listens, which under qemu takes a second or
# more: SAM then reports this, and the function never ran. (.ci/run's engine has no userland proxy.)
NOT_REACHED = "No response from invoke container"
INVOKE_ATTEMPTS = 3
# The Lambda layer's folder inside the runtime (/opt) and the function code's (/var/task).
LAYER_ROOT = "/opt"
TASK_ROOT = "/var/task"
PYCACHE_PREFIX = "/var/cache/pycache"
STDLIB = "/usr/lib/python3.14"


def _docker(*args: str, capture: bool = True) -> str:
    done = subprocess.run(["docker", *args], check=True, capture_output=capture, text=True)  # noqa: S607
    return done.stdout.strip() if capture else ""


# -- the template ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynthesizedTemplate:
    path: Path
    template: dict[str, Any]

    @classmethod
    def load(cls, stack_name: str = "ForwardOrders") -> SynthesizedTemplate:
        path = CDK_OUT / f"{stack_name}.template.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: run make synth (make sam does)")
        return cls(path, json.loads(path.read_text()))

    def function_id(self, handler: str) -> str:
        """The logical id of the one function whose handler is ``handler``."""
        [logical_id] = [
            name
            for name, resource in self.template["Resources"].items()
            if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Handler"] == handler
        ]
        return logical_id

    def asset_dir(self, logical_id: str) -> Path:
        """The staged asset folder of a function's code or a layer's content."""
        return self.path.parent / self.template["Resources"][logical_id]["Metadata"]["aws:asset:path"]

    def layer_ids(self, function_id: str) -> list[str]:
        layers = self.template["Resources"][function_id]["Properties"].get("Layers", [])
        return [layer["Ref"] for layer in layers]

    def for_sam(self) -> Path:
        """The template with every function's Timeout raised (and nothing else changed), written
        beside the original so that its relative asset paths still resolve."""
        derived = copy.deepcopy(self.template)
        for resource in derived["Resources"].values():
            if resource["Type"] == "AWS::Lambda::Function":
                resource["Properties"]["Timeout"] = SAM_TIMEOUT_SECONDS
        target = self.path.with_name(self.path.name.replace(".template.json", ".sam.template.json"))
        target.write_text(json.dumps(derived, indent=1))
        return target


# -- moto: the local AWS ------------------------------------------------------------------------------


@dataclass
class LocalAws:
    """moto's server in a container on a Docker network of its own."""

    network: str
    container: str
    endpoint: str  # as this process reaches it

    def client(self, service: str) -> Any:
        return boto3.client(
            cast(Any, service),  # boto3-stubs types each service's client; this one serves several
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[LocalAws]:
        name = f"forward-orders-sam-{os.getpid()}"
        _docker("network", "create", name)
        try:
            _docker(
                "run", "--detach", "--rm", "--name", name, "--network", name,
                "--network-alias", ENDPOINT_HOST, "--publish", f"127.0.0.1::{ENDPOINT_PORT}",
                # All interfaces of the container's own namespace: the test network and the
                # published port, nothing of this machine's.
                PYTHON_IMAGE.tag, "python", "-m", "moto.server", "--host", "0.0.0.0",  # noqa: S104
                "--port", str(ENDPOINT_PORT),
            )  # fmt: skip
            try:
                published = _docker("port", name, str(ENDPOINT_PORT)).splitlines()[0]
                local = cls(name, name, f"http://{published}")
                local._wait_until_up()
                yield local
            finally:
                subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)  # noqa: S607
        finally:
            subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)  # noqa: S607

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):  # noqa: S310
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


# -- the invoke image ---------------------------------------------------------------------------------

# Run in the Python image (x86_64, the same python3.14 build): compile every module of the mounted
# assets into the prefix, under the path it has in the Lambda container. Bytecode does not depend on
# the processor. Each .pyc records its source's hash, not its mtime: a fresh clone stages the same
# assets with new mtimes, and a file that differs is simply compiled when imported.
_COMPILE = """
import importlib.util, os, py_compile, sys
for mounted, inside in (arg.split("=", 1) for arg in sys.argv[1:]):
    for folder, _, files in os.walk(mounted):
        for name in files:
            if name.endswith(".py"):
                source = os.path.join(folder, name)
                path = inside + source[len(mounted):]
                cfile = importlib.util.cache_from_source(path)  # under PYTHONPYCACHEPREFIX
                try:
                    py_compile.compile(source, cfile=cfile, dfile=path, doraise=True,
                                       invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
                except py_compile.PyCompileError:
                    pass  # a file Python would not import either (templates, examples)
"""


def invoke_image(lambda_image: str, template: SynthesizedTemplate, function_ids: list[str]) -> str:
    """The Lambda image plus the local endpoint and the assets' bytecode cache, built once per
    Lambda image and set of asset hashes."""
    code = [template.asset_dir(function_id) for function_id in function_ids]
    layers = sorted({template.asset_dir(layer) for f in function_ids for layer in template.layer_ids(f)})
    key = _digest(
        lambda_image.encode(), PYTHON_IMAGE.tag.encode(), _COMPILE.encode(),
        *(path.name.encode() for path in [*code, *layers]),
    )  # fmt: skip
    tag = f"{REPOSITORY}/lambda-python3.14-invoke:{key}"
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False).returncode == 0:  # noqa: S607
        return tag
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="invoke-", dir=CACHE_DIR) as context:
        root = Path(context)
        (root / "pycache").mkdir()
        mounts, pairs = [], []
        for index, path in enumerate(layers):
            mounts += ["--volume", f"{path / 'python'}:/assets/layer{index}:ro"]
            pairs.append(f"/assets/layer{index}={LAYER_ROOT}/python")
        for index, path in enumerate(code):
            mounts += ["--volume", f"{path}:/assets/code{index}:ro"]
            pairs.append(f"/assets/code{index}={TASK_ROOT}")
        # A cache prefix replaces every __pycache__, the standard library's too: the Python image's
        # copy is the same Debian package (a file that differs is simply compiled when imported).
        pairs.append(f"{STDLIB}={STDLIB}")
        _docker(
            "run", "--rm", *mounts, "--volume", f"{root / 'pycache'}:{PYCACHE_PREFIX}",
            "--env", f"PYTHONPYCACHEPREFIX={PYCACHE_PREFIX}", "--network", "none",
            PYTHON_IMAGE.tag, "python", "-c", _COMPILE, *pairs,
        )  # fmt: skip
        (root / "Dockerfile").write_text(
            f"FROM {lambda_image}\n"
            f"COPY pycache/ {PYCACHE_PREFIX}/\n"
            f"ENV AWS_ENDPOINT_URL=http://{ENDPOINT_HOST}:{ENDPOINT_PORT}"
            f" PYTHONPYCACHEPREFIX={PYCACHE_PREFIX}\n"
            # The runtime interface client exists only in this image: compiled here (seconds).
            f'RUN ["/usr/bin/python3.14", "-m", "compileall", "-q", "/var/runtime"]\n'
        )
        _docker("build", "--quiet", "--platform", "linux/arm64", "-t", tag, str(root))
    # Earlier assets' invoke images are of no further use.
    repository = tag.rpartition(":")[0]
    for older in _docker("image", "ls", repository, "--format", "{{.Repository}}:{{.Tag}}").split():
        if older != tag:
            subprocess.run(["docker", "image", "rm", older], capture_output=True, check=False)  # noqa: S607
    return tag


# -- sam local invoke ---------------------------------------------------------------------------------


@dataclass
class Invocation:
    function_id: str
    payload: Any  # what the function returned (or Lambda's error object)
    logs: str
    seconds: float


@dataclass
class Sam:
    """``sam local invoke`` of the synthesized template's functions, against ``aws``."""

    executable: str
    template: Path
    image: str
    aws: LocalAws
    environment: dict[str, dict[str, str]]  # per function logical id: the variables to override
    timings: list[tuple[str, float]] = field(default_factory=list)

    def process_environment(self) -> dict[str, str]:
        # The fake credentials SAM hands the function; no profile or config of this machine's.
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "SAM_CLI_TELEMETRY": "0",
            **CREDENTIALS,
        }
        # DOCKER_HOST: another engine; SAM_CLI_RIE_DEV=1: the emulator's debug log, to diagnose.
        env.update(
            {name: os.environ[name] for name in ("DOCKER_HOST", "SAM_CLI_RIE_DEV") if name in os.environ}
        )
        return env

    def invoke(self, function_id: str, event: dict[str, Any], label: str = "") -> Invocation:
        for attempt in range(1, INVOKE_ATTEMPTS + 1):
            started = time.monotonic()
            done = self._run(function_id, event)
            seconds = time.monotonic() - started
            self.timings.append(
                (f"{label or function_id}" + (f" (attempt {attempt})" if attempt > 1 else ""), seconds)
            )
            if NOT_REACHED not in done.stderr:
                break
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if done.returncode != 0 or not lines:
            raise AssertionError(
                f"sam local invoke {function_id} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return Invocation(function_id, json.loads(lines[-1]), done.stderr, seconds)

    def _run(self, function_id: str, event: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """One ``sam local invoke``. When SAM says its request never reached the emulator, it still
        waits out the function's timeout before it exits: the process and its container are ended
        at once instead, and the caller tries again."""
        with tempfile.TemporaryDirectory(prefix="sam-invoke-") as scratch:
            event_file = Path(scratch) / "event.json"
            env_file = Path(scratch) / "env.json"
            event_file.write_text(json.dumps(event))
            env_file.write_text(json.dumps(self.environment))
            command = [
                self.executable, "local", "invoke", "--template", str(self.template), function_id,
                "--event", str(event_file), "--env-vars", str(env_file),
                "--invoke-image", self.image, "--skip-pull-image",
                "--docker-network", self.aws.network, "--region", REGION,
            ]  # fmt: skip
            with subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=self.process_environment(),
            ) as process:
                stdout_lines: list[str] = []
                reader = threading.Thread(
                    target=lambda: stdout_lines.extend(process.stdout or []), daemon=True
                )
                reader.start()
                stderr_lines: list[str] = []
                deadline = time.monotonic() + SAM_TIMEOUT_SECONDS + 120
                for line in process.stderr or []:
                    stderr_lines.append(line)
                    if NOT_REACHED in line or time.monotonic() > deadline:
                        process.kill()
                        _remove_containers(stderr_lines)
                        break
                process.wait()
                reader.join(timeout=10)
        return subprocess.CompletedProcess(
            command, process.returncode, "".join(stdout_lines), "".join(stderr_lines)
        )


@contextlib.contextmanager
def start_api(sam: Sam) -> Iterator[str]:
    """``sam local start-api`` on the template's REST API, on a free loopback port; yields its URL.
    Warm containers: each function starts cold once, later requests reuse its container."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="sam-start-api-") as scratch:
        env_file = Path(scratch) / "env.json"
        env_file.write_text(json.dumps(sam.environment))
        log = (Path(scratch) / "start-api.log").open("w+")
        command = [
            sam.executable, "local", "start-api", "--template", str(sam.template),
            "--env-vars", str(env_file), "--invoke-image", sam.image, "--skip-pull-image",
            "--docker-network", sam.aws.network, "--region", REGION, "--warm-containers", "LAZY",
            "--host", "127.0.0.1", "--port", str(port),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=sam.process_environment()
        )
        try:
            deadline = time.monotonic() + 120
            # Readiness from SAM's own line: probing a route would invoke the authorizer.
            while f"Running on http://127.0.0.1:{port}" not in Path(log.name).read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"sam local start-api did not start:\n{Path(log.name).read_text()}")
                time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGINT)  # SAM removes its warm containers on Ctrl-C
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _remove_containers(Path(log.name).read_text().splitlines())
            log.close()


def _remove_containers(sam_output: list[str]) -> None:
    for line in sam_output:
        if line.startswith("SAM_CONTAINER_ID: "):
            container = line.split(": ", 1)[1].strip()
            subprocess.run(["docker", "rm", "--force", container], capture_output=True, check=False)  # noqa: S607


def sam_executable() -> str:
    found = os.environ.get("SAM_CLI") or shutil.which("sam")
    if not found:
        raise FileNotFoundError("the SAM CLI was not found: run make sam, which installs it (SAM_CLI=...)")
    return found
