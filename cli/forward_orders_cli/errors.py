"""The one error a command raises to stop with a message instead of a traceback."""

from __future__ import annotations

USAGE = 2  # the exit status argparse uses for a bad command line
FAILURE = 1


class CliError(Exception):
    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
