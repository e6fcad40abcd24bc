"""A team's own trainer (``kfx run --trainer``) and the model contract (docs/model-contract.md).

Real processes throughout: the team's package is a folder of its own with Vertex AI's usual
layout (``trainer/task.py``), kfx runs from that folder, and its model folder is held to the
contract by evaluate, the serving check and the push.
"""

import json
import os
import subprocess
import sys
import textwrap

import joblib
import pandas as pd
import pytest

from kfx import errors, model_steps

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVING_ENV = os.path.join(REPO, ".kfx", "serving-env")

TEAM_TASK = textwrap.dedent(
    '''
    """A team's trainer: python -m trainer.task --label-column LABEL [--max-iter N]."""
    import argparse, json, os, sys

    import joblib
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parser = argparse.ArgumentParser()
    parser.add_argument("--label-column", required=True)
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()
    names = {"train": "TRAINING", "validation": "VALIDATION", "test": "TEST"}
    frames = {split: pd.read_csv(os.environ[f"AIP_{name}_DATA_URI"]) for split, name in names.items()}
    label = args.label_column
    features = [c for c in frames["train"].columns if c != label]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=args.max_iter))
    model.fit(frames["train"][features].to_numpy(dtype=float), frames["train"][label])
    out = os.environ["AIP_MODEL_DIR"]
    os.makedirs(out, exist_ok=True)
    metadata = {
        "contract_version": 1,
        "task": "classification",
        "label_column": label,
        "features": features,
        "classes": [str(c) for c in model.classes_],
        "model": {"estimator": "logistic_regression", "max_iter": args.max_iter, "argv": sys.argv[1:]},
    }
    accuracy = {s: {"accuracy": model.score(frames[s][features].to_numpy(dtype=float), frames[s][label])}
                for s in ("validation", "test")}
    json.dump(metadata, open(os.path.join(out, "model_metadata.json"), "w"))
    json.dump(accuracy, open(os.path.join(out, "metrics.json"), "w"))
    joblib.dump(model, os.path.join(out, "model.joblib"))
    '''
)


def _team(folder, task_source=TEAM_TASK, package="trainer"):
    """A team's project folder holding its own ``PACKAGE/task.py``."""
    os.makedirs(folder / package, exist_ok=True)
    (folder / package / "__init__.py").write_text("")
    (folder / package / "task.py").write_text(task_source)
    return folder


def _kfx(cwd, *args, timeout=600):
    """``python -m kfx ARGS`` run from ``cwd``, as a team runs it from its project folder."""
    return subprocess.run(
        [sys.executable, "-m", "kfx", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _run_options(tmp_path, name):
    return (
        "--sample-rows", "600",
        "--runs-dir", str(tmp_path / f"runs-{name}"),
        "--registry-dir", str(tmp_path / f"registry-{name}"),
        "--serving-env", SERVING_ENV,
        "--min-accuracy", "0.5",
    )  # fmt: skip


def _summary(tmp_path, name):
    """The summary.json of the one run in the runs folder of ``name``."""
    (path,) = (tmp_path / f"runs-{name}").glob("*/summary.json")
    return json.loads(path.read_text())


@pytest.mark.e2e
def test_a_teams_trainer_package_trains_and_kfx_evaluates_and_pushes_its_model(tmp_path):
    team = _team(tmp_path / "team")
    done = _kfx(team, "run", "--trainer", "trainer.task", "--trainer-arg", "max-iter=500", *_run_options(tmp_path, "t"))
    assert done.returncode == 0, done.stderr[-2000:]
    summary = _summary(tmp_path, "t")
    assert summary["status"] == "complete"
    assert "trainer     logistic_regression (--trainer trainer.task)" in done.stdout
    assert summary["model"]["trainer"] == "trainer.task" and summary["model"]["estimator"] == "logistic_regression"
    assert summary["model"]["blessed"] is True and summary["push"]["version"] == 1
    pushed = json.loads((tmp_path / "registry-t" / "beans" / "v1" / "model_metadata.json").read_text())
    # --trainer-arg max-iter=500 reached the team's parser as --max-iter 500, after the label.
    assert pushed["model"]["argv"] == ["--label-column", "Class", "--max-iter", "500"]
    assert pushed["model"]["max_iter"] == 500 and pushed["contract_version"] == 1


@pytest.mark.e2e
def test_without_trainer_the_bundled_trainer_runs_even_beside_a_teams_trainer_package(tmp_path):
    team = _team(tmp_path / "team")
    done = _kfx(team, "run", *_run_options(tmp_path, "b"))
    assert done.returncode == 0, done.stderr[-2000:]
    summary = _summary(tmp_path, "b")
    assert summary["status"] == "complete" and summary["model"]["estimator"] == "svc"
    assert summary["push"]["version"] == 1
    pushed = json.loads((tmp_path / "registry-b" / "beans" / "v1" / "model_metadata.json").read_text())
    assert pushed["model"]["class"] == "sklearn.svm.SVC" and pushed["contract_version"] == 1


def test_a_trainer_module_that_is_not_there_is_one_sentence_before_anything_runs(tmp_path):
    done = _kfx(tmp_path, "run", "--trainer", "trainer.task", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert done.stderr == (
        f"kfx: error: The trainer module 'trainer.task' cannot be found from {str(tmp_path)!r} (no 'trainer' package "
        "or module there or on PYTHONPATH); run kfx from the folder that holds its package, or add that folder to "
        "PYTHONPATH.\n"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "option, sentence",
    [
        (
            ["--trainer", "trainer/task.py"],
            "--trainer 'trainer/task.py' is not a Python module name; pass PACKAGE.MODULE as python -m takes it, "
            "such as trainer.task, from the folder that holds the package.",
        ),
        (
            ["--trainer-arg", "epochs"],
            "--trainer-arg 'epochs' is not KEY=VALUE; pass one such as --trainer-arg epochs=10.",
        ),
    ],
)
def test_a_malformed_trainer_option_is_one_sentence(tmp_path, option, sentence):
    done = _kfx(tmp_path, "run", *option, "--runs-dir", str(tmp_path / "runs"))
    assert (done.returncode, done.stderr) == (2, f"kfx: error: {sentence}\n")


def _train_team(sample_splits, tmp_path, monkeypatch, source, module="badtrainer.task", args=()):
    """model_steps.run_trainer with a team's module from a folder of its own (the train step's own call)."""
    _team(tmp_path / "team", textwrap.dedent(source), package=module.split(".")[0])
    monkeypatch.chdir(tmp_path / "team")
    splits = (sample_splits["train"], sample_splits["validation"], sample_splits["test"])
    model_dir = str(tmp_path / "model")
    return model_dir, model_steps.run_trainer(*splits, model_dir, module, list(args), label_column="Class")


def test_a_trainer_that_fails_is_one_sentence_with_its_exit_code_and_last_error(sample_splits, tmp_path, monkeypatch):
    source = """
        import sys
        raise ValueError(f"no column named {sys.argv[2]}")
    """
    with pytest.raises(errors.TrainerError) as raised:
        _train_team(sample_splits, tmp_path, monkeypatch, source)
    assert str(raised.value) == (
        "The trainer module 'badtrainer.task' exited with code 1 (ValueError: no column named Class); fix the "
        "trainer, whose whole output is in the train step's log."
    )


def test_a_trainer_that_writes_no_model_is_one_sentence_naming_the_folder(sample_splits, tmp_path, monkeypatch):
    with pytest.raises(errors.TrainerError) as raised:
        _train_team(sample_splits, tmp_path, monkeypatch, "print('trained, I think')\n")
    assert str(raised.value) == (
        f"The trainer module 'badtrainer.task' ended without writing model.joblib into AIP_MODEL_DIR "
        f"({tmp_path / 'model'}); have it write model.joblib and model_metadata.json there (see "
        "docs/model-contract.md)."
    )


def test_a_trainer_whose_metadata_lacks_the_features_is_one_sentence(sample_splits, tmp_path, monkeypatch):
    source = """
        import json, os
        out = os.environ["AIP_MODEL_DIR"]
        os.makedirs(out)
        open(os.path.join(out, "model.joblib"), "wb").write(b"not a model")
        json.dump({"label_column": "Class", "classes": ["A"]}, open(os.path.join(out, "model_metadata.json"), "w"))
    """
    with pytest.raises(errors.SourceError) as raised:
        _train_team(sample_splits, tmp_path, monkeypatch, source)
    assert str(raised.value) == (
        f"model_metadata.json in {str(tmp_path / 'model')!r} lacks 'features'; have the trainer write "
        "label_column, features, classes there (see docs/model-contract.md)."
    )


@pytest.fixture(scope="module")
def team_model(sample_splits, tmp_path_factory):
    """A model folder as a team's trainer might leave it: a scikit-learn model and its metadata."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(sample_splits["train"])
    features = [c for c in frame.columns if c != "Class"]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        frame[features].to_numpy(dtype=float), frame["Class"]
    )
    folder = tmp_path_factory.mktemp("team-model")
    joblib.dump(model, folder / "model.joblib")
    metadata = {"label_column": "Class", "features": features, "classes": [str(c) for c in model.classes_]}
    return folder, metadata


def _with_metadata(team_model, tmp_path, **changes):
    folder, metadata = team_model
    copy = tmp_path / "model"
    copy.mkdir()
    (copy / "model.joblib").write_bytes((folder / "model.joblib").read_bytes())
    written = {k: v for k, v in {**metadata, **changes}.items() if v is not None}
    (copy / "model_metadata.json").write_text(json.dumps(written))
    return str(copy)


def test_evaluate_refuses_a_model_folder_without_classes_in_one_sentence(team_model, sample_splits, tmp_path):
    model_dir = _with_metadata(team_model, tmp_path, classes=None)
    with pytest.raises(errors.SourceError) as raised:
        model_steps.evaluate(model_dir, sample_splits["test"], str(tmp_path / "e.html"), 0.5, None, 0.01, True)
    assert str(raised.value) == (
        f"model_metadata.json in {model_dir!r} lacks 'classes'; have the trainer write label_column, features, "
        "classes there (see docs/model-contract.md)."
    )


def test_evaluate_scores_a_team_model_that_honours_the_contract(team_model, sample_splits, tmp_path):
    model_dir = _with_metadata(team_model, tmp_path)
    result = model_steps.evaluate(model_dir, sample_splits["test"], str(tmp_path / "e.html"), 0.5, None, 0.01, True)
    assert result["rows"] == 60 and result["accuracy"] > 0.5 and result["blessed"] is True


def test_the_serving_check_refuses_a_model_of_a_newer_contract_before_making_anything(team_model, tmp_path):
    model_dir = _with_metadata(team_model, tmp_path, contract_version=2)
    with pytest.raises(errors.SourceError) as raised:
        model_steps.check_serving(
            model_dir, "unused.csv", str(tmp_path / "r.json"), str(tmp_path / "s.json"), str(tmp_path / "env")
        )
    assert str(raised.value) == (
        f"model_metadata.json in {model_dir!r} says contract_version 2, and this kfx reads model contract versions "
        "1 to 1; write contract_version 1 or upgrade kfx (see docs/model-contract.md)."
    )
    assert not (tmp_path / "env").exists()


def test_push_refuses_a_model_folder_without_its_metadata_file(team_model, tmp_path):
    folder, _ = team_model
    with pytest.raises(errors.SourceError) as raised:
        model_steps.push_model(str(folder), str(tmp_path / "registry"), "beans", {"blessed": True, "accuracy": 1.0})
    assert str(raised.value) == (
        f"The model folder {str(folder)!r} holds no model_metadata.json; pass the folder a training run wrote, whose "
        "trainer writes model.joblib and model_metadata.json into AIP_MODEL_DIR (see docs/model-contract.md)."
    )
    assert not (tmp_path / "registry").exists()
