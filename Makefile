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

.PHONY: run test lint docs check-docs clean venv verify-boundaries

venv: $(STAMP)

$(STAMP): $(addsuffix /pyproject.toml,$(PACKAGES)) requirements-dev.txt constraints.txt
	@test -x $(PY) || { echo "Creating virtual environment in $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "Installing the platform and its tools (first run takes a minute)..."
	@$(PIP) install -c constraints.txt -e 'shared[devstack]' $(addprefix -e ,$(addprefix services/,$(SERVICES))) -e gateway -r requirements-dev.txt
	@touch $(STAMP)

## run: start the broker, every service and the gateway on localhost (Ctrl-C stops all)
run: $(STAMP)
	@$(PY) -m eproc_shared.devstack.launcher --stack stack.toml

## test: lint, import boundaries, then the whole suite against a real broker and real databases
test: $(STAMP) lint
	@$(PY) -m pytest

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

## docs: regenerate the AsyncAPI document from the catalogue and freeze the schema of new event types
docs: $(STAMP)
	@$(PY) -m eproc_shared.events.asyncapi --output docs/asyncapi.json --frozen docs/events
	@$(PY) -m eproc_shared.settings_doc README.md $(SETTINGS_DOC)
	@echo "wrote docs/asyncapi.json and the settings tables of README.md"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
