# Two commands on a fresh machine: `make demo` runs the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The tests read MNIST/Fashion-MNIST from here unless VACDEMO_DATA says otherwise.
export VACDEMO_DATA ?= $(abspath ../shared/data)

.PHONY: demo serve test clean chromium nginx cxx
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

test: $(VENV)/.test chromium nginx cxx
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
