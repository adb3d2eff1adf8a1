# Two commands on a fresh machine: `make demo` runs the app, `make test` runs the tests.
# For everyday work, `make check`: the import contracts and the fast tier of the tests (a few minutes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The tests read MNIST/Fashion-MNIST from here unless VACDEMO_DATA says otherwise.
export VACDEMO_DATA ?= $(abspath ../shared/data)

.PHONY: demo serve check test clean chromium nginx cxx postgres
REPLICAS ?= 2
PORT ?= 8500
# make serve listens on the network, where a class's phones reach it; HOST=127.0.0.1 for a private run
HOST ?= 0.0.0.0

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt requirements-test-nodeps.txt requirements-ray.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-test-nodeps.txt
	touch $@

# serve.py loads the models and runs one attack before the first visitor (a plain `streamlit run app.py` works too)
demo: $(VENV)/.runtime
	$(PY) -m streamlit run serve.py

# A classroom: REPLICAS Streamlit servers behind nginx on HOST:PORT, sticky sessions. The class wall's store is
# SQLite under runs/classroom; for replicas on several machines point them at one PostgreSQL:
#   VACDEMO_DATABASE_URL=postgresql+psycopg://user:password@host/db make serve
# PUBLIC_URL=http://… sets the address the projector's join link and QR code show (else the LAN addresses).
serve: $(VENV)/.runtime nginx
	$(PY) -m vacdemo serve --replicas $(REPLICAS) --port $(PORT) --host $(HOST) $(if $(PUBLIC_URL),--public-url $(PUBLIC_URL))

nginx:
	@bash scripts/ensure-nginx.sh

# The browser tests need Debian's Chromium: installed here when missing (root + apt-get), else a one-line hint.
chromium:
	@bash scripts/ensure-chromium.sh

cxx:
	@bash scripts/ensure-cxx.sh

# The class wall's tests run a real PostgreSQL server: Debian's postgresql, installed here when missing.
postgres:
	@bash scripts/ensure-postgres.sh

# The fast tier: the layer contracts (.importlinter), then the tests not marked slow (pytest.ini). No browser,
# nginx or compiler needed: the tests that use them are all slow.
check: $(VENV)/.test
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -m "not slow"

# Everything, both tiers (what CI runs: .ci/run): the layer contracts, then the whole suite.
test: $(VENV)/.test chromium nginx cxx postgres
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache
