# The kfx base image: every kfx component (and the Dataflow workers of the statistics
# step) runs in it. Build from the repository root:
#   docker build --file Dockerfile --tag REGION-docker.pkg.dev/PROJECT/REPO/kfx:TAG .
# or `kfx build` (Cloud Build); `make images` builds and smoke-runs it on this machine.
# Plain Dockerfile syntax only (no BuildKit features): Cloud Build's docker builder
# may be the legacy one.
#
# Two stages. TFDV 1.16.1 needs pyfarmhash < 0.4, and pyfarmhash 0.3.2 is published
# only as C++ source: installing it needs a compiler and Python's headers, which the
# slim image lacks (pip fails with "x86_64-linux-gnu-gcc failed"). So the dependencies
# are installed into a virtual environment in the full python:3.11 image, and only that
# environment is copied into the slim image: the image that runs has no compiler.
# The environment's compiled modules and its `python` link need the same Python on the
# same Debian in both stages: python:3.11 and python:3.11-slim are published together
# for each release (pin both to the same -<debian> suffix if that ever needs forcing).

# ---- builder: compiler and headers; everything is installed into /opt/venv ----
FROM python:3.11 AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A virtual environment, so that one directory holds everything the runtime stage copies.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /opt/kfx

# The runtime requirements of setup.py, pinned to the versions of the lock
# (requirements.txt as constraints), so the image runs exactly the combination the
# tests run, without the lock's notebook and test tools. kfx itself is installed in the
# runtime stage (its placeholder package here only lets pip read setup.py's list).
COPY requirements.txt setup.py README.md ./
RUN mkdir kfx kfx_trainer \
    && touch kfx/__init__.py kfx_trainer/__init__.py \
    && pip install --constraint requirements.txt . \
    && pip uninstall --yes kfx \
    && rm -rf kfx kfx_trainer build *.egg-info

# ---- runtime: slim Python, the environment from the builder, kfx, Beam's boot ----
FROM python:3.11-slim

# The venv first on PATH: kfp runs components with `sh -c ... python3 -m
# kfp.dsl.executor_main`, and Beam's boot runs `python`; both must find the venv's.
# Beam's boot (since 2.44) otherwise makes a fresh venv on worker start-up whose
# "system site packages" are the base Python's, not this venv's, and the workers would
# lose every dependency: RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1 (Beam 2.48+) keeps
# them in this one.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1

COPY --from=builder /opt/venv /opt/venv

WORKDIR /opt/kfx

# Then kfx itself, without touching the dependencies (pure Python: no compiler needed).
COPY setup.py README.md ./
COPY kfx ./kfx
COPY kfx_trainer ./kfx_trainer
RUN pip install --no-deps . && rm -rf build *.egg-info

# Beam's Dataflow workers use this image too (sdk_container_image); the Beam SDK
# harness boot program comes from the matching official image.
COPY --from=apache/beam_python3.11_sdk:2.72.0 /opt/apache/beam /opt/apache/beam

# kfp runs components with its own command; a bare `docker run` starts the Beam worker.
ENTRYPOINT ["/opt/apache/beam/boot"]
