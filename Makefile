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
$(STAMP): requirements/dev.txt pyproject.toml client/pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements/dev.txt
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e . -e ./client
	touch $@

run: install
	$(BIN)/forward-orders serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

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

# `forward-orders push` against the local server: orders/s by concurrency, and the bottleneck
# (client, serve or moto, by CPU); writes bench/results-push.json.
.PHONY: bench-push
bench-push: install
	$(BIN)/python -m bench push $(if $(QUICK),--quick)

# Re-resolve the pinned versions after editing pyproject.toml.
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements/dev.txt --no-header
	$(BIN)/uv pip compile pyproject.toml --python-version 3.14 --python-platform aarch64-manylinux2014 \
		-o requirements/lambda.txt --no-header

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
