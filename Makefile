# Two commands on a fresh machine: `make demo` runs the app, `make test` runs the tests.
# For everyday work, `make check`: the import contracts and the fast tier of the tests (a few minutes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The tests read MNIST/Fashion-MNIST from here unless VACDEMO_DATA says otherwise.
export VACDEMO_DATA ?= $(abspath ../shared/data)

.PHONY: demo serve check test clean chromium nginx cxx
REPLICAS ?= 2
PORT ?= 8500
HOST ?= 127.0.0.1

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

# A classroom on a bigger machine: REPLICAS Streamlit servers behind nginx on HOST:PORT, sticky sessions
serve: $(VENV)/.runtime nginx
	$(PY) -m vacdemo serve --replicas $(REPLICAS) --port $(PORT) --host $(HOST)

nginx:
	@bash scripts/ensure-nginx.sh

# The browser tests need Debian's Chromium: installed here when missing (root + apt-get), else a one-line hint.
chromium:
	@bash scripts/ensure-chromium.sh

cxx:
	@bash scripts/ensure-cxx.sh

# The fast tier: the layer contracts (.importlinter), then the tests not marked slow (pytest.ini). No browser,
# nginx or compiler needed: the tests that use them are all slow.
check: $(VENV)/.test
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -m "not slow"

# Everything, both tiers (what CI runs: .ci/run): the layer contracts, then the whole suite.
test: $(VENV)/.test chromium nginx cxx
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache
