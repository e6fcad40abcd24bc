#!/usr/bin/env bash
# `make images`: builds the kfx image (Dockerfile) and the trainer image (kfx_trainer/Dockerfile)
# on this machine with buildah, on local stand-ins for the base images, from exactly the
# build context `kfx build` uploads to Cloud Build, then smoke-runs both. See images/README.md.
#
# Needs root (debootstrap, buildah's chroot isolation), the repository's .venv (make setup),
# PyPI and the Debian mirror. Every container file stays under .cache/containers; images,
# containers and stand-ins are removed at the end unless KEEP=1.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=$REPO/.cache/containers
PY=$REPO/.venv/bin/python
KEEP=${KEEP:-0}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm                       # Debian 12: Python 3.11, like python:3.11's images
SLIM=docker.io/library/python:3.11-slim
FULL=docker.io/library/python:3.11
BEAM=docker.io/apache/beam_python3.11_sdk:2.72.0
KFX_IMAGE=localhost/kfx:smoke
TRAINER_IMAGE=localhost/kfx-trainer:smoke
WORK=$CACHE/work                     # mounted at $MOUNT in the smoke containers
MOUNT=/smoke
STANDIN_CA=/etc/ssl/standin-ca-certificates.crt  # outside /etc/ssl/certs: apt's update-ca-certificates keeps it
LABEL=Class

# buildah writes its temporary files under TMPDIR, its network lock files where
# containers.conf says, and reads short names (FROM python:…) through registries.conf:
# all are pointed inside the repository.
export TMPDIR=$CACHE/tmp
export CONTAINERS_CONF=$CACHE/containers.conf
export CONTAINERS_REGISTRIES_CONF=$CACHE/registries.conf

CURRENT=""        # the running phase, named by the exit handler if it fails
SUMMARY=()        # "phase  seconds" lines for the final report
STARTED=$EPOCHREALTIME

# Every buildah call uses the repository's own storage (vfs: plain directories, no mounts).
bah() { buildah --root "$CACHE/storage" --runroot "$CACHE/run" --storage-driver vfs "$@"; }

die() { echo "make images: $*" >&2; exit 1; }

seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# phase NAME COMMAND…: runs one phase, timed; the exit handler names it if it fails.
phase() {
    local name=$1 start=$EPOCHREALTIME
    shift
    CURRENT=$name
    echo "==> $name"
    "$@"
    SUMMARY+=("$(printf '%-34s %7ss' "$name" "$(seconds_since "$start")")")
    echo "==> $name: done in $(seconds_since "$start") s"
    CURRENT=""
}

# quietly LOG COMMAND…: long, chatty commands (debootstrap, apt) go to a log, shown on failure.
quietly() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "--- the last lines of $(basename "$log"):" >&2
        tail -n 40 "$log" >&2
        return 1
    fi
}

on_exit() {
    local rc=$?
    if ((rc != 0)); then
        echo "make images: phase '${CURRENT:-setup}' failed (exit $rc); the reason is in the output above." >&2
    fi
    if [[ $KEEP == 1 ]]; then
        echo "KEEP=1: images, containers and stand-ins kept in $CACHE (run without KEEP to remove them)."
    else
        local start=$EPOCHREALTIME
        cleanup
        echo "cleanup done in $(seconds_since "$start") s"
    fi
    echo "make images: $( ((rc == 0)) && echo "passed" || echo "FAILED") in $(seconds_since "$STARTED") s in all"
    exit "$rc"
}

cleanup() {
    echo "removing the images, containers and stand-ins (KEEP=1 keeps them)"
    bah rm --all >/dev/null 2>&1 || true
    bah rmi --all --force >/dev/null 2>&1 || true
    rm -rf "$CACHE/standins" "$CACHE/context" "$WORK" "$TMPDIR" "$CACHE/var-lib-containers"
}

# containers/image keeps a blob-info cache in /var/lib/containers/cache when run as root,
# whatever --root says. So the build runs in a private mount namespace in which a folder
# of the repository is mounted over /var/lib/containers (unshare is in util-linux).
enter_private_namespace() {
    local created=0 rc=0
    if [[ ! -d /var/lib/containers ]]; then
        mkdir /var/lib/containers # only as a mount point; removed again below
        created=1
    fi
    KFX_IMAGES_NAMESPACE=1 unshare --mount --propagation private "$BASH" "${BASH_SOURCE[0]}" "$@" || rc=$?
    if ((created)); then rmdir /var/lib/containers; fi
    exit "$rc"
}

have_image() { bah inspect --type image "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- tools
ensure_tools() {
    [[ -x $PY ]] || die "the repository's .venv is missing; run make setup first."
    if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
        # A fresh CI machine has neither; both are Debian packages.
        echo "installing buildah and debootstrap with apt-get"
        apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y buildah debootstrap
    fi
    mkdir -p "$CACHE/storage" "$CACHE/run" "$TMPDIR" "$CACHE/standins"
    printf '[network]\nnetwork_config_dir = "%s"\n' "$CACHE/networks" >"$CONTAINERS_CONF"
    # Short names in the Dockerfiles resolve to docker.io, where the stand-ins are tagged.
    printf '%s\n' 'unqualified-search-registries = ["docker.io"]' 'short-name-mode = "permissive"' \
        >"$CONTAINERS_REGISTRIES_CONF"
    buildah --version
}

# ---------------------------------------------------------------- stand-in base images
# Base images cannot be pulled here, so each is replaced by a local image under the
# exact name the Dockerfiles use. They are not the Docker Hub images: Debian's own
# Python 3.11 instead of python.org's build, and a fake Beam boot program.

# python:3.11-slim: Debian bookworm (minbase) with Debian's Python 3.11 as a venv at
# /usr/local, so python, python3 and pip are on PATH and there is no compiler.
make_slim() {
    if [[ $KEEP == 1 ]] && have_image "$SLIM"; then echo "reusing the stand-in $SLIM (KEEP=1)"; return; fi
    local root=$CACHE/standins/slim tar=$CACHE/standins/slim.tar ctr version
    rm -rf "$root"
    echo "debootstrap $SUITE from $MIRROR (log: $CACHE/standins/debootstrap.log)"
    quietly "$CACHE/standins/debootstrap.log" debootstrap --variant=minbase \
        --include=python3,python3-venv,ca-certificates "$SUITE" "$root" "$MIRROR"
    chroot "$root" /usr/bin/python3 -m venv /usr/local
    # pip in the builds needs this machine's CA bundle; nothing else comes from the host.
    install -m 0644 /etc/ssl/certs/ca-certificates.crt "$root$STANDIN_CA"
    # Like the real slim image: no package lists or caches (builds run apt-get update).
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
    tar --numeric-owner -C "$root" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$tar" .
    ctr=$(bah from --pull=never scratch)
    bah add "$ctr" "$tar" /
    bah config --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 --env PIP_CERT="$STANDIN_CA" --cmd python3 \
        --label kfx.stand-in="Debian $SUITE minbase + Debian's Python 3.11 as a venv at /usr/local" "$ctr"
    bah commit --quiet --rm "$ctr" "$SLIM" >/dev/null
    rm -rf "$root" "$tar"
    ctr=$(bah from --pull=never "$SLIM")
    version=$(bah run --isolation chroot "$ctr" -- python3 --version)
    bah rm "$ctr" >/dev/null
    echo "stand-in $SLIM: $version, no compiler"
}

# python:3.11: the slim stand-in plus a compiler and Python's headers, from Debian.
make_full() {
    if [[ $KEEP == 1 ]] && have_image "$FULL"; then echo "reusing the stand-in $FULL (KEEP=1)"; return; fi
    local dir=$CACHE/standins/full
    mkdir -p "$dir"
    printf '%s\n' "FROM $SLIM" \
        "RUN apt-get update && apt-get install -y --no-install-recommends build-essential python3-dev && rm -rf /var/lib/apt/lists/*" \
        >"$dir/Containerfile"
    echo "stand-in $FULL: $SLIM + build-essential python3-dev (log: $dir/build.log)"
    quietly "$dir/build.log" bah bud --pull=never --isolation chroot --tag "$FULL" \
        --label kfx.stand-in="the python:3.11-slim stand-in + build-essential python3-dev" "$dir"
}

# apache/beam_python3.11_sdk:2.72.0: only what the Dockerfile copies, /opt/apache/beam,
# with a script in place of the boot program (a Go binary that cannot be fetched here).
make_beam() {
    if [[ $KEEP == 1 ]] && have_image "$BEAM"; then echo "reusing the stand-in $BEAM (KEEP=1)"; return; fi
    local dir=$CACHE/standins/beam ctr
    mkdir -p "$dir"
    printf '%s\n' '#!/bin/sh' \
        'echo "boot: stand-in for the Beam SDK harness boot program of apache/beam_python3.11_sdk:2.72.0 (made by make images); arguments: $*"' \
        >"$dir/boot"
    ctr=$(bah from --pull=never scratch)
    bah copy --chmod 0755 "$ctr" "$dir/boot" /opt/apache/beam/boot
    bah config --label kfx.stand-in="/opt/apache/beam/boot is a shell script" "$ctr"
    bah commit --quiet --rm "$ctr" "$BEAM" >/dev/null
    echo "stand-in $BEAM: /opt/apache/beam/boot is a script"
}

# ---------------------------------------------------------------- builds
# The context is what kfx.vertex.build.context_tarball() packs for Cloud Build, nothing more.
extract_context() {
    rm -rf "$CACHE/context"
    mkdir -p "$CACHE/context"
    "$PY" -c 'import sys; from kfx.vertex.build import context_tarball; sys.stdout.buffer.write(context_tarball())' \
        | tar -xz -C "$CACHE/context"
    echo "context: $(find "$CACHE/context" -type f | wc -l) files ($(du -sh "$CACHE/context" | cut -f1)), as kfx build uploads it"
}

# build_image TAG DOCKERFILE: buildah's default (no --layers) commits one layer per
# stage, which with vfs (a full copy per layer) saves minutes and gigabytes.
build_image() {
    if have_image "$1"; then bah rmi --force "$1" >/dev/null; fi
    bah bud --pull=never --isolation chroot --file "$2" --tag "$1" "$CACHE/context"
}

# ---------------------------------------------------------------- smoke runs
# in_container CTR COMMAND…: runs a command in a working container with the work folder mounted.
in_container() {
    local ctr=$1
    shift
    bah run --isolation chroot --volume "$WORK:$MOUNT" "$ctr" -- "$@"
}

new_container() { bah from --pull=never --name "$1" "$2" >/dev/null && echo "$1"; }

smoke_data() {
    rm -rf "$WORK"
    mkdir -p "$WORK"
    cp "$REPO/images/check_model.py" "$WORK/"
    "$PY" "$REPO/images/smoke.py" data "$WORK"
}

smoke_kfx() {
    local ctr python3 env compiler
    bah rm kfx-smoke >/dev/null 2>&1 || true
    ctr=$(new_container kfx-smoke "$KFX_IMAGE")

    python3=$(in_container "$ctr" sh -c 'command -v python3')
    [[ $python3 == /opt/venv/bin/python3 ]] || die "python3 in the kfx image is $python3, not the venv's /opt/venv/bin/python3."
    in_container "$ctr" python3 -c \
        'import kfx, tensorflow_data_validation as t; print(f"python3 = /opt/venv/bin/python3: kfx {kfx.__version__}, TFDV {t.__version__}")'

    compiler=$(in_container "$ctr" sh -c 'for c in gcc cc g++ c++; do command -v $c; done; true')
    [[ -z $compiler ]] || die "the kfx image has a compiler ($compiler); it must stay in the builder stage."
    echo "no compiler: gcc, cc, g++, c++ not found"

    env=$(bah inspect --type image --format '{{.OCIv1.Config.Env}}' "$KFX_IMAGE")
    [[ $env == *RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1* ]] || die "the kfx image does not set RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1."
    in_container "$ctr" /opt/apache/beam/boot --smoke

    # generate_statistics exactly as kfp runs it: its compiled command, placeholders filled.
    local -a command
    "$PY" "$REPO/images/smoke.py" component-command "$WORK" "$MOUNT"
    mapfile -d '' command <"$WORK/command"
    in_container "$ctr" "${command[@]}"
    "$PY" "$REPO/images/smoke.py" check-statistics "$WORK"
    bah rm "$ctr" >/dev/null
}

smoke_trainer() {
    local ctr series venv=$MOUNT/serving-sklearn
    local -a entrypoint
    bah rm trainer-smoke >/dev/null 2>&1 || true
    ctr=$(new_container trainer-smoke "$TRAINER_IMAGE")

    # As Vertex AI runs the image: its ENTRYPOINT, the trainer's arguments, the AIP_* contract.
    mapfile -t entrypoint < <(bah inspect --type image --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$TRAINER_IMAGE" | sed '/^$/d')
    echo "entrypoint: ${entrypoint[*]}"
    bah run --isolation chroot --volume "$WORK:$MOUNT" \
        --env AIP_MODEL_DIR=$MOUNT/model --env AIP_DATA_FORMAT=csv \
        --env AIP_TRAINING_DATA_URI=$MOUNT/data/train.csv \
        --env AIP_VALIDATION_DATA_URI=$MOUNT/data/validation.csv \
        --env AIP_TEST_DATA_URI=$MOUNT/data/test.csv \
        "$ctr" -- "${entrypoint[@]}" --label-column "$LABEL"
    [[ -s $WORK/model/model.joblib ]] || die "the trainer wrote no model.joblib."

    in_container "$ctr" python "$MOUNT/check_model.py" "$MOUNT/model" "$MOUNT/data/test.csv" "$MOUNT/predictions-trainer.json"

    # Vertex AI serves model.joblib with the scikit-learn of its prebuilt image; the
    # oldest release of that series must load it and predict the same.
    series=$("$PY" "$REPO/images/smoke.py" serving-series)
    echo "serving image series: scikit-learn $series; installing scikit-learn==$series.0 into a separate venv"
    in_container "$ctr" sh -c "python -m venv $venv && $venv/bin/pip install --quiet scikit-learn==$series.0"
    in_container "$ctr" "$venv/bin/python" "$MOUNT/check_model.py" "$MOUNT/model" "$MOUNT/data/test.csv" \
        "$MOUNT/predictions-serving.json" --expect "$MOUNT/predictions-trainer.json"
    echo "trainer metrics: $(cat "$WORK/model/metrics.json" | tr -d ' \n')"
    bah rm "$ctr" >/dev/null
}

report() {
    echo
    bah images
    echo
    echo "phase                                  wall time"
    printf '%s\n' "${SUMMARY[@]}"
    printf '%-34s %7ss\n' "total" "$(seconds_since "$STARTED")"
    echo "container storage: $(du -sh "$CACHE/storage" | cut -f1) under $CACHE/storage (vfs: full copies)"
}

main() {
    ((EUID == 0)) || die "building images here needs root (debootstrap, mounts and buildah's chroot isolation); run it as root."
    if [[ -z ${KFX_IMAGES_NAMESPACE:-} ]]; then
        enter_private_namespace "$@"
    fi
    mkdir -p "$CACHE/var-lib-containers"
    mount --bind "$CACHE/var-lib-containers" /var/lib/containers
    trap on_exit EXIT
    phase "tools" ensure_tools
    echo "STAND-INS: the base images below are local stand-ins made here, not the Docker Hub images."
    phase "stand-in python:3.11-slim" make_slim
    phase "stand-in python:3.11 (builder)" make_full
    phase "stand-in beam_python3.11_sdk" make_beam
    phase "context (kfx build's tarball)" extract_context
    phase "build kfx image" build_image "$KFX_IMAGE" Dockerfile
    phase "build trainer image" build_image "$TRAINER_IMAGE" kfx_trainer/Dockerfile
    phase "smoke data" smoke_data
    phase "smoke kfx image" smoke_kfx
    phase "smoke trainer image" smoke_trainer
    report
}

# Sourcing the file defines the functions without running anything (handy while iterating).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    main "$@"
fi
