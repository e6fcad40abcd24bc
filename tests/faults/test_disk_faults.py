"""File-system faults of a run, on real file systems: a runs folder that is a file, under a file, on a
read-only or full disk; a registry or ``--output`` folder that cannot be written; a disk that fills
while the run writes its own files (``summary.json``, ``lineage.svg``, the ``--output`` copy).

Each disk is a real tmpfs mounted for the test (remounted read-only, or filled with a file until
the kernel says ENOSPC), so these tests need root; without it they are skipped, saying why.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import subprocess

import pytest
from beans_tasks import NAMES

from kfx.config import Config
from kfx.events import Listener

NO_SPACE = "no space is left on its disk; free some space or pass a folder on another disk"
READ_ONLY = "its file system is read-only; remount it read-write or pass a folder on a writable disk"


def _mount(path, size: str) -> None:
    os.makedirs(path, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here (root is needed): {done.stderr.strip()}")


def _unmount(path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def read_only(path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def fill(path, leave: int = 0) -> None:
    """Fills the disk of folder ``path`` until it refuses a write, then frees ``leave`` bytes again."""
    filler = os.path.join(str(path), "filler")
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as err:
                assert err.errno == errno.ENOSPC
                break
    size = os.path.getsize(filler)
    os.truncate(filler, max(0, size - leave))


@pytest.fixture
def disks(tmp_path):
    """``disks(name, size)`` mounts a tmpfs of ``size`` at ``tmp_path/name``; every mount is undone after the test."""
    mounted = []

    def mount(name: str = "disk", size: str = "1m"):
        path = tmp_path / name
        _mount(path, size)
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        _unmount(path)


def _refused(done, sentence: str) -> None:
    assert done.returncode == 2, done.output
    assert done.stderr.strip() == f"kfx: error: {sentence}"
    assert "Traceback" not in done.output


def test_a_runs_folder_that_cannot_be_written_is_refused_before_anything_runs(kfx_cli, disks, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    _refused(
        kfx_cli("run", "--runs-dir", str(a_file)),
        f"--runs-dir {str(a_file)!r} is a file, not a folder; pass the path of a folder (kfx makes it when missing).",
    )
    under = a_file / "runs"
    _refused(
        kfx_cli("run", "--runs-dir", str(under)),
        f"--runs-dir {str(under)!r} is inside {str(a_file)!r}, which is a file; pass a path whose parents are folders.",
    )

    locked = disks("read-only")
    read_only(locked)
    _refused(
        kfx_cli("run", "--runs-dir", str(locked / "runs")),
        f"--runs-dir {str(locked / 'runs')!r} cannot be written: {READ_ONLY}.",
    )
    assert os.listdir(locked) == []

    full = disks("full", "256k")
    fill(full)
    _refused(kfx_cli("run", "--runs-dir", str(full)), f"--runs-dir {str(full)!r} cannot be written: {NO_SPACE}.")
    assert sorted(os.listdir(full)) == ["filler"]  # no lineage store, no run folder, no probe left


def test_a_registry_that_cannot_be_written_is_refused_before_a_run_that_may_push(kfx_cli, disks, tmp_path):
    locked = disks("registry")
    read_only(locked)
    runs = tmp_path / "runs"
    _refused(
        kfx_cli("run", "--runs-dir", str(runs), "--registry-dir", str(locked / "reg")),
        f"--registry-dir {str(locked / 'reg')!r} cannot be written (checked at {str(locked)!r}, the part of "
        f"it that exists): {READ_ONLY}.",
    )
    a_file = tmp_path / "registry-file"
    a_file.write_text("")
    _refused(
        kfx_cli("run", "--runs-dir", str(runs), "--registry-dir", str(a_file)),
        f"--registry-dir {str(a_file)!r} is a file, not a folder; pass the path of a folder (kfx makes it "
        "when missing).",
    )
    assert os.listdir(runs) == []  # no run folder, no lineage store: nothing started


class FillsTheDiskAtTheEnd(Listener):
    """Fills the run folder's disk once every step has ended, before the run writes its own files:
    the moment a real disk fills between the last step and ``summary.json``."""

    def run_finished(self, run_id, summary):
        fill(os.path.dirname(summary["run_dir"]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A training run of 600 rows, its model pushed as beans v1: (its config, its result, its test split as
    a CSV to score)."""
    from kfp import local

    from kfx.local import run_local

    base = tmp_path_factory.mktemp("trained")
    config = Config(
        runs_dir=str(base / "runs"),
        registry_dir=str(base / "registry"),
        sample_rows=600,
        metadata_path=str(base / "metadata.sqlite"),
    )
    result = run_local(config, out=open(os.devnull, "w"))
    local.config.LocalExecutionConfig.instance = None
    assert result.status == "complete" and result.summary["push"]["version"] == 1
    table = base / "test.csv"
    shutil.copy(result.summary["artifacts"]["import-dataset/test_data"], table)
    return config, result, str(table)


@pytest.fixture(scope="module")
def full_at_the_end(trained, tmp_path_factory):
    """The same run again (every step reused from the cache) in a runs folder on a 4 MB tmpfs that fills
    after its last step; its lineage store and registry stay on the ordinary disk: (result, store path)."""
    from kfp import local

    from kfx.local import run_local

    config = trained[0]
    disk = tmp_path_factory.mktemp("full-at-the-end") / "disk"
    _mount(disk, "4m")
    try:
        result = run_local(
            config.replace(runs_dir=str(disk)), out=open(os.devnull, "w"), listeners=[FillsTheDiskAtTheEnd()]
        )
        local.config.LocalExecutionConfig.instance = None
        yield result, config.metadata_path
    finally:
        _unmount(disk)


@pytest.mark.e2e
def test_a_disk_that_fills_before_summary_json_fails_the_run_in_one_sentence_and_the_store_agrees(full_at_the_end):
    """The disk really fills (a tmpfs, written until ENOSPC) at the one moment between the last step and
    the run's own files, through a run listener: no patched write."""
    from kfx.errors import DiskError
    from kfx.lineage.store import LineageStore

    result, store_path = full_at_the_end
    sentence = f"Could not write summary.json in {result.run_dir!r}: {NO_SPACE}."
    assert result.status == "failed"
    assert len(result.summary["steps"]) == len(NAMES) and {s["state"] for s in result.summary["steps"]} <= {
        "complete",
        "cached",
    }
    assert result.summary["push"]["version"] == 1
    assert result.summary["error"] == result.summary["summary_error"] == sentence
    assert "failed_step" not in result.summary
    error = result.error()
    assert isinstance(error, DiskError) and error.exit_code == 2 and str(error) == sentence
    # The picture could not be drawn either; it says so, and nothing half-written stays.
    assert result.summary["lineage_error"] == (
        f"DiskError: Could not write lineage.svg in {result.run_dir!r}: {NO_SPACE}."
    )
    assert "lineage_graph" not in result.summary
    left = sorted(os.listdir(result.run_dir))
    assert "summary.json" not in left and "lineage.svg" not in left
    assert not [name for name in left if "partial" in name]
    # The store agrees with the console: failed, at no step, with the same sentence.
    run = LineageStore(str(store_path)).run(result.run_id)
    assert (run.status, run.failed_step, run.error) == ("failed", "", sentence)


@pytest.mark.e2e
def test_kfx_lineage_runs_says_the_run_failed_at_its_end_not_at_a_step(full_at_the_end, capsys):
    from kfx.cli import main

    result, store_path = full_at_the_end
    assert main(["lineage", "runs", "--metadata-path", str(store_path)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(result.run_id))
    assert line.split()[1] == "failed" and line.endswith("failed at the end of the run")


@pytest.mark.e2e
def test_predict_output_in_a_folder_that_cannot_be_written_is_refused_before_the_run(trained, kfx_cli, disks, tmp_path):
    config, _, source = trained
    registry = config.registry_dir
    locked = disks("out")
    read_only(locked)
    runs = tmp_path / "runs"
    _refused(
        kfx_cli(
            "predict",
            "--model",
            "beans",
            "--source",
            source,
            "--runs-dir",
            str(runs),
            "--registry-dir",
            str(registry),
            "--output",
            str(locked / "p.csv"),
        ),
        f"the folder of --output {str(locked)!r} cannot be written: {READ_ONLY}.",
    )
    assert not os.path.exists(runs) or not [n for n in os.listdir(runs) if n.startswith("kfx-")]


@pytest.mark.e2e
def test_predict_output_on_a_disk_that_fills_during_the_copy_fails_the_run_and_the_store_agrees(
    trained, kfx_cli, disks, tmp_path
):
    """A real disk with one free page: the check before the run passes (its probe fits), the copy of
    the predictions (60 rows, about 10 kB) does not."""
    from kfx.lineage.store import LineageStore

    config, _, source = trained
    registry = config.registry_dir
    nearly = disks("nearly-full", "256k")
    fill(nearly, leave=4096)
    runs, store = tmp_path / "runs", tmp_path / "metadata.sqlite"
    done = kfx_cli(
        "predict",
        "--model",
        "beans",
        "--source",
        source,
        "--runs-dir",
        str(runs),
        "--registry-dir",
        str(registry),
        "--metadata-path",
        str(store),
        "--output",
        str(nearly / "p.csv"),
        "--no-cache",
    )
    sentence = f"Could not write p.csv in {str(nearly)!r}: {NO_SPACE}, then run kfx predict again."
    _refused(done, sentence)
    assert sorted(os.listdir(nearly)) == ["filler"]  # no p.csv, no hidden partial copy
    [run_dir] = glob.glob(str(runs / "kfx-predict-beans-*"))
    summary = json.load(open(os.path.join(run_dir, "summary.json")))
    assert (summary["status"], summary["error_kind"], summary["error"]) == ("failed", "DiskError", sentence)
    assert "output" not in summary["predictions"] and os.path.isfile(summary["predictions"]["file"])
    assert "failed at   the end of the run: " + sentence in done.stdout
    run = LineageStore(str(store)).run(summary["run_id"])
    assert (run.status, run.failed_step, run.error) == ("failed", "", sentence)


@pytest.mark.e2e
def test_a_disk_that_fills_during_a_step_names_the_step_and_where_and_the_runs_table_agrees(kfx_cli, disks):
    """Runs folder and lineage store on a 600 kB tmpfs: the probe before the run fits, the run's outputs and
    the store do not: the store stops taking writes (here during generate-statistics), then a step fails
    (here train). Which ones depends on sizes, so the test reads the step from the summary and checks that
    the console, the summary and the runs table agree on it."""
    disk = disks("runs", "600k")
    done = kfx_cli("run", "--sample-rows", "600", "--runs-dir", str(disk), "--no-cache")
    assert done.returncode == 2, done.output
    assert "Traceback" not in done.output
    [summary_path] = glob.glob(str(disk / "kfx-beans-*" / "summary.json"))
    summary = json.load(open(summary_path))
    step = summary["failed_step"]
    [job] = glob.glob(os.path.join(summary["run_dir"], "kfx-beans-*"))  # kfp.local's folder of the pipeline job
    task_root = os.path.join(job, step)
    sentence = f"Step {step!r} could not write its outputs in {task_root!r}: {NO_SPACE} as --runs-dir, then run again."
    assert (summary["status"], summary["error_kind"], summary["error"]) == ("failed", "DiskError", sentence)
    assert done.stderr.strip().splitlines()[-1] == f"kfx: error: {sentence}"
    assert (
        summary["lineage_error"].endswith(")") and "the run's end could not be recorded in " in summary["lineage_error"]
    )
    assert not os.path.exists(task_root)  # the failed step's half-made outputs are gone
    # The store missed the run's end; the runs table reads it from summary.json instead of calling the
    # run abandoned in the last step the store heard of.
    table = kfx_cli("lineage", "runs", "--metadata-path", str(disk / "metadata.sqlite"))
    [line] = [line for line in table.stdout.splitlines() if line.startswith(summary["run_id"])]
    assert line.split()[1] == "failed" and line.endswith(f"failed at {step}")
