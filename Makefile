# The two commands: `make run` (the whole gateway on this machine) and `make test`.
# Both create .venv and install the project first; nothing else needs to be on the machine
# but Python 3.11 and the package registries.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# The suite runs in this many processes (pytest-xdist), a test file per process at a time:
# the e2e files each start their own stack on free ports.
TEST_WORKERS ?= 2

.PHONY: run test install chromium lint bench lambda-archive preflight clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[infra,local,dev]'
	touch $(STAMP)

install: $(STAMP)

# Browser tests drive Debian's Chromium (never a browser download of the test tool's own).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

run: install
	$(BIN)/python -m infra.local

# The layout's contracts first (seconds), then the suite.
test: install chromium
	$(BIN)/lint-imports --no-logo
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/python -m mypy infra

# Read-only checks of the AWS account before the first `pulumi up` of a stage (README "Deploy a
# stage"): `make preflight STACK=prod` (STAGE and REGION default to the stack's). Needs AWS
# credentials for the stage's account; exits non-zero when a check FAILs.
STACK ?= dev
preflight: install
	$(BIN)/python -m infra.cloud.preflight --stack $(STACK) $(if $(STAGE),--stage $(STAGE)) $(if $(REGION),--region $(REGION))

# The deterministic Lambda archive the Pulumi program deploys (build/lambda.zip).
lambda-archive: install
	$(BIN)/python -m infra.build_lambda

clean:
	rm -rf $(VENV) .local build dist
