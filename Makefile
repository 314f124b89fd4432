# facility-agent: the two commands from the README, and a few helpers.
#
#   make demo   create .venv if needed and run the demo facility
#   make test   create .venv if needed, install the test extras, run every test
#
# The virtual environment is built on Debian's /usr/bin/python3 (not pyenv under /root):
# when the tests run as root, snmpsim drops to user `nobody`, which must be able to read
# the interpreter. See docs/adr/0004-test-environment.md.

PYTHON      ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || command -v python3)
VENV        ?= .venv
VPY         := $(VENV)/bin/python
PYTEST_ARGS ?=

# Debian packages the tests use as real peers: a broker, an SNMP agent and its tools, a browser.
# PostgreSQL: when none answers on 5432, `make test` runs a private cluster of it
# (tests/support/private_postgres.py), so the PostgreSQL tests run rather than skip.
TEST_DEBS := mosquitto mosquitto-clients snmpd snmp chromium chromium-driver postgresql poppler-utils openssl
# The demo needs none: it falls back to an embedded broker when mosquitto is not on PATH.
VENV_DEBS := python3-venv

.DEFAULT_GOAL := help
.PHONY: help demo test venv deps test-deps system-deps apt-install lint format typecheck imports check clean

help:
	@echo "make demo        run the demo facility (creates $(VENV) on first use)"
	@echo "make test        run every test (installs test extras and Debian test peers if missing)"
	@echo "make lint        ruff check"
	@echo "make format FILES=...  ruff format the given files"
	@echo "make typecheck   mypy (strict on rules/ and collectors/)"
	@echo "make imports     import-linter contract (imports point down only)"
	@echo "make check       lint + typecheck + imports"
	@echo "make clean       remove caches (keeps $(VENV))"

demo: deps
	$(VENV)/bin/facility-agent demo

test: test-deps system-deps
	@$(VPY) -m tests.support.private_postgres $(VPY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure" >&2; fi; \
	exit $$rc

# --- the virtual environment -------------------------------------------------------------

venv: $(VPY)

$(VPY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "facility-agent needs Python 3.11 or newer; $(PYTHON) is $$($(PYTHON) -V 2>&1)." >&2; \
	  echo "Set PYTHON=/path/to/python3.11 or install a newer python3." >&2; exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || $(MAKE) --no-print-directory apt-install PKGS="$(VENV_DEBS)"
	$(PYTHON) -m venv $(VENV)

# Stamps make a second run instant; they are redone when pyproject.toml changes.
deps: $(VENV)/.stamp-runtime
test-deps: $(VENV)/.stamp-test

$(VENV)/.stamp-runtime: pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.stamp-test: pyproject.toml | $(VPY)
	$(VPY) -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.stamp-runtime

# --- Debian packages: installed only when missing, and only as root ------------------------

# SKIP_SYSTEM_DEPS=1: don't check them (not Debian, or not root and you know what is missing).
system-deps:
ifeq ($(SKIP_SYSTEM_DEPS),)
	@$(MAKE) --no-print-directory apt-install PKGS="$(TEST_DEBS)"
endif

apt-install:
	@command -v dpkg-query >/dev/null || { \
	  echo "note: not a Debian system; make sure these are installed: $(PKGS)" >&2; exit 0; }; \
	missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then \
	  echo "installing Debian packages:$$missing"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else \
	  echo "missing Debian packages:$$missing" >&2; \
	  echo "install them with:  sudo apt-get install$$missing" >&2; \
	  echo "(or run with SKIP_SYSTEM_DEPS=1 to go on without them)" >&2; exit 1; \
	fi

# --- code checks ---------------------------------------------------------------------------

lint: test-deps
	$(VENV)/bin/ruff check .

format: test-deps
	$(VENV)/bin/ruff format $(FILES)

typecheck: test-deps
	$(VENV)/bin/mypy rules collectors

imports: test-deps
	$(VENV)/bin/lint-imports

check: lint typecheck imports

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
