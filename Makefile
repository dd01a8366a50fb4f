# The README's verbs. `make run` and `make test` install what they need themselves.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install run test lint typecheck unit lock clean

install: $(STAMP)

# Idempotent: rebuilt only when the lock or the project metadata changes.
$(STAMP): requirements/dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

run: install
	$(BIN)/forward-orders serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install checkov-install
	CHECKOV=$(CHECKOV_VENV)/bin/checkov $(BIN)/pytest

test: lint typecheck unit

# The long reliability runs (docs/reliability.md): thousands of requests under injected storage
# faults, bigger concurrency, fuzzing and property runs; their figures are printed at the end.
.PHONY: soak
soak: install
	FORWARD_ORDERS_SOAK=1 $(BIN)/pytest tests/reliability --timeout=3000 -q -p no:cacheprovider

# The benchmark (docs/performance.md): ratios against floors measured in the same run; writes
# bench/results.json. QUICK=1 (or bench-quick) measures everything once, as CI does, in under a minute.
.PHONY: bench bench-quick
bench: install
	$(BIN)/python -m bench $(if $(QUICK),--quick)

bench-quick:
	$(MAKE) bench QUICK=1

# Re-resolve the pinned versions after editing pyproject.toml or requirements/*.in.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements/dev.txt --no-header
	$(BIN)/uv pip compile pyproject.toml --python-version 3.14 --python-platform aarch64-manylinux2014 \
		-o requirements/lambda.txt --no-header
	$(BIN)/uv pip compile requirements/lambda-runtime.in --python-version 3.14 \
		--python-platform aarch64-manylinux2014 -o requirements/lambda-runtime.txt --no-header
	$(BIN)/uv pip compile requirements/sam.in --python-version 3.11 -o requirements/sam.txt --no-header
	$(BIN)/uv pip compile requirements/checkov.in --python-version 3.11 -o requirements/checkov.txt --no-header

# -- tools with their own venvs -----------------------------------------------------------------
# The SAM CLI and checkov pin packages the dev lock cannot share (boto3, pydantic, packaging), so
# each gets a venv of its own from its lock, kept outside the clone and named after the lock's hash:
# another clone on this machine, or the next CI run, reuses it.
TOOLS_DIR := $(HOME)/.cache/forward-orders/tools
lock_hash = $(shell sha256sum $(1) | cut -c1-16)
SAM_VENV := $(TOOLS_DIR)/sam-$(call lock_hash,requirements/sam.txt)
CHECKOV_VENV := $(TOOLS_DIR)/checkov-$(call lock_hash,requirements/checkov.txt)

# Built in place (a venv cannot be moved); the stamp, written last, marks it complete.
$(TOOLS_DIR)/%/.installed:
	rm -rf $(TOOLS_DIR)/$*
	$(PYTHON) -m venv $(TOOLS_DIR)/$*
	$(BIN)/uv pip sync --quiet --python $(TOOLS_DIR)/$*/bin/python $(LOCK)
	touch $@

$(SAM_VENV)/.installed: LOCK := requirements/sam.txt
$(CHECKOV_VENV)/.installed: LOCK := requirements/checkov.txt
$(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed: | $(STAMP)

.PHONY: checkov-install
checkov-install: $(CHECKOV_VENV)/.installed

# -- AWS (docs/deployment.md) -------------------------------------------------------------------
# The CDK CLI is pinned in package.json; the app it runs is Python (the "app" command in cdk.json,
# which also silences jsii's banner about Node 20). No notices fetch and no CLI telemetry: synth
# works offline.
CDK := CDK_DISABLE_CLI_TELEMETRY=true npx cdk --no-notices
# Extra CLI arguments, e.g. CDK_ARGS="-c stageName=v2 --profile prod".
CDK_ARGS ?=

.PHONY: synth deploy destroy

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Offline, without AWS credentials or Docker: the template is left in cdk.out/.
synth: install $(NPM_STAMP)
	$(CDK) synth --quiet $(CDK_ARGS)
	@ls cdk.out/*.template.json

# Needs AWS credentials for the target account and region, bootstrapped once (cdk bootstrap).
deploy: install $(NPM_STAMP)
	$(CDK) deploy $(CDK_ARGS)

# Deletes the stack but not the two tables (RETAIN and deletion protection): see docs/deployment.md.
destroy: install $(NPM_STAMP)
	$(CDK) destroy $(CDK_ARGS)
	@echo "The orders and API keys tables were retained, with their data. To delete them for good,"
	@echo "see 'Tearing down' in docs/deployment.md (disable deletion protection, then delete)."

clean:
	rm -rf $(VENV) node_modules cdk.out build .mypy_cache .pytest_cache .ruff_cache

# -- SAM and Python 3.14 (docs/deployment.md, "Running the functions with SAM"; needs Docker) --------
# `make sam` builds the local images once (cached by what they are built from), runs the fast tests
# under Python 3.14 on x86_64, then the synthesized functions with `sam local invoke` on arm64.
# The tests that run under Python 3.14: everything in-process (no Docker, no node, no subprocess
# servers). The lead's tests/unit + tests/api layout will make this two folders.
PY314_TESTS ?= tests --ignore=tests/infrastructure --ignore=tests/reliability --ignore=tests/sam \
	--ignore=tests/test_end_to_end.py --ignore=tests/test_tracking_end_to_end.py

.PHONY: sam sam-images test-py314 sam-invoke
sam: sam-images test-py314 sam-invoke

sam-images: install
	$(BIN)/python -m tests.sam.images

test-py314: install
	$(BIN)/python -m tests.sam.images pytest -q $(PY314_TESTS)

sam-invoke: install synth $(SAM_VENV)/.installed
	FORWARD_ORDERS_SAM=1 SAM_CLI=$(SAM_VENV)/bin/sam $(BIN)/pytest tests/sam -p no:cacheprovider --timeout=1800 -v
