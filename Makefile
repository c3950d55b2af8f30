# Callbox: `make run` runs the box, `make test` runs the tests (README.md).
# Both install what they need: Debian packages (apt) and a virtualenv in .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUN  = python3 python3-venv python3-pip
APT_TEST = $(APT_RUN) sip-tester baresip-core chromium systemd
PYTEST_ARGS ?= -rs

.PHONY: run test bench lint apt-run apt-test clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

apt-run:
	@./scripts/apt-install $(APT_RUN)

apt-test:
	@./scripts/apt-install $(APT_TEST)

run: apt-run $(BIN)/.installed
	$(BIN)/callbox run

test: apt-test $(BIN)/.installed
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: apt-test $(BIN)/.installed
	$(BIN)/python -m benchmarks

lint: $(BIN)/.installed
	$(BIN)/python -m compileall -q firmware tests

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts
