"""The local model registry under faults: pushes at once, changed or broken versions, wrong references.

Real processes, real files and the real CLI: three pushes that all saw no champion race for the
registry, a registry version's pickle is swapped for one that runs code, its files are lost or
garbled, and each is refused in one sentence that names the version folder.
"""

import json
import os
import pickle
import shutil
import subprocess
import sys
import time

import pytest
from shared_fixtures import shared_by_mutants

from kfx import manifest, model_steps, registry
from kfx.errors import KfxError

FIX = "restore it from a copy you trust, or remove that version folder so the version before it is the newest."


def _train(splits, folder, svm_c):
    model_steps.train(
        splits["train"],
        splits["validation"],
        splits["test"],
        str(folder),
        label_column="Class",
        svm_c=svm_c,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    return str(folder)


@pytest.fixture(scope="module")
def models(sample_splits, tmp_path_factory):
    """Two good models and a clearly worse one (a tiny C), each with its test accuracy on the sample."""
    return shared_by_mutants("three-models", lambda root: _train_three(sample_splits, root), tmp_path_factory)


def _train_three(sample_splits, root):
    from kfx import evaluation

    folders = {
        "good": _train(sample_splits, root / "good", 10.0),
        "also-good": _train(sample_splits, root / "also", 3.0),
        "weak": _train(sample_splits, root / "weak", 0.01),
    }
    accuracy = {
        name: evaluation.evaluate_model(f, sample_splits["test"], 0.0)["accuracy"] for name, f in folders.items()
    }
    assert accuracy["weak"] < min(accuracy["good"], accuracy["also-good"]) - 0.05  # clearly worse
    return folders, accuracy


@pytest.fixture(scope="module")
def pushed(models, sample_splits, tmp_path_factory):
    """A registry holding the good model as beans v1, pushed as a run pushes it."""
    folders, accuracy = models
    reg = tmp_path_factory.mktemp("registry")
    result = model_steps.push_model(folders["good"], str(reg), "beans", {"blessed": True, "accuracy": accuracy["good"]})
    assert result["version"] == 1
    return reg


@pytest.fixture
def copied(pushed, tmp_path):
    """A copy of that registry, to damage."""
    shutil.copytree(pushed, tmp_path / "registry")
    return tmp_path / "registry"


PUSH = """
import json, os, sys, time
from kfx import evaluation as _, model_steps
import joblib, kfx_trainer.task  # loaded before the barrier: after it, only the push runs
model_dir, registry_dir, test_path, go, delay = sys.argv[1:6]
evaluation = {"blessed": True, "accuracy": float(sys.argv[6]), "min_accuracy": 0.05, "accuracy_tolerance": 0.01,
              "reason": "no champion to compare with"}
open(go + "." + str(os.getpid()), "w").close()  # ready
while not os.path.exists(go):
    time.sleep(0.001)
time.sleep(float(delay))
no_champion = {"found": False, "model_name": "beans", "version": "", "uri": "", "reason": "none yet"}
result = model_steps.push_model(model_dir, registry_dir, "beans", evaluation, "", "", no_champion, test_path)
print(json.dumps(result))
"""


def test_concurrent_pushes_that_all_saw_no_champion_never_leave_the_worse_model_newest(models, sample_splits, tmp_path):
    """Three processes, each a run whose find-model saw an empty registry, push at once; the weak one starts
    first, in the middle or last. Whatever the order, the newest version never lost to another pushed one."""
    folders, accuracy = models
    by_bytes = {open(os.path.join(f, "model.joblib"), "rb").read(): name for name, f in folders.items()}
    for repetition, weak_delay in enumerate((0.0, 0.15, 0.6)):
        reg, go = tmp_path / f"registry-{repetition}", tmp_path / f"go-{repetition}"
        delays = {"good": 0.0, "also-good": 0.05, "weak": weak_delay}
        procs = {
            name: subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    PUSH,
                    folders[name],
                    str(reg),
                    sample_splits["test"],
                    str(go),
                    str(delays[name]),
                    str(accuracy[name]),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in folders
        }
        deadline = time.monotonic() + 120
        while len([p for p in tmp_path.iterdir() if p.name.startswith(f"{go.name}.")]) < 3:  # all at the barrier
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs.values())
            time.sleep(0.01)
        go.write_text("")
        results = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            results[name] = json.loads(out.strip().splitlines()[-1])
        versions = registry.list_versions(str(reg), "beans")
        newest = by_bytes[open(reg / "beans" / f"v{versions[-1]}" / "model.joblib", "rb").read()]
        pushed_names = [by_bytes[open(reg / "beans" / f"v{v}" / "model.joblib", "rb").read()] for v in versions]
        assert newest != "weak", (repetition, results)
        assert all(accuracy[newest] >= accuracy[n] - 0.01 for n in pushed_names), (repetition, results)
        if not results["weak"]["pushed"]:
            # One sentence: which version it lost to, that it was pushed while this run ran, and the figures.
            reason = results["weak"]["reason"]
            assert reason.startswith("not pushed: it lost to v") and ", which was pushed while this run ran: " in reason
            assert f"test accuracy {accuracy['weak']:.4f} vs v" in reason and reason.count(". ") == 0
        assert not [n for n in os.listdir(reg / "beans") if n.startswith(".")]  # no staging folder left behind


def test_a_push_that_lost_to_a_version_pushed_meanwhile_says_so_and_leaves_no_folder(models, sample_splits, tmp_path):
    folders, accuracy = models
    reg = str(tmp_path / "registry")
    assert model_steps.push_model(folders["good"], reg, "beans", {"blessed": True})["version"] == 1
    evaluation = {"blessed": True, "accuracy": accuracy["weak"], "min_accuracy": 0.05, "accuracy_tolerance": 0.01}
    result = model_steps.push_model(
        folders["weak"], reg, "beans", evaluation, "", "", {"found": False}, sample_splits["test"]
    )
    assert result == {
        "pushed": False,
        "reason": (
            f"not pushed: it lost to v1, which was pushed while this run ran: test accuracy {accuracy['weak']:.4f} "
            f"vs v1 {accuracy['good']:.4f} on the same rows, more than the tolerance 0.01 below"
        ),
    }
    assert sorted(os.listdir(os.path.join(reg, "beans"))) == ["v1"]
    # The run that compared with v1 already is not compared again: its evaluation decided.
    champion = registry.resolve(reg, "beans")
    assert (
        model_steps.push_model(folders["also-good"], reg, "beans", {"blessed": True}, "", "", champion, "")["version"]
        == 2
    )


def test_a_pushed_version_lists_the_sha256_of_each_of_its_files(pushed):
    from kfx import manifest

    folder = pushed / "beans" / "v1"
    listed = json.loads((folder / "manifest.json").read_text())["files"]
    assert sorted(listed) == ["evaluation.json", "model.joblib", "model_metadata.json"]
    assert listed["model.joblib"] == manifest.sha256((folder / "model.joblib").read_bytes())


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('the pickle ran')",))


def _predict(kfx_cli, registry_dir, runs, table, model="beans"):
    return kfx_cli(
        "predict",
        "--model",
        model,
        "--source",
        table,
        "--registry-dir",
        str(registry_dir),
        "--runs-dir",
        str(runs),
        "--no-record-lineage",
        timeout=300,
    )


def _one_sentence(result, starts):
    assert result.returncode == 2, result.output
    assert "Traceback" not in result.stderr and result.stdout == ""
    line = result.stderr.strip()
    assert line.startswith(f"kfx: error: {starts}") and "\n" not in line, line
    return line


def test_a_swapped_pickle_is_refused_by_predict_before_it_is_loaded(copied, sample_splits, kfx_cli, tmp_path):
    marker = tmp_path / "the-pickle-ran"
    version = copied / "beans" / "v1"
    (version / "model.joblib").write_bytes(pickle.dumps(_RunsCode(str(marker))))
    result = _predict(kfx_cli, copied, tmp_path / "runs", sample_splits["test"])
    assert not marker.exists(), "the swapped pickle was loaded and ran its code"
    line = _one_sentence(result, f"Registry version {version} holds a model.joblib that is not the one pushed")
    assert line.endswith(FIX)
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_a_version_without_a_manifest_is_refused(copied, sample_splits, kfx_cli, tmp_path):
    version = copied / "beans" / "v1"
    (version / "manifest.json").unlink(missing_ok=True)  # as a version pushed by an earlier kfx, or by hand
    result = _predict(kfx_cli, copied, tmp_path / "runs", sample_splits["test"])
    _one_sentence(
        result, f"Registry version {version} has no manifest.json, so nothing says its files are the ones pushed; "
    )


def test_garbage_metadata_names_the_version_even_with_a_matching_manifest(copied, sample_splits, kfx_cli, tmp_path):
    from kfx import manifest

    version = copied / "beans" / "v1"
    (version / "model_metadata.json").write_text("{not json")
    changed = _predict(kfx_cli, copied, tmp_path / "runs", sample_splits["test"])
    _one_sentence(changed, f"Registry version {version} holds a model_metadata.json that is not the one pushed")
    manifest.write_manifest(str(version))  # a hand-made manifest that matches the garbage
    garbage = _predict(kfx_cli, copied, tmp_path / "runs", sample_splits["test"])
    assert _one_sentence(
        garbage, f"Registry version {version} holds a model_metadata.json that is not a model's metadata; "
    ).endswith(FIX)


def test_a_garbage_pickle_with_a_matching_manifest_is_one_sentence(copied, models, sample_splits, tmp_path):
    from kfx import manifest

    version = copied / "beans" / "v1"
    (version / "model.joblib").write_bytes(b"these bytes are no pickle")
    manifest.write_manifest(str(version))
    folders, _ = models
    with pytest.raises(KfxError) as refused:  # evaluate loading it as the champion
        model_steps.evaluate(
            folders["good"],
            sample_splits["test"],
            str(tmp_path / "page.html"),
            0.0,
            registry.resolve(str(copied), "beans"),
            0.01,
            True,
        )
    sentence = str(refused.value)  # the unpickler's own error type in brackets, no traceback
    assert (
        sentence.startswith(f"Registry version {version} holds a model.joblib that does not load (")
        and sentence.endswith(f"Error); {FIX}")
        and sentence.count("; ") == 1
    )


def test_a_lost_model_file_names_the_version_not_a_training_folder(copied, models, sample_splits, kfx_cli, tmp_path):
    version = copied / "beans" / "v1"
    os.remove(version / "model.joblib")
    expected = f"Registry version {version} has lost its model.joblib, which was pushed with it; {FIX}"
    # Where a run's evaluate loads the champion.
    folders, _ = models
    with pytest.raises(KfxError) as refused:
        model_steps.evaluate(
            folders["good"],
            sample_splits["test"],
            str(tmp_path / "page.html"),
            0.0,
            registry.resolve(str(copied), "beans"),
            0.01,
            True,
        )
    assert str(refused.value) == expected
    # And `kfx predict`, before anything runs.
    assert (
        _one_sentence(_predict(kfx_cli, copied, tmp_path / "runs", sample_splits["test"]), "")
        == f"kfx: error: {expected}"
    )


def test_kfx_run_refuses_a_changed_champion_before_it_starts(copied, kfx_cli, tmp_path):
    version = copied / "beans" / "v1"
    os.remove(version / "model.joblib")
    result = kfx_cli(
        "run",
        "--sample-rows",
        "600",
        "--registry-dir",
        str(copied),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--no-record-lineage",
        timeout=300,
    )
    assert (
        _one_sentence(result, "")
        == f"kfx: error: Registry version {version} has lost its model.joblib, which was pushed with it; {FIX}"
    )
    assert not (tmp_path / "runs").exists()


def test_version_zero_says_versions_start_at_one(pushed, sample_splits, kfx_cli, tmp_path):
    result = _predict(kfx_cli, pushed, tmp_path / "runs", sample_splits["test"], model="beans@0")
    assert _one_sentence(result, "") == (
        "kfx: error: Model version '0' in 'beans@0' does not exist: versions "
        "start at 1; pass NAME@1 or a later version, "
        "or NAME@latest."
    )


def test_find_model_checks_every_file_later_steps_read_from_the_champion(copied):
    """find-model's check covers the schema and training statistics validation reads, not only the model:
    a version given a schema after its push is refused there, before any step reads it."""
    version = copied / "beans" / "v1"
    (version / manifest.SCHEMA_FILE).write_text('feature { name: "Area" type: FLOAT }\n')
    champion = registry.resolve(str(copied), "beans")
    with pytest.raises(KfxError) as caught:
        registry.check_compatible(champion, "Class", ["Area"])
    assert str(caught.value) == (
        f"Registry version {version} holds a schema.pbtxt that its manifest.json does not list (it was not pushed "
        f"with it); {FIX}"
    )


def test_the_champion_check_before_a_run_names_the_lost_file_and_passes_an_empty_registry(copied, tmp_path):
    """kfx run calls registry.check_champion before any run folder exists (the CLI test above); here it is called
    as the run calls it, so the sentence is the function's own."""
    registry.check_champion(str(tmp_path / "empty"), "beans")  # no champion: nothing to check
    registry.check_champion(str(copied), "beans")  # an intact champion passes
    version = copied / "beans" / "v1"
    os.remove(version / "model.joblib")
    with pytest.raises(KfxError) as caught:
        registry.check_champion(str(copied), "beans")
    assert str(caught.value) == f"Registry version {version} has lost its model.joblib, which was pushed with it; {FIX}"


def test_a_push_with_no_test_split_to_compare_with_a_version_pushed_meanwhile_is_not_pushed(models, tmp_path):
    folders, _ = models
    reg = str(tmp_path / "registry")
    assert model_steps.push_model(folders["good"], reg, "beans", {"blessed": True})["version"] == 1
    result = model_steps.push_model(folders["weak"], reg, "beans", {"blessed": True}, "", "", {"found": False}, "")
    assert result == {
        "pushed": False,
        "reason": (
            "not pushed: v1 was pushed while this run ran and there is no test split to compare this model "
            "with it; run again to compare it with the new champion"
        ),
    }
    assert sorted(os.listdir(os.path.join(reg, "beans"))) == ["v1"]


def test_the_recheck_keeps_the_evaluations_rule_threshold_tolerance_and_label(models, sample_splits, tmp_path):
    """evaluation.recheck decides as evaluate did: below min_accuracy loses even to a weaker champion; with no
    tolerance recorded there is none; a champion of another label or with a changed file is refused."""
    from kfx import evaluation
    from kfx.errors import RegistryError, SourceError

    folders, accuracy = models
    reg = str(tmp_path / "registry")
    model_steps.push_model(folders["weak"], reg, "beans", {"blessed": True})
    weak = registry.resolve(reg, "beans")
    test = sample_splits["test"]
    assert evaluation.recheck(folders["good"], test, weak, {"min_accuracy": 0.0})[0] is True
    assert evaluation.recheck(folders["good"], test, weak, {"min_accuracy": 0.999})[0] is False
    model_steps.push_model(folders["good"], str(tmp_path / "good"), "beans", {"blessed": True})
    good = registry.resolve(str(tmp_path / "good"), "beans")
    # The weak model is far below the good one: with no tolerance recorded it loses (a default of 0).
    wins, reason = evaluation.recheck(folders["weak"], test, good, {})
    assert wins is False and reason.endswith("more than the tolerance 0 below")
    assert reason.startswith("it lost to v1, which was pushed while this run ran: test accuracy ")
    # The metric the evaluation decided on decides again.
    wins, reason = evaluation.recheck(folders["weak"], test, good, {"metric": "macro_f1"})
    assert wins is False and reason.startswith("it lost to v1, which was pushed while this run ran: test macro-F1 ")
    # A champion whose model file changed since its push is refused, not scored.
    with open(os.path.join(good["uri"], "model.joblib"), "ab") as f:
        f.write(b"\0")
    with pytest.raises(RegistryError, match="model.joblib"):
        evaluation.recheck(folders["weak"], test, good, {})
    # A champion that predicts another column (its manifest written again, so the files agree).
    other = tmp_path / "other" / "beans" / "v1"
    shutil.copytree(weak["uri"], other)
    metadata = json.loads((other / "model_metadata.json").read_text())
    (other / "model_metadata.json").write_text(json.dumps({**metadata, "label_column": "Kind"}))
    os.remove(other / manifest.MANIFEST_FILE)
    manifest.write_manifest(str(other))
    with pytest.raises(SourceError, match="predicts 'Kind', not 'Class'"):
        evaluation.recheck(folders["good"], test, {**weak, "uri": str(other)}, {})


def test_a_version_whose_manifest_was_written_again_without_its_model_is_refused(copied):
    """A model file missing and left out of a manifest made again by hand: the model is required all the same."""
    version = copied / "beans" / "v1"
    (version / "model.joblib").unlink()
    os.remove(version / manifest.MANIFEST_FILE)
    manifest.write_manifest(str(version))
    with pytest.raises(KfxError) as refused:
        manifest.check_version(str(version))
    assert str(refused.value).startswith(f"Registry version {version} has no model.joblib; ")
