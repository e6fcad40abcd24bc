"""Shared fixtures: the packaged beans table, small samples of it, and a way to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import pytest
from shared_fixtures import shared_by_mutants

from kfx.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def beans():
    """The full packaged beans table (13,611 rows)."""
    from kfx import data

    return data.read_source("")


@pytest.fixture(scope="session")
def beans_sample(beans):
    """A 600-row stratified sample of beans, checked like the pipeline checks it."""
    from kfx import data, splitting

    return data.check_table(splitting.stratified_sample(beans, "Class", 600, seed=42), "Class", (0.8, 0.1, 0.1))


@pytest.fixture(scope="session")
def sample_splits(beans_sample, tmp_path_factory):
    """The sample split and written as the import step writes it: {split: csv path}."""
    return shared_by_mutants("splits", lambda folder: _import_sample(beans_sample, folder), tmp_path_factory)


def _import_sample(beans_sample, folder) -> dict[str, str]:
    from kfx import data_steps

    paths = {s: str(folder / f"{s}.csv") for s in ("train", "validation", "test")}
    csv = folder / "beans_sample.csv"
    beans_sample.to_csv(csv, index=False)
    config = Config()
    data_steps.import_dataset(
        str(csv),
        config.label_column,
        paths["train"],
        paths["validation"],
        paths["test"],
        config.fractions,
        config.seed,
        config.sample_rows,
    )
    return paths


@pytest.fixture(scope="session")
def train_apart():
    """Trains a model folder in a fresh Python process, as the pipeline's train step and Vertex AI do:
    ``train_apart(splits, folder, prelude="import dill")``; the prelude runs first.
    """
    import json

    def train(splits: dict, folder: str, prelude: str = "", **changes) -> str:
        arguments = dict(
            train_path=splits["train"],
            validation_path=splits["validation"],
            test_path=splits["test"],
            model_dir=folder,
            label_column="Class",
            svm_c=10.0,
            svm_gamma="scale",
            seed=42,
            svm_max_rows=30000,
            boosting_learning_rate=0.1,
            boosting_max_iter=100,
            **changes,
        )
        code = f"{prelude}\nimport json, sys; from kfx import model_steps; model_steps.train(**json.loads(sys.argv[1]))"
        subprocess.run(
            [sys.executable, "-c", code, json.dumps(arguments)], check=True, cwd=REPO, timeout=300, capture_output=True
        )
        return folder

    return train


@dataclass
class Completed:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def kfx_cli():
    """Runs ``python -m kfx ARGS`` in a child process, as a user would, and returns its result."""

    def run(*args: str, timeout: float = 600) -> Completed:
        proc = subprocess.run(
            [sys.executable, "-m", "kfx", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
        )
        return Completed(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture
def ctrl_c_reaches_python():
    """SIGINT as an interactive Python has it (a KeyboardInterrupt), even when the tests run as a
    background job, which starts with SIGINT ignored (and :class:`kfx.stops.Stop` leaves an ignored
    signal alone)."""
    import signal

    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist with ``--dist loadfile`` (``make test``): a worker takes a test module at a time,
    as loadfile does, but the whole of tests/lineage at once, because its modules share the session's
    pipeline runs (tests/lineage/conftest.py), which two workers would each make again."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndLineage(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "tests/lineage" if module.startswith("tests/lineage/") else module

    return ModulesAndLineage(config, log)
