# The kfx base image: every kfx component (and the Dataflow workers of the statistics
# step) runs in it. Build from the repository root:
#   docker build --file Dockerfile --tag REGION-docker.pkg.dev/PROJECT/REPO/kfx:TAG .
# or `kfx build` (Cloud Build). Python 3.11 slim: TFDV 1.16.1 ships manylinux2014 wheels.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/kfx

# Dependencies first, in their own layer: the runtime requirements of setup.py, pinned to
# the versions of the lock (requirements.txt as constraints), so the image runs exactly the
# combination the tests run, without the lock's notebook and test tools.
COPY requirements.txt setup.py README.md ./
RUN mkdir kfx trainer \
    && touch kfx/__init__.py trainer/__init__.py \
    && pip install --constraint requirements.txt . \
    && pip uninstall --yes kfx \
    && rm -rf kfx trainer build *.egg-info

# Then kfx itself, without touching the dependencies.
COPY kfx ./kfx
COPY trainer ./trainer
RUN pip install --no-deps . && rm -rf build *.egg-info

# Beam's Dataflow workers use this image too (sdk_container_image); the Beam SDK
# harness boot program comes from the matching official image.
COPY --from=apache/beam_python3.11_sdk:2.72.0 /opt/apache/beam /opt/apache/beam

# kfp runs components with its own command; a bare `docker run` starts the Beam worker.
ENTRYPOINT ["/opt/apache/beam/boot"]
