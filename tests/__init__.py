"""The test suite (README, "How the code is laid out"): unit, api, local, infrastructure, reliability."""

from pathlib import Path

# The repository's root, for the tests that read its files (docs, lock files, the OpenAPI document).
REPO = Path(__file__).resolve().parents[1]
