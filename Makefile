# wholesystem: `make run` serves the demo, `make test` runs the whole suite.
# Both start with `make install`, which is idempotent and does nothing when up to date.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STATIC := src/wholesystem/web/static/nhsuk
SWAGGER := src/wholesystem/web/static/swagger
NHSUK_DIST := node_modules/nhsuk-frontend/dist/nhsuk
PEOPLE ?= 20000
SEED ?= 42

.PHONY: install run test lint typecheck clean

install: $(VENV)/.installed $(STATIC)/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STATIC)/.installed: node_modules/.installed src/wholesystem/web/stylesheet.py | $(VENV)/.installed
	rm -rf $(STATIC)
	mkdir -p $(STATIC)
	cp $(NHSUK_DIST)/nhsuk-frontend.min.css $(NHSUK_DIST)/nhsuk-frontend.min.js $(STATIC)/
	$(BIN)/python -m wholesystem.web.stylesheet $(STATIC)/nhsuk-frontend.min.css /static/nhsuk/assets
	cp -r $(NHSUK_DIST)/assets $(STATIC)/assets
	rm -rf $(SWAGGER)
	mkdir -p $(SWAGGER)
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css $(SWAGGER)/
	touch $@

run: install
	WHOLESYSTEM_MODE=demo WHOLESYSTEM_WORKERS=$${WHOLESYSTEM_WORKERS:-2} $(BIN)/wholesystem demo --people $(PEOPLE) --seed $(SEED)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# One test process per core; a file's tests stay on one process so its fixtures are built once.
TEST_WORKERS ?= 2

test: install lint typecheck
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) node_modules $(STATIC) $(SWAGGER) .pytest_cache .mypy_cache .ruff_cache
