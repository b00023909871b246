# imagewave: `make demo` (image → song with the embedded CPU engines) and `make test`.
# Both set up everything they need on a fresh machine: Debian packages, then .venv.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Reference renderers for the instrument tests (FluidSynth + GM soundfont) and a browser for
# the web page test, npm for its accessibility engine (a Node.js that ships its own npm is
# kept: Debian's npm would conflict with it). Installed only when missing; needs root (as on CI and dev machines here).
APT_PACKAGES := fluidsynth fluid-soundfont-gm chromium redis-server
DEMO_IMAGE := examples/seaside.jpg
DEMO_OUT   := out/demo

# axe-core, the accessibility engine the page test runs in Chromium (pinned in package-lock).
AXE := tests/web/axe/node_modules/axe-core/axe.min.js

.PHONY: setup system-deps web-tools demo test test-fast test-models lint lint-imports bench clean

setup: $(STAMP)

# torch first, pinned to the CPU wheel: left to itself pip would fetch a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[studio,dev]'
	touch $(STAMP)

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

web-tools: $(AXE)

$(AXE): tests/web/axe/package.json tests/web/axe/package-lock.json
	npm ci --prefix tests/web/axe --no-audit --no-fund
	touch $(AXE)

demo: setup
	$(VENV)/bin/imagewave compose $(DEMO_IMAGE) -o $(DEMO_OUT) --seconds 30
	@echo "Your song: $(DEMO_OUT)/mix.wav  (all artifacts in $(DEMO_OUT)/)"

# The whole suite (the CI entry): the layer contract first, then every test.
test: setup system-deps web-tools lint-imports
	$(PY) -m pytest -q -ra

# Seconds, not minutes: no Redis, no processes, no model tests.
test-fast: setup
	$(PY) -m pytest -q -ra -m "not slow and not redis and not models"

# The layers of README "How it is built", as contracts in pyproject.toml [tool.importlinter].
lint-imports: setup
	$(VENV)/bin/lint-imports

test-models: setup
	$(PY) -m pytest -q -m models

lint: setup
	$(VENV)/bin/ruff check .

bench: setup system-deps
	$(PY) bench/compose.py
	$(PY) bench/render.py

clean:
	rm -rf out .pytest_cache
