# The README's verbs. `make run` and `make test` install what they need themselves.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: install run test lint format typecheck unit e2e browser openapi lock clean chromium

# The console's browser tests (tests/browser) drive Debian's headless Chromium through Playwright,
# never a browser Playwright downloads itself: installed from the distribution's packages when it
# is missing (as root, or with sudo), with fonts that make its screenshots legible.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# node_modules: the CDK CLI and dynalite, the embedded DynamoDB of `make run` (package.json).
install: $(STAMP) $(NPM_STAMP)

# Idempotent: rebuilt only when the lock or the project metadata changes.
$(STAMP): requirements/dev.txt pyproject.toml client/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . -e ./client
	touch $@

chromium: $(CHROMIUM)

$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "$@ is missing and there is no apt-get: install Chromium, then make CHROMIUM=/path/to/chromium"; exit 1; }
	$(SUDO) apt-get update -q
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		chromium fonts-liberation fonts-dejavu-core
	test -x $@

run: install
	$(BIN)/forward-orders serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Rewrites the sources: formatting, then the lint fixes ruff can make itself.
format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# mypy covers the functions, the tooling, the stack, the tests and the benchmark.
typecheck: install
	$(BIN)/mypy

# The fast in-process tests (tests/unit, tests/api): seconds, no server, no synth.
unit: install
	$(BIN)/pytest tests/unit tests/api

# HTTP against `forward-orders serve` processes (tests/local).
e2e: install
	$(BIN)/pytest tests/local

# The returns desk console in headless Chromium against `forward-orders serve` (tests/browser).
browser: install $(CHROMIUM)
	FORWARD_ORDERS_CHROMIUM=$(CHROMIUM) $(BIN)/pytest tests/browser

# Regenerates openapi.json from the code (a test fails while it is stale).
openapi: install
	$(BIN)/forward-orders openapi -o openapi.json

# Everything: lint, types, and every test (unit, api, local, browser, infrastructure, reliability).
# checkov (tests/infrastructure/test_checkov.py) runs from a venv of its own (below).
test: lint typecheck $(CHROMIUM) checkov-install
	CHECKOV=$(CHECKOV_VENV)/bin/checkov FORWARD_ORDERS_CHROMIUM=$(CHROMIUM) $(BIN)/pytest

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

# What a million orders cost (docs/deployment.md, "What it costs"): the feed of bench/feed.py replayed
# on this code and on the baseline, priced; merges the usd_per_million_orders keys into
# bench/results.json and regenerates the docs' cost section from them. `make bench` runs it too.
.PHONY: cost
cost: install
	$(BIN)/python -m bench cost --write-docs $(if $(QUICK),--quick)

# `forward-orders push` against the local server: orders/s by concurrency, and the bottleneck
# (client, serve or moto, by CPU); writes bench/results-push.json.
.PHONY: bench-push
bench-push: install
	$(BIN)/python -m bench push $(if $(QUICK),--quick)

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
# The tests that run under Python 3.14: the in-process ones (no Docker, no node, no subprocess servers).
PY314_TESTS ?= tests/unit tests/api

.PHONY: sam sam-images test-py314 sam-invoke
sam: sam-images test-py314 sam-invoke

sam-images: install
	$(BIN)/python -m tests.sam.images

test-py314: install
	$(BIN)/python -m tests.sam.images pytest -q $(PY314_TESTS)

sam-invoke: install synth $(SAM_VENV)/.installed
	FORWARD_ORDERS_SAM=1 SAM_CLI=$(SAM_VENV)/bin/sam $(BIN)/pytest tests/sam -p no:cacheprovider --timeout=1800 -v
