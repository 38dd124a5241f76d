# `make run` opens the app on the bundled demo traces; `make test` runs the tests and lint;
# `make test-slow` the long tests (a fresh install, the packaged app, soaks) that CI runs too.
# Both bootstrap a local .venv with the project and its test extras; nothing else is needed.
# `make screenshots` renders every tab and the Compare Traces window of the demo into docs/screenshots/
# at 1280x720 and 1920x1080, light and dark (offscreen).
# `make package` also installs PyInstaller there, builds dist/spanscope/ and smoke-tests it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGE_STAMP := $(VENV)/.installed-package

.PHONY: run test test-slow lint bench package screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/spanscope

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check src tests benchmarks packaging

test-slow: $(PACKAGE_STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks packaging
	$(BIN)/ruff format --check src tests benchmarks packaging

$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,package]'
	touch $(PACKAGE_STAMP)

package: $(PACKAGE_STAMP)
	$(BIN)/python packaging/build_and_smoke.py

screenshots: $(STAMP)
	$(BIN)/python -m spanscope.ui.screenshot docs/screenshots

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_import.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
