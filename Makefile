# Entry points of the platform. Every target sets up what it needs first.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
SERVICES := tender vendor contract audit notify
# Settings classes whose tables README.md shows (kept current by make docs, checked by a test).
SETTINGS_DOC := eproc_shared.settings:ServiceSettings eproc_shared.settings:BrokerSettings \
	eproc_shared.settings:TelemetrySettings eproc_shared.auth:AuthSettings eproc_gateway.settings:GatewaySettings
PACKAGES := shared $(addprefix services/,$(SERVICES)) gateway
STAMP  := $(VENV)/.installed
# checkov (the Kubernetes policy checker) pins old versions of shared packages, so it lives in its own venv.
TOOLS  := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
CHECKOV_VERSION := 3.3.30

.PHONY: run test lint docs clean venv verify-audit bench

venv: $(STAMP)

$(STAMP): $(addsuffix /pyproject.toml,$(PACKAGES)) requirements-dev.txt constraints.txt
	@test -x $(PY) || { echo "Creating virtual environment in $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the platform and its tools (first run takes a minute)..."
	@$(PIP) install -c constraints.txt -e 'shared[devstack]' $(addprefix -e ,$(addprefix services/,$(SERVICES))) -e gateway -r requirements-dev.txt
	@touch $(STAMP)

## run: start the broker, every service and the gateway on localhost (Ctrl-C stops all)
run: $(STAMP)
	@$(PY) -m eproc_shared.devstack.launcher --stack stack.toml

$(TOOLS_STAMP):
	@test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	@echo "Installing checkov $(CHECKOV_VERSION) for the deployment checks..."
	@$(TOOLS)/bin/python -m pip --disable-pip-version-check -q install checkov==$(CHECKOV_VERSION)
	@touch $(TOOLS_STAMP)

## test: lint, import boundaries, then the whole suite against a real broker and real databases
test: $(STAMP) $(TOOLS_STAMP) lint
	@PATH="$(CURDIR)/$(TOOLS)/bin:$$PATH" $(PY) -m pytest

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

## docs: regenerate the AsyncAPI document from the catalogue and freeze the schema of new event types
docs: $(STAMP)
	@$(PY) -m eproc_shared.events.asyncapi --output docs/asyncapi.json --frozen docs/events
	@$(PY) -m eproc_shared.settings_doc README.md $(SETTINGS_DOC)
	@echo "wrote docs/asyncapi.json and the settings tables of README.md"

## bench: benchmarks with same-run baselines (bench/README.md); JSON and PNG results in bench/results/
bench: $(STAMP)
	@$(PIP) install -c constraints.txt -r bench/requirements.txt
	@$(PY) bench/run_all.py

## verify-audit: recompute the audit log's hash chain (AUDIT_DATABASE_URL, default var/audit.db) and check its signed checkpoints
verify-audit: $(STAMP)
	@$(VENV)/bin/eproc-verify-audit

clean:
	rm -rf $(VENV) $(TOOLS) var .pytest_cache .ruff_cache
