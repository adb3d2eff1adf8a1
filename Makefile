# Two commands on a fresh machine: `make demo` runs the app, `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The tests read MNIST/Fashion-MNIST from here unless VACDEMO_DATA says otherwise.
export VACDEMO_DATA ?= $(abspath ../shared/data)

.PHONY: demo test clean chromium

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test: $(VENV)/.runtime requirements-test.txt requirements-test-nodeps.txt requirements-ray.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-test-nodeps.txt
	touch $@

demo: $(VENV)/.runtime
	$(PY) -m streamlit run app.py

# The browser tests need Debian's Chromium: installed here when missing (root + apt-get), else a one-line hint.
chromium:
	@bash scripts/ensure-chromium.sh

test: $(VENV)/.test chromium
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
