# Development tasks for wagtail-plugin-system.
#
# Every target works from a fresh clone: it creates the virtualenv $(VENV) with
# $(PYTHON) and installs the package with its "dev" extra the first time, and again
# whenever pyproject.toml changes.
#
#   make test             the whole suite on SQLite, then on a throwaway PostgreSQL
#   make test-sqlite      ... on SQLite only
#   make test-postgresql  ... on PostgreSQL only (started by tests/postgres.py)
#   make test-wagtail-lines  ... with the other supported Wagtail lines (nox sessions)
#   make lint             ruff check, ruff format --check, mypy, the import contracts,
#                         the message catalogs
#   make messages         regenerate the message catalogs from the source and compile them
#   make format           ruff format, ruff check --fix
#   make bench            the benchmarks (tests/benchmarks/run.py): a table of timings
#   make docs             build the documentation (mkdocs build --strict)
#   make dist             build the sdist and the wheel into dist/
#   make demo             run the sandbox site on http://$(DEMO_ADDRESS)/ (set DEMO_ADDRESS to
#                         change it), from its own virtualenv $(DEMO_VENV) with only the package
#   make clean            delete build output and caches (keeps $(VENV))
#
# The message catalogs need GNU gettext (Debian: apt-get install gettext).
#
# The PostgreSQL run needs the PostgreSQL server programs (Debian: apt-get install
# postgresql). Without them it is skipped with a message, except when CI=true, where
# it fails. Set WPS_EXTERNAL_POSTGRES=1 and the PG* variables to use a running server.

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# Written after a successful install; remade when pyproject.toml is newer.
STAMP := $(VENV)/.wps-dev-installed

# Options for every pytest run; add your own with `make test PYTEST_ARGS="-k sync -x"`.
PYTEST_FLAGS ?= -p no:cacheprovider
PYTEST_ARGS ?=
PYTEST := $(BIN)/python -m pytest $(PYTEST_FLAGS) $(PYTEST_ARGS)

# The other supported Wagtail lines, tested through nox sessions (noxfile.py). The
# main virtualenv has the newest line.
OTHER_WAGTAIL_LINES ?= 7.4

DEMO_ADDRESS ?= 127.0.0.1:8000
# The sandbox needs the package and its dependencies only, not the development tools.
DEMO_VENV ?= .venv-demo
DEMO_BIN := $(abspath $(DEMO_VENV))/bin
DEMO_STAMP := $(DEMO_VENV)/.wps-demo-installed

.DEFAULT_GOAL := test
# Test runs share the terminal; keep them one after the other even under -j.
.NOTPARALLEL:
.PHONY: venv demo test test-sqlite test-postgresql test-wagtail-lines lint format messages bench docs dist clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x "$(BIN)/python" || { echo "==> Creating the virtualenv $(VENV)"; $(PYTHON) -m venv "$(VENV)"; }
	@echo "==> Installing wagtail-plugin-system with its dev extra into $(VENV)"
	"$(BIN)/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch "$(STAMP)"

# Every run goes ahead even when an earlier one failed; the target fails at the end.
test: venv
	@failed=""; \
	for run in test-sqlite test-postgresql test-wagtail-lines; do \
		$(MAKE) --no-print-directory $$run || failed="$$failed $$run"; \
	done; \
	if [ -n "$$failed" ]; then echo "==> Failed:$$failed"; exit 1; fi; \
	echo "==> All test runs passed."

# The sync, selection and block tests again with the package's default settings, as a
# project has them (tests/settings_defaults.py: the sync after migrate on).
DEFAULTS_SUBSET := --ds=tests.settings_defaults tests/sync tests/test_selection.py tests/test_blocks.py

test-sqlite: venv
	@echo "==> Test suite on SQLite"
	$(PYTEST)
	@echo "==> Sync, selection and block tests on SQLite with the default settings"
	$(PYTEST) $(DEFAULTS_SUBSET)

test-postgresql: venv
	@if "$(BIN)/python" tests/postgres.py available; then \
		echo "==> Test suite on PostgreSQL (the wheel-install and browser tests ran in the SQLite run)"; \
		"$(BIN)/python" tests/postgres.py run -- $(PYTEST) -m "not packaging and not browser" \
		&& echo "==> Sync, selection and block tests on PostgreSQL with the default settings" \
		&& "$(BIN)/python" tests/postgres.py run -- $(PYTEST) $(DEFAULTS_SUBSET); \
	elif [ "$$CI" = "true" ]; then \
		echo "==> PostgreSQL is required when CI=true, and it cannot be started (see above)."; \
		exit 1; \
	else \
		echo "==> Skipping the test suite on PostgreSQL: the server cannot be started here (see above)."; \
		echo "    Install the PostgreSQL server (Debian: apt-get install postgresql) to run it."; \
	fi

test-wagtail-lines: venv
	@for line in $(OTHER_WAGTAIL_LINES); do \
		echo "==> Test suite with Wagtail $$line (SQLite, then PostgreSQL)"; \
		"$(BIN)/nox" --no-color -s "tests(wagtail='$$line')" || exit 1; \
	done

# All checks run; the target fails at the end if any of them failed. The catalogs
# fail when one lacks a string of the source, has a fuzzy entry or a stale .mo file.
lint: venv
	@failed=""; \
	echo "==> ruff check"; "$(BIN)/ruff" check . || failed="$$failed ruff-check"; \
	echo "==> ruff format --check"; "$(BIN)/ruff" format --check . || failed="$$failed ruff-format"; \
	echo "==> mypy"; "$(BIN)/mypy" || failed="$$failed mypy"; \
	echo "==> import contracts (lint-imports)"; "$(BIN)/lint-imports" --no-cache || failed="$$failed import-contracts"; \
	echo "==> message catalogs"; "$(BIN)/python" scripts/translations.py check || failed="$$failed messages"; \
	if [ -n "$$failed" ]; then echo "==> Lint failed:$$failed"; exit 1; fi

format: venv
	"$(BIN)/ruff" format .
	"$(BIN)/ruff" check --fix .

messages: venv
	"$(BIN)/python" scripts/translations.py update

bench: venv
	"$(BIN)/python" tests/benchmarks/run.py

docs: venv
	"$(BIN)/mkdocs" build --strict

dist: venv
	rm -rf dist
	"$(BIN)/python" -m build --outdir dist .

$(DEMO_STAMP): pyproject.toml
	@test -x "$(DEMO_BIN)/python" || { echo "==> Creating the virtualenv $(DEMO_VENV)"; $(PYTHON) -m venv "$(DEMO_VENV)"; }
	@echo "==> Installing wagtail-plugin-system (no extras) into $(DEMO_VENV)"
	"$(DEMO_BIN)/python" -m pip install --quiet --disable-pip-version-check -e .
	@touch "$(DEMO_STAMP)"

demo: $(DEMO_STAMP)
	cd sandbox && "$(DEMO_BIN)/python" manage.py migrate --noinput
	cd sandbox && "$(DEMO_BIN)/python" manage.py pluginsync
	cd sandbox && "$(DEMO_BIN)/python" manage.py load_demo_data --base-url "http://$(DEMO_ADDRESS)"
	@echo
	@echo "==> Sandbox: http://$(DEMO_ADDRESS)/"
	@echo "    Admin:   http://$(DEMO_ADDRESS)/admin/  (user: admin, password: admin)"
	@echo
	cd sandbox && "$(DEMO_BIN)/python" manage.py runserver "$(DEMO_ADDRESS)"

clean:
	rm -rf build dist site .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov test-results .nox
	find . \( -path ./.git -o -path "./$(VENV)" -o -path "./$(DEMO_VENV)" \) -prune \
		-o \( -name "*.egg-info" -o -name __pycache__ \) -prune -exec rm -rf {} +
