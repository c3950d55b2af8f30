# Callbox: `make run` runs the box, `make test` runs the tests (README.md).
# Both install what they need: Debian packages (apt) and a virtualenv in .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUN  = python3 python3-venv python3-pip
APT_TEST = $(APT_RUN) sip-tester baresip-core chromium systemd postgresql
APT_TEST += kamailio linphone-cli   # the carrier proxy and a softphone; Kamailio is also make bench's C reference
APT_TEST += openssl
APT_TEST += dnsmasq-base
PYTEST_ARGS ?= -rs

.PHONY: run test bench lint apt-run apt-test clean image

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,central]'
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
	$(BIN)/python -m pyflakes firmware tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info test-artifacts

# The SD card image (README.md, "Flashing the image and first boot"): pi-gen's stages 0-2
# (Raspberry Pi OS Lite) plus image/stage-callbox. pi-gen needs root, debootstrap, qemu-user
# and ~20 GB, so it is not run by `make test`; PIGEN_DIR names a checkout of it.
PIGEN_DIR ?=
CALLBOX_READONLY_ROOT ?= 0
image:
	@if [ -z "$(PIGEN_DIR)" ] || [ ! -x "$(PIGEN_DIR)/build.sh" ]; then \
		echo "make image needs pi-gen (https://github.com/RPi-Distro/pi-gen, branch bookworm):"; \
		echo "  git clone --depth 1 -b bookworm https://github.com/RPi-Distro/pi-gen ../pi-gen"; \
		echo "  make image PIGEN_DIR=../pi-gen [CALLBOX_READONLY_ROOT=1]"; \
		echo "It needs root (sudo), debootstrap, qemu-user-static and about 20 GB of disk."; \
		exit 2; \
	fi
	$(MAKE) $(BIN)/.installed
	rm -rf build/image && mkdir -p build/image
	$(BIN)/pip wheel -q --no-deps -w build/image .
	touch "$(PIGEN_DIR)/stage2/SKIP_IMAGES"
	cd "$(PIGEN_DIR)" && $(SUDO) env CALLBOX_REPO="$(CURDIR)" \
		CALLBOX_READONLY_ROOT="$(CALLBOX_READONLY_ROOT)" ./build.sh -c "$(CURDIR)/image/pi-gen.config"
	@echo "image: $(PIGEN_DIR)/deploy/ (flash it with rpi-imager or dd; README.md)"


# Languages (docs/i18n.md): `make pot` extracts the English messages into the template,
# `make po` merges it into every language's .po, `make catalogs` compiles the .mo files
# (never committed; the tests, `make run` and the package build compile them first).
I18N_DIR = firmware/webui/translations
.PHONY: pot po catalogs
pot: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k ngettext:1,2 --no-wrap --sort-output --add-location=file \
		--project=Callbox --copyright-holder=Callbox --msgid-bugs-address=- \
		-o $(I18N_DIR)/messages.pot .
po: pot
	$(BIN)/pybabel update --no-wrap --ignore-obsolete -i $(I18N_DIR)/messages.pot -d $(I18N_DIR)
catalogs: $(BIN)/.installed
	$(BIN)/pybabel compile --statistics -d $(I18N_DIR)
test: catalogs
run: catalogs
