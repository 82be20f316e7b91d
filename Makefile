# The two quick-start commands: `make dev` runs the service, `make test` runs every check.
# Both set up the virtual environment first, so a fresh clone needs only Python >= 3.11.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)

CHECKOV_VENV  ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-checkov-3.3.30

.PHONY: dev test lint typecheck unit install venv chart

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# checkov conflicts with the project's packages: it gets its own virtual environment,
# pinned because a new version can add findings.
# The project's pip installs into it (`pip --python`), so it needs no pip of its own.
$(CHECKOV_STAMP): $(STAMP)
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(BIN)/python -m pip --python $(CHECKOV_VENV)/bin/python install --quiet \
		--disable-pip-version-check 'checkov==3.3.30'
	touch $(CHECKOV_STAMP)

install: $(STAMP) $(CHECKOV_STAMP)

# The project's environment alone, without checkov: what bench/run needs.
venv: $(STAMP)

dev: $(STAMP)
	$(BIN)/ordergate dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest
	$(BIN)/coverage combine --quiet 2>/dev/null || true
	$(BIN)/coverage report

chart: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/pytest tests/deploy

test: lint typecheck unit
