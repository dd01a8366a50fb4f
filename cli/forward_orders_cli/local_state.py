"""How ``forward-orders keys`` finds the store of a running ``forward-orders serve``.

``serve`` writes a small JSON state file while it runs: its pid, URL, the DynamoDB endpoint, region
and table names (never a key). ``keys`` without ``--table`` reads it. The file is
``.forward-orders/local.json`` in the directory ``serve`` was started from (``make run``: the
repository root); ``keys`` looks for it in the current directory and then its parents, like git
looks for ``.git``. ``FORWARD_ORDERS_STATE_FILE`` names another path for both (tests use it).

``serve`` removes the file when it stops. A file left by a server that was killed names a pid that
no longer runs; it counts as no server.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE_ENV = "FORWARD_ORDERS_STATE_FILE"
STATE_DIRECTORY = ".forward-orders"
STATE_FILE_NAME = "local.json"
FORMAT_VERSION = 1
# Access key id and secret both `serve` and `keys` use with the embedded DynamoDB: dynalite accepts any,
# and the developer's real credentials never go near it.
EMBEDDED_DYNAMODB_CREDENTIAL = "local"


class NoLocalServer(Exception):
    """No running local server to talk to."""


@dataclass(frozen=True)
class LocalState:
    pid: int
    url: str
    dynamodb_endpoint: str
    embedded_dynamodb: bool
    region: str
    orders_table: str
    api_keys_table: str
    started_at: str
    version: int = FORMAT_VERSION


def state_file_to_write() -> Path:
    configured = os.environ.get(STATE_FILE_ENV)
    return Path(configured) if configured else Path.cwd() / STATE_DIRECTORY / STATE_FILE_NAME


def find_state_file() -> Path | None:
    configured = os.environ.get(STATE_FILE_ENV)
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    for directory in (Path.cwd(), *Path.cwd().parents):
        candidate = directory / STATE_DIRECTORY / STATE_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def write_state(path: Path, state: LocalState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.parent.name == STATE_DIRECTORY:
        # Ignored by git wherever it is created, not only in this repository.
        ignore = path.parent / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2) + "\n")
    temporary.replace(path)  # readers never see a half-written file


def read_state(path: Path) -> LocalState | None:
    """The state in ``path``, or None when it is unreadable or from an incompatible version."""
    try:
        data = json.loads(path.read_text())
        if data.get("version") != FORMAT_VERSION:
            return None
        return LocalState(**data)
    except (OSError, ValueError, TypeError):
        return None


def remove_state(path: Path, pid: int) -> None:
    """Remove the file if it is still this server's (another ``serve`` may have taken it over)."""
    state = read_state(path)
    if state is not None and state.pid == pid:
        path.unlink(missing_ok=True)


def running_server() -> LocalState:
    """The state of the running local server; raises NoLocalServer when there is none."""
    path = find_state_file()
    state = read_state(path) if path is not None else None
    if state is None or not pid_running(state.pid):
        raise NoLocalServer("no local server running: start `make run`, or pass --stack or --table")
    return state


def live_state_at(path: Path) -> LocalState | None:
    """The state in ``path`` if its server still runs."""
    state = read_state(path)
    return state if state is not None and pid_running(state.pid) else None


def pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is someone else's
    return True
