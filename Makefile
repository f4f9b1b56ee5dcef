# Perks: the everyday commands. `make help` lists them.
#
# One virtual environment (.venv) holds the runtime and the development dependencies; it is
# (re)installed only when requirements.txt or requirements-dev.txt change.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# The test steps run in order (lint, SQLite, PostgreSQL, browser), even under `make -j`.
.NOTPARALLEL:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app wsgi
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# The tests run on this many pytest-xdist workers: one per core by default, at most six (each
# worker has its own database, Redis database (9 to 14), live server and Chromium).
TEST_WORKERS ?= auto
PARALLEL := -n $(TEST_WORKERS) --maxprocesses 6
TRANSLATIONS := perks/translations
POT := $(TRANSLATIONS)/messages.pot
# The Stripe sandbox (stripe_sandbox/, an application of its own) has its own catalog.
SANDBOX_TRANSLATIONS := stripe_sandbox/translations
SANDBOX_POT := $(SANDBOX_TRANSLATIONS)/messages.pot
SANDBOX_PORT ?= 5002
CHROMIUM := /usr/bin/chromium
# Debian's colour emoji font: the award cups and the like in screenshots, not empty boxes
EMOJI_FONT := /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
# Debian's PgBouncer: the test that runs the app behind it in transaction pooling.
PGBOUNCER := /usr/sbin/pgbouncer
# What the browser tests take from the npm registry (package.json, pinned in package-lock.json):
# axe-core, the accessibility checker injected into every page.
NODE_STAMP := node_modules/.installed
SCREENSHOTS := docs/screenshots

.PHONY: help venv install translations extract-messages update-translations init-translation \
	run test lint lock format test-sqlite test-postgres test-browser chromium pgbouncer node-packages \
	screenshots demo-images bench \
	clean distclean _pytest-postgres

help: ## List the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  make %-20s %s\n", $$1, $$2}'

# --- environment -----------------------------------------------------------------------------

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "error: Perks needs Python 3.11 or newer as '$(PYTHON)' (make PYTHON=...)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The lock files pin every package, transitive ones too, with their hashes: pip refuses
# anything else (`make lock` writes them from requirements*.in).
$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## Create .venv and install the requirements (only when they changed)
install: $(STAMP) ## Same as venv

# Keeps every pin already in the lock files unless UPGRADE=1 (then the newest versions the
# .in files allow). Resolved for the Python running it (3.11, as in CI).
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python ## Pin every dependency with hashes: requirements*.in -> requirements*.txt
	@test -x $(BIN)/pip-compile || $(BIN)/python -m pip install --quiet pip-tools==7.6.2
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) --output-file requirements.txt requirements.in
	CUSTOM_COMPILE_COMMAND="make lock" $(PIP_COMPILE) --output-file requirements-dev.txt \
		requirements-dev.in

# --- translations ----------------------------------------------------------------------------

translations: $(STAMP) ## Compile the message catalogs, the product's and the sandbox's (.po -> .mo)
	@shopt -s nullglob; \
	for dir in $(TRANSLATIONS) $(SANDBOX_TRANSLATIONS); do \
		catalogs=($$dir/*/LC_MESSAGES/messages.po); \
		if [ $${#catalogs[@]} -eq 0 ]; then \
			echo "No message catalogs in $$dir yet; nothing to compile."; continue; \
		fi; \
		$(BIN)/pybabel compile --statistics -d $$dir; \
		for po in "$${catalogs[@]}"; do \
			mo="$${po%.po}.mo"; \
			if [ ! -f "$$mo" ] || [ "$$mo" -ot "$$po" ]; then \
				echo "error: $$po was not compiled (is its header still marked '#, fuzzy'?)" >&2; \
				exit 1; \
			fi; \
		done; \
	done

# --ignore-dirs: Babel skips "_*" folders by default, which would miss templates/_macros.
# The product's strings (babel.cfg: perks/ and templates/) and the sandbox's
# (stripe_sandbox/babel.cfg: its modules and its templates) go to two catalogs.
extract-messages: $(STAMP) ## Extract translatable strings into the product's and the sandbox's messages.pot
	@test -f babel.cfg || { echo "error: babel.cfg is missing" >&2; exit 1; }
	@mkdir -p $(TRANSLATIONS) $(SANDBOX_TRANSLATIONS)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k counted:1,2 -k lazy_pgettext:1c,2 -o $(POT) \
		--ignore-dirs='.* __pycache__' --project=Perks --copyright-holder=Perks .
	$(BIN)/pybabel extract -F stripe_sandbox/babel.cfg -k _l -k lazy_gettext \
		-k lazy_ngettext:1,2 -o $(SANDBOX_POT) --ignore-dirs='.* __pycache__' \
		--project="Stripe sandbox" --copyright-holder=Perks stripe_sandbox

update-translations: extract-messages ## Extract, then merge new strings into every catalog
	$(BIN)/pybabel update -i $(POT) -d $(TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel update -i $(SANDBOX_POT) -d $(SANDBOX_TRANSLATIONS) --no-fuzzy-matching --ignore-obsolete

init-translation: extract-messages ## Start a catalog for a new language: make init-translation LOCALE=xx
	@test -n "$(LOCALE)" || { echo "error: say which language, e.g. LOCALE=fr" >&2; exit 1; }
	$(BIN)/pybabel init -i $(POT) -d $(TRANSLATIONS) -l $(LOCALE)
	$(BIN)/pybabel init -i $(SANDBOX_POT) -d $(SANDBOX_TRANSLATIONS) -l $(LOCALE)

# --- running ---------------------------------------------------------------------------------

# The demo's customers pay in the Stripe sandbox, so it runs (in the background, on its own
# port) while `flask perks demo` seeds; then honcho starts it again with the others.
# `make run PERKS_PORT=5050` when 5000 is taken (macOS gives it to AirPlay); the sandbox's
# port is SANDBOX_PORT. The product's links and the sandbox's webhooks follow them.
PERKS_PORT ?= 5000
run: export PERKS_ENV ?= development
run: export PERKS_PORT := $(PERKS_PORT)
run: export SANDBOX_PORT := $(SANDBOX_PORT)
run: export BASE_URL ?= http://127.0.0.1:$(PERKS_PORT)
run: export STRIPE_API_BASE ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export STRIPE_SANDBOX_WEBHOOK_URL ?= http://127.0.0.1:$(PERKS_PORT)/stripe/webhook
run: $(STAMP) translations ## Migrate, seed the demo company, serve http://127.0.0.1:$PERKS_PORT (5000) with a worker, the scheduler and the Stripe sandbox
	@for port in $(PERKS_PORT) $(SANDBOX_PORT); do \
		$(BIN)/python -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' $$port 2>/dev/null \
		|| { echo "error: port $$port on 127.0.0.1 is taken (macOS uses 5000 for AirPlay): choose others, e.g. make run PERKS_PORT=5050 SANDBOX_PORT=5052" >&2; exit 1; }; \
	done
	$(FLASK) db upgrade
	@mkdir -p instance
	@$(BIN)/flask --app stripe_sandbox run --host 127.0.0.1 --port $(SANDBOX_PORT) \
		>instance/stripe-sandbox-demo.log 2>&1 & sandbox=$$!; \
	status=0; $(FLASK) perks demo || status=$$?; \
	kill $$sandbox; wait $$sandbox 2>/dev/null || true; exit $$status
	@echo "Starting web (http://127.0.0.1:$(PERKS_PORT), set by PERKS_PORT), worker, beat and the" \
		"Stripe sandbox (http://127.0.0.1:$(SANDBOX_PORT), set by SANDBOX_PORT) from the Procfile, run by honcho."
	@echo "Every process logs here, each line prefixed with its name: web, worker, beat, sandbox."
	@echo "Broker: $${CELERY_BROKER_URL:-$${REDIS_URL:-the SQLite file instance/celery-broker.sqlite3 (no Redis needed)}}."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --procfile Procfile

# --- checks ----------------------------------------------------------------------------------

# The steps run in the order listed (.NOTPARALLEL); `make -k test` runs them all and reports
# every failure instead of stopping at the first.
test: $(STAMP) translations chromium pgbouncer node-packages lint test-sqlite test-postgres test-browser ## Lint, then the suite on SQLite and PostgreSQL, then the browser tests
	@echo "All checks passed."

lint: $(STAMP) ## ruff, the import contracts (lint-imports) and mypy (all run; any failing fails)
	@status=0; \
	echo "$(BIN)/ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "$(BIN)/ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "$(BIN)/lint-imports"; $(BIN)/lint-imports || status=1; \
	echo "$(BIN)/mypy"; $(BIN)/mypy || status=1; \
	exit $$status

format: $(STAMP) ## Fix what ruff can fix, and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Runs pytest and turns "no tests collected" (exit 5) into a failure that says so.
define run_pytest
	@echo "== pytest $(1) on $(2)"
	@status=0; $(3) $(PYTEST) $(4) -m "$(1)" || status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests ($(1), $(2))" >&2; fi; \
	exit $$status
endef

test-sqlite: $(STAMP) translations ## The suite (without browser tests) on SQLite
	$(call run_pytest,not browser,SQLite,env -u TEST_DATABASE_URL,$(PARALLEL))

test-postgres: $(STAMP) translations ## The suite (without browser tests) on PostgreSQL, if there is one
	@status=0; url=$$($(BIN)/python tools/postgres_url.py) || status=$$?; \
	if [ $$status -eq 1 ] && [ "$${CI:-}" != true ]; then \
		echo "PostgreSQL is not available: skipping the PostgreSQL run (CI requires it)."; exit 0; \
	elif [ $$status -ne 0 ]; then \
		echo "error: the PostgreSQL run is required (CI=true or TEST_DATABASE_URL set)" \
			"but no server answered; see the message above." >&2; \
		exit 1; \
	fi; \
	echo "== PostgreSQL at $$url"; \
	TEST_DATABASE_URL="$$url" $(MAKE) --no-print-directory _pytest-postgres

_pytest-postgres:
	$(call run_pytest,not browser,PostgreSQL,,$(PARALLEL) --database-tests-only)

test-browser: $(STAMP) translations chromium node-packages ## The browser tests (headless Chromium) on SQLite
	$(call run_pytest,browser,SQLite,env -u TEST_DATABASE_URL,$(PARALLEL))

chromium: ## Install Debian's chromium and its colour emoji font when missing
	@if [ -x $(CHROMIUM) ] && [ -f $(EMOJI_FONT) ]; then exit 0; fi; \
	echo "Installing Debian's chromium and emoji font for the browser tests..."; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get -o DPkg::Lock::Timeout=600 update; \
	$$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=600 install -y chromium fonts-noto-color-emoji; \
	test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) is still missing" >&2; exit 1; }

pgbouncer: ## Install Debian's pgbouncer when it is missing (the PgBouncer test; not started)
	@if [ -x $(PGBOUNCER) ]; then exit 0; fi; \
	echo "Installing Debian's pgbouncer for the PgBouncer test..."; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
	$$sudo apt-get -o DPkg::Lock::Timeout=600 update; \
	$$sudo env DEBIAN_FRONTEND=noninteractive \
		apt-get -o DPkg::Lock::Timeout=600 install -y pgbouncer; \
	test -x $(PGBOUNCER) || { echo "error: $(PGBOUNCER) is still missing" >&2; exit 1; }

# npm ci installs exactly the lock file's packages into node_modules/ (git-ignored), again only
# when package.json or package-lock.json change; Debian's nodejs and npm when npm is missing.
$(NODE_STAMP): package.json package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "Installing Debian's nodejs and npm for the browser tests' packages..."; \
		if [ "$$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi; \
		$$sudo apt-get -o DPkg::Lock::Timeout=600 update; \
		$$sudo env DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=600 install -y nodejs npm; \
	fi
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

node-packages: $(NODE_STAMP) ## Install the browser tests' npm packages (axe-core) when missing or changed

screenshots: $(STAMP) translations chromium node-packages ## Run the browser tests, saving their screenshots in docs/screenshots/
	@mkdir -p $(SCREENSHOTS)
	PERKS_SCREENSHOTS_DIR=$(SCREENSHOTS) env -u TEST_DATABASE_URL \
		$(PYTEST) $(PARALLEL) -m browser tests/browser

DEMO_IMAGES := perks/demo_images

# The demo's pictures are drawn as SVG (the sources) and stored as PNG (what perks.images
# accepts), rendered here once by Chromium and committed: the demo never draws at run time.
demo-images: chromium ## Render the demo's SVG illustrations to the PNGs the demo stores
	@for svg in $(DEMO_IMAGES)/*.svg; do \
		$(CHROMIUM) --headless --disable-gpu --no-sandbox --hide-scrollbars \
			--default-background-color=ffffffff --window-size=800,450 \
			--screenshot="$${svg%.svg}.png" "file://$$PWD/$$svg" 2>/dev/null \
			|| { echo "error: could not render $$svg" >&2; exit 1; }; \
		echo "$${svg%.svg}.png"; \
	done
	@$(CHROMIUM) --headless --disable-gpu --no-sandbox --hide-scrollbars \
		--default-background-color=00000000 --window-size=256,256 \
		--screenshot="$(DEMO_IMAGES)/brand/logo.png" "file://$$PWD/$(DEMO_IMAGES)/brand/logo.svg" \
		2>/dev/null || { echo "error: could not render the demo's logo" >&2; exit 1; }
	@echo "$(DEMO_IMAGES)/brand/logo.png"

bench: $(STAMP) ## Run every benchmark in bench/ (python -m bench.<name>)
	@shopt -s nullglob; found=; \
	for file in bench/*.py; do \
		name=$$(basename "$$file" .py); \
		case "$$name" in _*) continue;; esac; \
		found=1; echo "== bench.$$name"; $(BIN)/python -m "bench.$$name"; \
	done; \
	if [ -z "$$found" ]; then echo "no benchmarks yet"; fi

# --- housekeeping ----------------------------------------------------------------------------

clean: ## Remove caches, compiled catalogs and test output (keeps .venv and instance/)
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -print0 | xargs -0r rm -rf
	rm -rf .pytest_cache .ruff_cache .hypothesis test-results
	find $(TRANSLATIONS) $(SANDBOX_TRANSLATIONS) -name '*.mo' -delete 2>/dev/null || true

distclean: clean ## clean, and remove .venv too
	rm -rf $(VENV) node_modules
