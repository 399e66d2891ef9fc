# CortexScore: `make install`, then `make run`; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION := 2.13.0

.PHONY: install run run-distributed test bench clean seed

install: $(BIN)/cortexscore

$(BIN)/cortexscore: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, so nothing later can pull a CUDA build.
	$(BIN)/pip install --quiet --no-compile torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	# Bytecode for everything once, here: scorers run model children with PYTHONDONTWRITEBYTECODE=1 on a
	# read-only runtime, so without it every child compiles torch and the model stack again (issue 16).
	# The exit status is ignored: a few test files shipped inside packages are not valid Python 3.
	-$(BIN)/python -m compileall -q -j 0 $(VENV)/lib shared services > /dev/null
	-$(BIN)/python -m compileall -q -j 0 "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" > /dev/null 2>&1
	@du -sh $(VENV)

run: install
	$(BIN)/python scripts/run_platform.py

# The deploy/ topology from local processes: throwaway PostgreSQL, `rclone serve s3` for MinIO, 2 scorers.
run-distributed: install
	$(BIN)/python scripts/run_distributed.py

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Every bench/*.py (helpers start with an underscore), then the summary table in bench/README.md.
bench: install
	for script in bench/[!_]*.py; do $(BIN)/python $$script || exit 1; done
	$(BIN)/python bench/_summary.py

# The reference submissions of examples/, submitted publicly by the reserved `reference` account to the platform
# `make run` started: at $CORTEXSCORE_URL (default http://127.0.0.1:$PORT) with $CORTEXSCORE_TOKEN (default the
# token `make run` wrote to $VAR_DIR/reference-token); SEED_ARGS='--only pixels' and so on.
PORT ?= 8000
VAR_DIR ?= var
seed: install
	CORTEXSCORE_URL="$${CORTEXSCORE_URL:-http://127.0.0.1:$(PORT)}" \
	CORTEXSCORE_TOKEN="$${CORTEXSCORE_TOKEN:-$$(cat '$(VAR_DIR)/reference-token' 2>/dev/null)}" \
	$(BIN)/cortexscore seed-leaderboard $(SEED_ARGS)

clean:
	rm -rf var .pytest_cache
