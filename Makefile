# The one entry point: every target creates and uses .venv, so a fresh machine needs no other step.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.package-lock.json
HOST ?= 127.0.0.1

.PHONY: help install serve mock test contract check lint typecheck fmt bundle typescript client bench clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json clients/typescript/package.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP) ## Create .venv and node_modules (npm ci) and install authspec with its dev tools

serve: $(STAMP) ## Run the real service on http://127.0.0.1:8080 (Swagger UI at /api/v1/docs/)
	$(BIN)/authspec serve --host $(HOST) --port $${PORT:-8080}

mock: $(STAMP) ## Run the stateful mock on http://127.0.0.1:4010
	$(BIN)/authspec mock --host $(HOST) --port $${PORT:-4010}

test: $(STAMP) $(NODE_STAMP) ## Run every test (PostgreSQL ones when AUTHSPEC_TEST_POSTGRES_URL is set)
	$(PY) -m pytest $(PYTEST_ARGS)

contract: $(STAMP) ## Schemathesis contract suite: real app and mock in-process + differential (THOROUGH=1: >= 5000 calls)
	$(BIN)/authspec contract $(if $(THOROUGH),--thorough) $(CONTRACT_ARGS)

check: lint typecheck $(STAMP) ## Lint, type-check and validate the spec with the house rules
	$(BIN)/authspec check

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP) ## mypy --strict
	$(BIN)/mypy

fmt: $(STAMP) ## Format and autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bundle: $(STAMP) ## Write the resolved contract to build/openapi.json
	$(BIN)/authspec bundle --out build/openapi.json

TS_TYPES := clients/typescript/src/generated/api.ts

typescript: $(STAMP) $(NODE_STAMP) ## Regenerate the TypeScript client's types from the bundle (openapi-typescript)
	$(BIN)/authspec bundle --out build/openapi.json
	node_modules/.bin/openapi-typescript build/openapi.json -o $(TS_TYPES)

client: $(NODE_STAMP) ## Build @authspec/client into clients/typescript/dist
	node_modules/.bin/tsc -p clients/typescript/tsconfig.json

bench: $(STAMP) ## Benchmarks: service vs better-auth and the Python limit, mock vs Prism, alternating (build/bench.json)
	$(PY) -m bench

clean: ## Remove build output, caches and the virtualenv
	rm -rf build .pytest_cache .mypy_cache .ruff_cache $(VENV) *.egg-info node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
