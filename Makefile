# Two commands for a newcomer: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
STAMP := .scrm-installed

.PHONY: install demo test unit integration e2e lint system-deps clean

$(STAMP): pyproject.toml
	$(PIP) install --quiet --disable-pip-version-check -e '.[dev]'
	scrm models build-encoder
	@touch $(STAMP)

install: $(STAMP)

## Run the whole platform in one process on a simulated stream: API + console on http://127.0.0.1:8000
demo: install
	scrm demo

## Unit, integration (real Kafka + PostgreSQL, started by deploy/local) and end-to-end (headless Chromium) tests
test: install system-deps
	$(PYTHON) -m pytest tests -q

unit: install
	$(PYTHON) -m pytest tests/unit -q

integration: install system-deps
	$(PYTHON) -m pytest tests/integration -q

e2e: install system-deps
	$(PYTHON) -m pytest tests/e2e -q

## Debian packages the tests need (PostgreSQL server, Chromium); installed only when missing
system-deps:
	@deploy/local/system-deps.sh

lint: install
	ruff check src tests
	mypy

clean:
	rm -rf $(STAMP) .scrm .pytest_cache
