# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The demonstration's SMTP catcher (make run): where the product's mail goes.
MAIL_PORT ?= 1025

.PHONY: install run test lint format check migrate lock worker beat clean

install: $(STAMP)

$(STAMP): requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable

run: migrate
	$(PY) manage.py seed_demo --if-empty
	@echo "Serving http://$(HOST):$(PORT)/  (log in with a demo login above; Ctrl-C to stop)"
	@echo "Mail the product sends is caught on 127.0.0.1:$(MAIL_PORT): read it on /demo/mail/ (manager)"
	DEBUG=$${DEBUG:-0} $(PY) manage.py run_demo $(HOST):$(PORT) --mail-port $(MAIL_PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

worker: install
	$(VENV)/bin/celery -A frt_crm worker -l info -Q default,triage,mail,ocr,reports

beat: install
	$(VENV)/bin/celery -A frt_crm beat -l info

# Re-pin every dependency from pyproject.toml (needs the registry).
lock: install
	$(VENV)/bin/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
