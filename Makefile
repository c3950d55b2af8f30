# Callbox: `make run` runs the box, `make test` runs the tests (README.md).
# Both install what they need: Debian packages (apt) and a virtualenv in .venv.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUN  = python3 python3-venv python3-pip
APT_RUN += libopus0   # call recordings: Opus through ctypes (firmware/recording/opus.py)
APT_TEST = $(APT_RUN) sip-tester baresip-core chromium systemd postgresql
APT_TEST += kamailio linphone-cli   # the carrier proxy and a softphone; Kamailio is also make bench's C reference
APT_TEST += openssl
APT_TEST += dnsmasq-base
APT_RUN  += ffmpeg       # greetings uploaded as WAV/MP3 are converted on the box (docs/voicemail.md)
APT_TEST += espeak-ng    # the default prompts: make prompts
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

# The default prompts (greeting, recording notice, beep, ...) in en, pl, ru, bg, spoken by
# espeak-ng into build/prompts (not committed); the box plays tones where they are missing.
.PHONY: prompts
prompts: apt-test $(BIN)/.installed
	$(BIN)/python scripts/make_prompts.py --out build/prompts

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


# A newcomer sees it work (issue 21): the box on its embedded default with a simulated
# provider and desk phones on loopback placing calls every few seconds (scripts/demo.py);
# the panel at http://127.0.0.1:8080/, sign in as demo / demo-owner-pass. Ctrl+C stops it.
DEMO_ARGS ?=
.PHONY: demo
demo: apt-test $(BIN)/.installed
	$(BIN)/python -m scripts.demo $(DEMO_ARGS)
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

# The central at the issue's scale (docs/central.md, "Measured at 20M"): 200 sites x 100,000
# calls generated inside a private PostgreSQL, the rollups built as at start, the dashboards,
# lists, reports, memory and ingestion measured; 12-16 min and ~15 GB in /tmp (removed
# after), so not part of `make bench` (which runs the same bench at 198k rows).
.PHONY: bench-central-full
bench-central-full: apt-test $(BIN)/.installed
	$(BIN)/python -m benchmarks.bench_central --full
