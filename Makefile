# The two quick-start commands: `make dev` runs the service, `make test` runs every check.
# Both set up the virtual environment first, so a fresh clone needs only Python >= 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check

# Two stamps per pyproject.toml content: running the service needs the runtime dependencies
# only; the checks add the `dev` and `chart` extras on top. `make dev` after `make test` finds
# both stamps and installs nothing; `make test` after `make dev` installs just the extras.
PROJECT_HASH  := $(shell cksum < pyproject.toml | cut -d' ' -f1)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(PROJECT_HASH)
CHECKS_STAMP  := $(VENV)/.installed-checks-$(PROJECT_HASH)

CHECKOV_VENV  ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-checkov-3.3.30

# The storefront element's tools (codegen, TypeScript, esbuild, playwright-core, axe-core,
# graphql-http): exactly web/package-lock.json, again whenever it changes. `make dev` needs
# none of them: the built element and GraphiQL's assets are committed under service/static/.
WEB_STAMP := web/node_modules/.package-lock.json
# The browser tests drive Debian's Chromium; no browser is ever downloaded.
CHROMIUM  := /usr/bin/chromium
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test fmt lint typecheck unit install venv chart web web-build test-redis

# A changed pyproject.toml changes both stamp names: drop every old stamp so neither half of
# the environment is trusted for the new dependencies.
$(RUNTIME_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e .
	rm -f $(VENV)/.installed-* && touch $(RUNTIME_STAMP)

$(CHECKS_STAMP): $(RUNTIME_STAMP)
	$(PIP) install -e '.[dev,chart,bench]'
	touch $(CHECKS_STAMP)

# checkov conflicts with the project's packages: it gets its own virtual environment,
# pinned because a new version can add findings.
# The project's pip installs into it (`pip --python`), so it needs no pip of its own.
$(CHECKOV_STAMP): $(RUNTIME_STAMP)
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(PIP) --python $(CHECKOV_VENV)/bin/python install 'checkov==3.3.30'
	touch $(CHECKOV_STAMP)

$(WEB_STAMP): web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $(WEB_STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium

web: $(WEB_STAMP) $(CHROMIUM)

# The tests use TEST_REDIS_URL, else a Redis on 127.0.0.1:6379, else a private redis-server
# they start themselves: Debian's is installed only when none of the three is at hand.
test-redis: $(RUNTIME_STAMP)
	@[ -n "$$TEST_REDIS_URL" ] || command -v redis-server >/dev/null \
	  || $(BIN)/python -c "import socket; socket.create_connection(('127.0.0.1', 6379), 0.5)" 2>/dev/null \
	  || { $(SUDO) apt-get update -qq \
	       && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server; }

# Rebuild what the wheel serves from web/ (the element, GraphiQL's assets); commit the result.
web-build: $(WEB_STAMP)
	cd web && npm run --silent build

install: $(CHECKS_STAMP) $(CHECKOV_STAMP) web

# The project's environment with its checks and benchmark tools, without checkov: what
# bench/run needs.
venv: $(CHECKS_STAMP)

dev: $(RUNTIME_STAMP)
	$(BIN)/ordergate dev

# Fix what ruff can, then format; still fail on what needs a human, after formatting.
fmt: $(CHECKS_STAMP)
	$(BIN)/ruff check --fix . ; status=$$?; $(BIN)/ruff format . && exit $$status

lint: $(CHECKS_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(CHECKS_STAMP)
	$(BIN)/mypy

# Every process (pytest and the `ordergate` subprocesses it starts) writes its own data file
# (pyproject.toml: patch = subprocess, parallel); combine them, then report.
unit: $(CHECKS_STAMP) $(CHECKOV_STAMP) web test-redis
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report

chart: $(CHECKS_STAMP) $(CHECKOV_STAMP)
	$(BIN)/pytest tests/deploy

test: lint typecheck unit
