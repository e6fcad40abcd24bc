"""Fixtures of the lineage tests: real pipeline runs recorded in a real ML Metadata store on SQLite.

Pipeline runs are the slow part (about 30 s each), so they are shared: one run
in this process (``recorded_run``), one pair of ``kfx run`` processes started at
the same moment into one store (``concurrent_runs``), and one run that fails
after four steps (``failed_run``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KFX = os.path.join(os.path.dirname(sys.executable), "kfx")


@dataclass
class Recorded:
    """A run and the store it was recorded in."""

    config: object
    result: object
    console: str
    called: float = 0.0
    returned: float = 0.0

    @property
    def store_path(self) -> str:
        return self.config.resolved_metadata_path


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory) -> Recorded:
    """One complete local run of the beans pipeline (600 rows), recorded in ``<runs_dir>/metadata.sqlite``."""
    from kfx.config import Config
    from kfx.local import run_local

    runs_dir = tmp_path_factory.mktemp("recorded")
    # 600 rows with seed 42 show a little train/validation skew; this run is about lineage, so it goes on.
    config = Config(sample_rows=600, runs_dir=str(runs_dir), fail_on_anomalies=False)
    out = io.StringIO()
    called = time.time()
    result = run_local(config, out=out)
    returned = time.time()
    assert result.status == "complete", result.summary.get("error")
    return Recorded(config, result, out.getvalue(), called, returned)


@pytest.fixture(scope="session")
def failed_run(tmp_path_factory) -> Recorded:
    """A run that fails at validate-statistics (a curated schema requiring a column the table lacks), after
    three good steps."""
    from kfx.config import Config
    from kfx.local import run_local

    runs_dir = tmp_path_factory.mktemp("failed")
    # Skew thresholds widen with fewer rows, so no skew threshold fails a clean 600-row sample.
    schema = runs_dir / "curated.pbtxt"
    schema.write_text('feature { name: "Colour" type: BYTES presence { min_fraction: 1.0 } }\n')
    config = Config(
        sample_rows=600, runs_dir=str(runs_dir), skew_threshold=0.001, schema_file=str(schema), fail_on_anomalies=True
    )
    out = io.StringIO()
    result = run_local(config, out=out)
    assert result.status == "failed"
    return Recorded(config, result, out.getvalue())


@dataclass
class Concurrent:
    """Two ``kfx run`` processes started together into one runs folder."""

    runs_dir: str
    procs: list[subprocess.CompletedProcess]
    summaries: list[dict]
    svm_c: tuple[float, float]

    @property
    def store_path(self) -> str:
        return os.path.join(self.runs_dir, "metadata.sqlite")


@pytest.fixture(scope="session")
def concurrent_runs(tmp_path_factory) -> Concurrent:
    """Two complete runs, different ``--svm-c``, written at the same time into one store; each
    computes every step (``--no-cache``), so both write all their steps while the other writes."""
    runs_dir = str(tmp_path_factory.mktemp("concurrent"))
    svm_c = (10.0, 2.0)
    procs = []
    for c in svm_c:
        procs.append(
            subprocess.Popen(
                [
                    KFX,
                    "run",
                    "--sample-rows",
                    "600",
                    "--runs-dir",
                    runs_dir,
                    "--no-fail-on-anomalies",
                    "--no-cache",
                    "--svm-c",
                    str(c),
                    "--json",
                ],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    done = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    summaries = []
    for proc in done:
        assert proc.returncode == 0, proc.stderr[-2000:]
        # --json prints the step lines first, then the summary object.
        summaries.append(json.loads(proc.stdout[proc.stdout.index("\n{") + 1 :]))
    return Concurrent(runs_dir, done, summaries, svm_c)


@pytest.fixture
def lineage_cli():
    """Runs ``kfx`` in this process (``kfx.cli.main``) and returns (exit code, stdout, stderr)."""
    import contextlib

    from kfx import cli

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(list(args))
        return code, out.getvalue(), err.getvalue()

    return run
