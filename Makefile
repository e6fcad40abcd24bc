# kfx: `make run` sets everything up and runs the local beans pipeline; `make test` runs the tests.
# The virtual environment lives in .venv; it is (re)installed only when the lock or setup.py change.
# Packages are installed with their bytecode compiled (uv does not by default): every kfp.local
# task is a new Python process, and where PYTHONDONTWRITEBYTECODE is set each one would otherwise
# compile scikit-learn, pandas, kfp and TensorFlow from source again (a cold run took 48 s, not 10-14 s).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed
# Caches stay inside the repo (ignored by git), so nothing is kept outside it.
export UV_CACHE_DIR := $(CURDIR)/.cache/uv
export MPLCONFIGDIR := $(CURDIR)/.cache/matplotlib
export PIP_NO_CACHE_DIR := 1

.PHONY: setup run test test-install test-fast lint mutation notebooks test-notebooks docs test-docs chromium bench images lock clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.txt
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

run: setup
	$(BIN)/kfx run

# The browser test of the course pages (marker docs) needs the pages, which `make notebooks docs`
# builds, and Chromium, which `make test-docs` installs: it runs there, not here.
# The tests that really pip install kfx into new environments (marker install, several minutes each)
# run in `make test-install`, which .ci/run runs too. `make test` spreads the rest over one worker
# per core (pytest-xdist), a test module at a time (tests/lineage whole: tests/conftest.py), so a
# module's costly fixture (a trained model, a pipeline run) is made once; PYTEST_XDIST_AUTO_NUM_WORKERS=N
# chooses another number of workers.
test: setup
	$(BIN)/python -m pytest -m "not docs and not install" -n auto --dist loadfile

test-install: setup
	$(BIN)/python -m pytest -m install

test-fast: setup
	$(BIN)/python -m pytest -m "not e2e and not slow and not notebooks and not docs and not install"

# Lint, format check and type check, as configured in pyproject.toml (ruff over the repository,
# mypy over kfx and kfx_trainer). All three run even when one fails, and make fails if any did.
# The format check names each file it would change (`ruff format --diff` shows how).
lint: setup
	status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check --output-format concise . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

# Mutation testing: mutmut mutates the core modules (setup.cfg [mutmut]) and runs the fast tests
# against each mutant, two at a time; MUTANTS="kfx.registry*" limits it to one module. See docs/mutation.md.
MUTANTS ?=
mutation: setup
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python tools/mutation_score.py

NOTEBOOK_ARGS ?=

# Run the course notebooks with papermill, in order, into notebooks/out (e.g. NOTEBOOK_ARGS="-p sample_rows 0").
notebooks: setup
	$(BIN)/kfx notebooks --output-dir notebooks/out $(NOTEBOOK_ARGS)

# The notebooks as tests: every cell runs; cells marked NBVAL_CHECK_OUTPUT must reproduce their committed output.
test-notebooks: setup
	$(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/[0-9][0-9]_*.ipynb

# The executed notebooks of notebooks/out as static pages with an index, docs/course/index.html.
# It runs no notebook: `make notebooks` first; it refuses a missing, stale or failed executed copy.
docs: setup
	$(BIN)/kfx docs --executed-dir notebooks/out --output-dir docs/course

# Every course page and the index in headless Chromium: pictures load, no error, no request to the
# network; screenshots in runs/docs-screenshots. Needs `make notebooks docs` first.
test-docs: setup chromium
	$(BIN)/python -m pytest -m docs tests/docs

# Debian's chromium for the page test, installed with apt-get when missing (as root, like CI).
chromium:
	@test -x /usr/bin/chromium || { \
	  test "$$(id -u)" = 0 || { echo "make chromium: /usr/bin/chromium is missing; install Debian's chromium (apt-get install -y chromium) as root." >&2; exit 1; }; \
	  echo "installing chromium with apt-get"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

bench: setup
	$(BIN)/python benchmarks/bench_issue.py

# Build the kfx and trainer images on this machine with buildah, on local stand-ins for the
# base images, and smoke-run them (needs root; 8 to 10 minutes; see images/README.md).
images: setup
	bash images/build.sh

# Regenerate the lock from requirements.in (needs the network to PyPI).
lock: setup
	$(BIN)/uv pip compile --quiet --python-version 3.11 requirements.in -o requirements.txt

clean:
	rm -rf runs .pytest_cache mutants
