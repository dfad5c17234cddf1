# supportsite: `make run` serves the help centre, `make test` runs every test.
# Both create .venv and install the pinned dependencies on first use (Python 3.11+ and pip only).

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
DATA_DIR ?= .data
STAMP := $(VENV)/.installed

export DATA_DIR

.PHONY: install run test lint format lock clean-data

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit("supportsite needs Python 3.11 or newer; this is " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@touch $(STAMP)

install: $(STAMP)

# A random SECRET_KEY is made once in $(DATA_DIR) so local sign-ins survive restarts.
$(DATA_DIR)/secret_key:
	@mkdir -p $(DATA_DIR)
	@$(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@
	@chmod 600 $@

run: install $(DATA_DIR)/secret_key
	SITE_NAME="$${SITE_NAME:-Larkspur Home}" $(PY) manage.py serve --port $(PORT) --demo

test: install
	SECRET_KEY=$${SECRET_KEY:-insecure-test-only-key} $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-resolve the transitive pins after changing requirements*.txt.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt
	rm -rf .lockenv
