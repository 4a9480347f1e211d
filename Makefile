# Two commands: `make demo` and `make test`. Both set up everything they need on a fresh Debian/Ubuntu machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := ffmpeg espeak-ng fonts-wqy-microhei chromium postgresql redis-server
PIP := $(BIN)/pip install --quiet --constraint constraints.txt
# uv installs the rest: it resolves and downloads in parallel (about 20 s where pip took 150). It does not read pip's
# settings, so it is told where pip finds local wheels (the CPU build of torch lies there) and to trust the system's
# certificate store, the one pip is given.
UV_VERSION := 0.13.9
UV := $(BIN)/uv pip install --quiet --native-tls --constraint constraints.txt
WHEELS := $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
# Kitsu's API server (Zou) for the sync tests, in a venv of its own: it pins its own Flask and SQLAlchemy.
ZOU_VENV := .venv-zou
ZOU_VERSION := 1.0.97
DEMO_OUT ?= demo-out
# Python keeps the bytecode of what it imports for the next process to read. A shell that says not to write it
# (PYTHONDONTWRITEBYTECODE) has every one of the suite's processes compile prefect, torch and aigms from source
# again: importing aigms's flows and CLI then costs 7.6 s of CPU, against 3.9 s with the bytecode kept.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test system setup zou-venv bench clean

# torch goes in first: with it installed, nothing later can pull a CUDA build. uv installs it from the local wheels
# alone (~6 s; pip takes ~20), pip from wherever it is set to look when there are none. openai-whisper goes in
# without its dependencies, which would pull triton (GPU only); its other requirements are the extra of that name.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) uv==$(UV_VERSION)
	$(if $(WHEELS),$(UV) --python $(BIN)/python --no-deps --no-index $(WHEELS:%=--find-links %),$(PIP)) torch==2.13.0
	$(UV) --python $(BIN)/python \
		--editable ".[dask,diffusers,faces,postgres,whisper-base,openai-whisper,kitsu,jianying,test]"
	$(UV) --python $(BIN)/python --no-deps openai-whisper==20250625
	touch $@

system:
	@missing=""; for package in $(SYSTEM_PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

setup: system $(STAMP)

$(ZOU_VENV)/.installed-$(ZOU_VERSION): | $(STAMP)
	$(PYTHON) -m venv $(ZOU_VENV)
	$(UV) --python $(ZOU_VENV)/bin/python "zou==$(ZOU_VERSION)"
	touch $@

zou-venv: $(ZOU_VENV)/.installed-$(ZOU_VERSION)

demo: setup
	$(BIN)/aigms demo --out $(DEMO_OUT)

# Two test processes (pytest-xdist), a test file to each at a time; the DB-facing tests (marked `database`) run a
# second time on a throwaway PostgreSQL server. The Kitsu tests start a Zou server from $(ZOU_VENV); naming it makes
# its absence a failure rather than a skip.
test: setup zou-venv
	AIGMS_ZOU_VENV=$(abspath $(ZOU_VENV)) $(BIN)/pytest -n 2 --durations=15
	AIGMS_ZOU_VENV=$(abspath $(ZOU_VENV)) .ci/with-postgres $(BIN)/pytest -n 2 -m database -p no:cacheprovider \
		--durations=15

bench: setup
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/plan.py
	$(BIN)/python benchmarks/generate.py
	$(BIN)/python benchmarks/edit.py
	$(BIN)/python benchmarks/subtitles.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/qc.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/remote.py

clean:
	rm -rf $(VENV) $(ZOU_VENV) $(DEMO_OUT) .aigms renders .pytest_cache
