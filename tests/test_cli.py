"""``kfx run`` on bad input, as a user meets it: one sentence, a non-zero exit, no traceback,
and nothing left that looks like a complete artifact."""

import gzip
import json
import os

import pytest
from beans_tasks import at


def assert_one_sentence_error(result, words):
    assert result.returncode != 0
    assert "Traceback" not in result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("kfx: error: ") and last.endswith("."), last
    assert words in last, last
    return last


@pytest.mark.parametrize(
    "source, words",
    [
        ("/no/such/beans.csv", "Source file '/no/such/beans.csv' does not exist"),
        ("s3://bucket/beans.csv", "has an unknown scheme"),
        ("bq://my-project.beans", "is not a valid BigQuery table id"),
    ],
)
def test_bad_uris_fail_before_anything_runs(kfx_cli, tmp_path, source, words):
    runs = tmp_path / "runs"
    result = kfx_cli("run", "--source", source, "--runs-dir", str(runs))
    assert_one_sentence_error(result, words)
    assert result.returncode == 2
    assert not runs.exists()


def damaged_tables(beans_sample, folder):
    """One file per kind of bad table, and the words its error must carry."""
    text = beans_sample.to_csv(index=False)
    cases = {}
    (folder / "empty.csv").write_text(text.splitlines()[0] + "\n")
    cases["empty.csv"] = "has no rows"
    beans_sample.drop(columns=["Class"]).to_csv(folder / "nolabel.csv", index=False)
    cases["nolabel.csv"] = "Label column 'Class' is not in"
    few = beans_sample.copy()
    few.loc[few.index[:4], "Class"] = "PINTO"
    few.to_csv(folder / "few.csv", index=False)
    cases["few.csv"] = "Class 'PINTO' of 'Class' has 4 row(s)"
    bad = beans_sample.astype({"Perimeter": object})
    bad.loc[5, "Perimeter"] = "n/a?"
    bad.to_csv(folder / "text.csv", index=False)
    cases["text.csv"] = "Column 'Perimeter'"
    (folder / "cut.csv").write_text(text[: len(text) // 3])
    cases["cut.csv"] = "truncated"
    (folder / "cut.csv.gz").write_bytes(gzip.compress(text.encode())[:300])
    cases["cut.csv.gz"] = "is not a readable CSV table"
    (folder / "binary.parquet").write_bytes(os.urandom(4096))
    cases["binary.parquet"] = "is not a readable Parquet table"
    return cases


@pytest.mark.e2e
def test_bad_tables_fail_the_first_step_with_one_sentence(kfx_cli, tmp_path, beans_sample):
    cases = damaged_tables(beans_sample, tmp_path)
    for name, words in cases.items():
        runs = tmp_path / f"runs-{name}"
        result = kfx_cli("run", "--source", str(tmp_path / name), "--runs-dir", str(runs))
        assert_one_sentence_error(result, words)
        assert result.returncode == 2, name
        assert f"{at('import-dataset')} FAILED" in result.stdout, name
        assert "[2/8]" not in result.stdout, name
        (run_dir,) = [p for p in runs.iterdir() if p.is_dir() and p.name != "registry"]
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["status"] == "failed" and summary["failed_step"] == "import-dataset", name
        assert words in summary["error"], name
        # The failed step left no output behind: no split file that could pass for a dataset.
        # (Task outputs live in sub-folders; the run folder itself holds the log, summary and lineage.)
        written = [os.path.join(root, f) for root, _, files in os.walk(run_dir) for f in files if root != str(run_dir)]
        assert written == [], (name, written)
        assert {"pipeline.log", "summary.json"} <= set(os.listdir(run_dir)), name


def test_bad_options_are_one_sentence(kfx_cli, tmp_path):
    result = kfx_cli("run", "--train-fraction", "0.9", "--runs-dir", str(tmp_path / "r"))
    assert_one_sentence_error(result, "must each lie between 0 and 1 and add up to 1")
    result = kfx_cli("run", "--stats-engine", "spark", "--runs-dir", str(tmp_path / "r"))
    assert_one_sentence_error(result, "Unknown statistics engine 'spark'")
    result = kfx_cli("run", "--schema-file", str(tmp_path / "none.pbtxt"), "--runs-dir", str(tmp_path / "r"))
    assert_one_sentence_error(result, "does not exist")
    assert not (tmp_path / "r").exists()


def test_help_lists_the_commands(kfx_cli):
    result = kfx_cli("--help")
    assert result.returncode == 0
    for command in ("run", "compile"):
        assert f"    {command} " in result.stdout
    run_help = kfx_cli("run", "--help").stdout
    assert "--sample-rows N" in run_help
    assert "--label-column LABEL_COLUMN Column holding the class to predict. Defaults to Class." in " ".join(
        run_help.split()
    )
