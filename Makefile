# Development tasks for wagtail-plugin-system.
#
# Every target works from a fresh clone: it creates the virtualenv $(VENV) with
# $(PYTHON) and installs the package with its "dev" extra the first time, and again
# whenever pyproject.toml changes.
#
#   make test-fast        the quick local loop: the SQLite suite without the slow, browser
#                         and wheel tests, on two workers, with a test database kept
#                         between runs (.cache/; the second run skips the migrations)
#   make typecheck        mypy through its daemon: a re-run checks only what changed
#   make test             the whole test matrix (below), each run in turn
#   make test-sqlite      Python of the machine, Django 5.2, Wagtail 8.0, on SQLite
#   make test-postgresql  ... on PostgreSQL (started by tests/postgres.py)
#   make test-wagtail-lines  Django 5.2 with the other supported Wagtail line, 7.4 (nox),
#                         on SQLite and PostgreSQL
#   make test-py313-sqlite      Python 3.13, Django 6.1, Wagtail 8.0, on SQLite, with the
#                         wheel installed into a new project (inside the Debian 13 root)
#   make test-py313-postgresql  ... on PostgreSQL
#   make test-py313-wagtail74   Python 3.13, Django 6.0, Wagtail 7.4, on SQLite
#   make py313-root       build the Debian 13 root with Python 3.13 (tests/debian_root.sh)
#   make lint             ruff check, ruff format --check, mypy, the import contracts,
#                         the message catalogs
#   make messages         regenerate the message catalogs from the source and compile them
#   make format           ruff format, ruff check --fix
#   make bench            the benchmarks (tests/benchmarks/run.py): a table of timings of
#                         wagtail-plugin-system, django-plugin-system and direct instantiation,
#                         interleaved; with BENCH_ARGS="--scale 0.2" a quicker, rougher run
#   make docs             build the documentation (mkdocs build --strict)
#   make dist             build the sdist and the wheel into dist/
#   make demo             run the sandbox site on http://$(DEMO_ADDRESS)/ (set DEMO_ADDRESS to
#                         change it), from its own virtualenv $(DEMO_VENV) with only the package
#   make clean            delete build output and caches (keeps $(VENV))
#
# The message catalogs need GNU gettext (Debian: apt-get install gettext).
#
# The benchmarks start their own Redis and memcached servers on loopback (Debian: apt-get
# install redis-server memcached); `make bench` installs the missing ones when it runs as
# root with apt-get, and otherwise stops and says what to install. WPS_REDIS_SERVER and
# WPS_MEMCACHED_SERVER name other binaries.
#
# The PostgreSQL runs need the PostgreSQL server programs (Debian: apt-get install
# postgresql). Without them they are skipped with a message, except when CI=true, where
# they fail. Set WPS_EXTERNAL_POSTGRES=1 and the PG* variables to use a running server.
#
# Django 6 needs Python 3.12 or newer. The Python 3.13 runs happen in a Debian 13 root
# that `make py313-root` builds under $(PY313_ROOT) with debootstrap (as root; Debian:
# apt-get install debootstrap) and later runs reuse; its PostgreSQL server runs on this
# machine, reached over 127.0.0.1. Where the root cannot be built or entered, these runs
# are skipped with a message, except when CI=true, where they fail.

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# Written after a successful install; remade when pyproject.toml is newer.
STAMP := $(VENV)/.wps-dev-installed

# Options for every pytest run; add your own with `make test PYTEST_ARGS="-k sync -x"`.
PYTEST_FLAGS ?= -p no:cacheprovider
PYTEST_ARGS ?=
PYTEST := $(BIN)/python -m pytest $(PYTEST_FLAGS) $(PYTEST_ARGS)

# Each test run spreads its test files over TEST_WORKERS processes (pytest-xdist); a
# file runs whole, in order, in one of them, as in a run of one process (some tests
# count the queries of a request after the same file's earlier tests have warmed
# Django's caches). Many tests wait on a subprocess or a server, so two workers
# shorten a run even on two cores. TEST_WORKERS=0 runs each in one process.
TEST_WORKERS ?= 2
export WPS_TEST_WORKERS := $(TEST_WORKERS)
XDIST := -n $(TEST_WORKERS) --dist loadfile

# The other supported Wagtail lines, tested through nox sessions (noxfile.py). The
# main virtualenv has the newest line.
OTHER_WAGTAIL_LINES ?= 7.4

# The Debian 13 root with Python 3.13, and nox inside it (its virtualenvs stay in the root).
PY313_ROOT ?= .cache/debian13-root
export WPS_DEBIAN_ROOT := $(abspath $(PY313_ROOT))
IN_ROOT := tests/debian_root.sh run -- nox --no-color --envdir /opt/nox
NEWEST_CELL := tests-django6.1-wagtail8.0
WAGTAIL74_CELL := tests-django6.0-wagtail7.4
# The browser tests run in the main run only (the root has no Chromium).
RUN_ONCE := not packaging and not browser

# Shell code that starts each Python 3.13 run: when the root cannot be had, the run is
# skipped (exit 0), or fails under CI=true; otherwise the root is built or found current.
PY313_GUARD = if ! why="$$(tests/debian_root.sh available)"; then \
		if [ "$$CI" = "true" ]; then \
			echo "==> $$why"; echo "==> The Python 3.13 runs are required when CI=true."; exit 1; \
		fi; \
		echo "==> Skipping '$@': $$why"; \
		echo "    Run it as root with debootstrap installed (Debian: apt-get install debootstrap): make $@"; \
		exit 0; \
	fi; \
	tests/debian_root.sh build || exit 1;

DEMO_ADDRESS ?= 127.0.0.1:8000
# The sandbox needs the package and its dependencies only, not the development tools.
DEMO_VENV ?= .venv-demo
DEMO_BIN := $(abspath $(DEMO_VENV))/bin
DEMO_STAMP := $(DEMO_VENV)/.wps-demo-installed

.DEFAULT_GOAL := test
# Test runs share the terminal; keep them one after the other even under -j.
.NOTPARALLEL:
.PHONY: venv demo test test-fast typecheck test-sqlite test-postgresql test-wagtail-lines lint format messages bench docs \
	dist clean py313-root test-py313-sqlite test-py313-postgresql test-py313-wagtail74

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x "$(BIN)/python" || { echo "==> Creating the virtualenv $(VENV)"; $(PYTHON) -m venv "$(VENV)"; }
	@echo "==> Installing wagtail-plugin-system with its dev extra into $(VENV)"
	"$(BIN)/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch "$(STAMP)"

TEST_RUNS := test-sqlite test-postgresql test-wagtail-lines \
	test-py313-sqlite test-py313-postgresql test-py313-wagtail74

# Every run goes ahead even when an earlier one failed; the target fails at the end.
# While the first runs test, the later ones are prepared in the background (one process
# at a time, mostly downloads and unpacking): the nox virtualenvs of the other Wagtail
# lines, the Debian root and the virtualenvs inside it. Its output goes to
# $(PREPARE_LOG) and is shown before test-wagtail-lines, which waits for it; a step that
# fails there is done again, in the foreground, by the run that needs it.
PREPARE_LOG := .cache/prepare-test-runs.log

test: venv
	@mkdir -p .cache; \
	( \
		for line in $(OTHER_WAGTAIL_LINES); do \
			"$(BIN)/nox" --no-color --install-only -s "tests-django5.2-wagtail$$line"; \
		done; \
		if tests/debian_root.sh available >/dev/null 2>&1 && tests/debian_root.sh build; then \
			$(IN_ROOT) --install-only -s $(NEWEST_CELL) $(WAGTAIL74_CELL); \
		fi; \
	) >"$(PREPARE_LOG)" 2>&1 </dev/null & prepare=$$!; \
	failed=""; times=""; \
	for run in $(TEST_RUNS); do \
		if [ "$$run" = test-wagtail-lines ]; then \
			wait $$prepare; \
			echo "==> Prepared in the background (the log of $(PREPARE_LOG)):"; \
			sed 's/^/    /' "$(PREPARE_LOG)"; \
		fi; \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory $$run || failed="$$failed $$run"; \
		times="$$times $$run=$$(( $$(date +%s) - start ))s"; \
	done; \
	echo "==> Durations:$$times"; \
	if [ -n "$$failed" ]; then echo "==> Failed:$$failed"; exit 1; fi; \
	echo "==> All test runs passed."

# The quick loop. The test database is kept in .cache/ (one per worker) and reused:
# migrations that are new since are applied, and the tests' configuration makes
# Wagtail's root page and default site again after each flush. Each test file runs whole,
# in order, on one worker, as in a run of one process (some tests count the queries of a
# request after the same file's earlier tests have warmed Django's caches).
# TEST_FAST_WORKERS=0 runs in one process (pytest-xdist's -n 0).
TEST_FAST_WORKERS ?= $(TEST_WORKERS)
TEST_FAST_DB := $(abspath .cache)/test-fast.sqlite3

test-fast: venv
	@mkdir -p .cache
	WPS_SQLITE_TEST_NAME="$(TEST_FAST_DB)" $(PYTEST) --reuse-db -n $(TEST_FAST_WORKERS) \
		--dist loadfile -m "not slow and not browser and not packaging"

# mypy's daemon keeps what it has checked in memory and re-checks what changed. It is
# given the source directory (a daemon started on packages = ... misses edits); the
# migrations it leaves out are not checked anyway. `make lint` runs the full check, as
# CI does: mypy's incremental cache misreads the django-stubs plugin's managers after an
# edit of a models module (mypy 1.19, django-stubs 5.2), the daemon does not.
typecheck: venv
	@mkdir -p .cache
	"$(BIN)/dmypy" --status-file .cache/dmypy.json run -- src/wagtail_plugin_system

# The sync, selection and block tests again with the package's default settings, as a
# project has them (tests/settings_defaults.py: the sync after migrate on).
DEFAULTS_SUBSET := --ds=tests.settings_defaults tests/sync tests/test_selection.py tests/test_blocks.py

test-sqlite: venv
	@echo "==> Test suite on SQLite"
	$(PYTEST) $(XDIST)
	@echo "==> Sync, selection and block tests on SQLite with the default settings"
	$(PYTEST) $(DEFAULTS_SUBSET)

test-postgresql: venv
	@if "$(BIN)/python" tests/postgres.py available; then \
		echo "==> Test suite on PostgreSQL (the wheel-install and browser tests ran in the SQLite run)"; \
		"$(BIN)/python" tests/postgres.py run -- $(PYTEST) $(XDIST) -m "not packaging and not browser" \
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
		session="tests-django5.2-wagtail$$line"; \
		echo "==> Test suite with Django 5.2 and Wagtail $$line on SQLite"; \
		"$(BIN)/nox" --no-color -s "$$session" || exit 1; \
		if "$(BIN)/python" tests/postgres.py available; then \
			echo "==> Test suite with Django 5.2 and Wagtail $$line on PostgreSQL"; \
			"$(BIN)/python" tests/postgres.py run -- "$(BIN)/nox" --no-color -s "$$session" || exit 1; \
		elif [ "$$CI" = "true" ]; then \
			echo "==> PostgreSQL is required when CI=true, and it cannot be started (see above)."; \
			exit 1; \
		else \
			echo "==> Skipping the test suite with Wagtail $$line on PostgreSQL: the server cannot be started here (see above)."; \
		fi; \
	done

py313-root:
	tests/debian_root.sh build

test-py313-sqlite:
	@$(PY313_GUARD) \
	echo "==> Test suite with Python 3.13, Django 6.1 and Wagtail 8.0 on SQLite (with the wheel tests)"; \
	$(IN_ROOT) -s $(NEWEST_CELL) -- $(XDIST) -m "not browser" $(PYTEST_ARGS)

test-py313-postgresql: venv
	@$(PY313_GUARD) \
	if "$(BIN)/python" tests/postgres.py available; then \
		echo "==> Test suite with Python 3.13, Django 6.1 and Wagtail 8.0 on PostgreSQL"; \
		"$(BIN)/python" tests/postgres.py run -- \
			$(IN_ROOT) -s $(NEWEST_CELL) -- $(XDIST) -m "$(RUN_ONCE)" $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "==> PostgreSQL is required when CI=true, and it cannot be started (see above)."; \
		exit 1; \
	else \
		echo "==> Skipping the Python 3.13 test suite on PostgreSQL: the server cannot be started here (see above)."; \
	fi

test-py313-wagtail74:
	@$(PY313_GUARD) \
	echo "==> Test suite with Python 3.13, Django 6.0 and Wagtail 7.4 on SQLite"; \
	$(IN_ROOT) -s $(WAGTAIL74_CELL) -- $(XDIST) -m "$(RUN_ONCE)" $(PYTEST_ARGS)

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

# Options for the benchmark script, e.g. BENCH_ARGS="--scale 0.2 --markdown".
BENCH_ARGS ?=

bench: venv
	@missing=""; \
	if [ -z "$$WPS_REDIS_SERVER" ] && ! command -v redis-server >/dev/null 2>&1 \
		&& [ ! -x /usr/bin/redis-server ]; then missing="$$missing redis-server"; fi; \
	if [ -z "$$WPS_MEMCACHED_SERVER" ] && ! command -v memcached >/dev/null 2>&1 \
		&& [ ! -x /usr/bin/memcached ]; then missing="$$missing memcached"; fi; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "==> Installing$$missing for the benchmarks (apt-get)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
				|| { echo "==> Could not install$$missing."; exit 1; }; \
		else \
			echo "==> The benchmarks start their own Redis and memcached; not installed:$$missing."; \
			echo "    Install (Debian, as root: apt-get install$$missing) and run make bench again,"; \
			echo "    or set WPS_REDIS_SERVER / WPS_MEMCACHED_SERVER to the binaries."; \
			exit 1; \
		fi; \
	fi
	"$(BIN)/python" tests/benchmarks/run.py $(BENCH_ARGS)

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
	@# Check every instance once, as a schedule would (a demo provider that fails is no error).
	-cd sandbox && "$(DEMO_BIN)/python" manage.py pluginhealth
	@echo
	@echo "==> Sandbox: http://$(DEMO_ADDRESS)/"
	@echo "    Admin:   http://$(DEMO_ADDRESS)/admin/  (user: admin, password: admin)"
	@echo
	cd sandbox && "$(DEMO_BIN)/python" manage.py runserver "$(DEMO_ADDRESS)"

clean:
	rm -rf build dist site .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov test-results .nox
	@echo "(kept: $(VENV), $(DEMO_VENV), and the Debian root in $(PY313_ROOT); delete them by hand to rebuild)"
	find . \( -path ./.git -o -path "./$(VENV)" -o -path "./$(DEMO_VENV)" -o -path "./.cache" \) -prune \
		-o \( -name "*.egg-info" -o -name __pycache__ \) -prune -exec rm -rf {} +
