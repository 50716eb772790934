# GRACE Inspector. `make run` sets up and starts the application; `make test` sets up and runs the
# whole test suite. Both create .venv on first use (torch/torchvision pinned by constraints.txt).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test lint bench screenshots clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: setup
	$(VENV)/bin/grace-gui

test: setup
	QT_QPA_PLATFORM=offscreen YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false $(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check core grace_gui tests

bench: setup
	$(VENV)/bin/grace bench --json

screenshots: setup
	$(PY) -m grace_gui.screenshots screenshots

clean:
	rm -rf $(VENV) .pytest_cache
