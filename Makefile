# tiaochu: make run | make test | make bench | make browser | make screenshots | make clean (see README.md).
# HOST, PORT and DATABASE_URL come from the environment or the command line.

HOST ?= 127.0.0.1
PORT ?= 8000
DEBUG ?= 1
PYTEST_ARGS ?=

VENV = .venv
PY = $(VENV)/bin/python
# Rebuilt only when pyproject.toml changes (or the venv is removed).
INSTALLED = $(VENV)/.installed

.PHONY: run test bench browser clean install screenshots

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(PY) || { command -v python3.11 >/dev/null && python3.11 -m venv $(VENV); } || python3 -m venv $(VENV)
	$(PY) -m pip install -e '.[test]'
	touch $(INSTALLED)

# One process serves HTTP and WebSocket and sweeps deadlines every SWEEP_INTERVAL
# seconds (uvicorn runs the ASGI lifespan that starts the sweep; see config/lifespan.py).
run: $(INSTALLED)
	$(PY) manage.py migrate
	$(PY) manage.py seed_demo --if-empty
	DEBUG=$(DEBUG) $(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan on

# The layers (lint-imports, contract in pyproject.toml) and ruff first: a climbing import
# or a lint error fails the run before any test. tests/bench is run by `make bench`.
test: $(INSTALLED)
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest --ignore=tests/bench $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(PY) -m tests.bench

# The browser tests (tests/e2e) drive Debian's chromium, never a browser Playwright
# downloads, and need a CJK font for the Chinese pages and their screenshots. The printed
# forms (paper/, WeasyPrint) need the same fonts and Pango's libraries, libpango-1.0-0 and
# libpangoft2-1.0-0. Installed only when missing; sudo only when not root. Without the
# browser `make test` skips those tests (outside CI).
CHROMIUM = /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ] && dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' \
		&& dpkg-query -W -f='$${Status}' libpango-1.0-0 2>/dev/null | grep -q 'ok installed' \
		&& dpkg-query -W -f='$${Status}' libpangoft2-1.0-0 2>/dev/null | grep -q 'ok installed'; then \
		echo "chromium, fonts-noto-cjk, libpango-1.0-0 and libpangoft2-1.0-0 are installed"; \
	else \
		sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk \
			libpango-1.0-0 libpangoft2-1.0-0; \
	fi

# The README's pictures of the pages, made by the browser test that checks every page
# fits the screen (tests/e2e/test_daily_loop.py), then kept in docs/screenshots/.
screenshots: $(INSTALLED) browser
	$(PY) -m pytest -q tests/e2e/test_daily_loop.py -k fits_the_screen
	mkdir -p docs/screenshots
	for f in "$${TIAOCHU_VAR_DIR:-var}"/e2e-screenshots/readme-*.png; do cp "$$f" docs/screenshots/"$$(basename "$$f" | sed 's/^readme-//')"; done

# Test databases only: the demo database and var/secret_key stay.
clean:
	rm -f "$${TIAOCHU_VAR_DIR:-var}"/test*.sqlite3 "$${TIAOCHU_VAR_DIR:-var}"/test*.sqlite3-*
