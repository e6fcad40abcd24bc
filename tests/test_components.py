"""Each component's body through ``.python_func`` with real artifacts, and its interface."""

import json
import os

import pytest
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Markdown, Metrics, Model

from kfx import components


def artifact(cls, folder, name):
    return cls(name=name, uri=str(folder / name), metadata={})


@pytest.fixture(scope="module")
def chain(beans_sample, tmp_path_factory):
    """Runs the seven component bodies in order, as the pipeline wires them."""
    tmp = tmp_path_factory.mktemp("components")
    src = tmp / "beans.csv"
    beans_sample.to_csv(src, index=False)
    a = {n: artifact(Dataset, tmp, n) for n in ("train_data", "validation_data", "test_data")}
    out = {"import": components.import_dataset.python_func(source=str(src), seed=42, **a)}
    a["statistics"] = artifact(Artifact, tmp, "statistics")
    a["statistics_view"] = artifact(HTML, tmp, "statistics_view")
    out["stats"] = components.generate_statistics.python_func(
        train_data=a["train_data"], validation_data=a["validation_data"], test_data=a["test_data"],
        statistics=a["statistics"], statistics_view=a["statistics_view"],
    )
    a["schema"] = artifact(Artifact, tmp, "schema")
    out["schema"] = components.infer_schema.python_func(statistics=a["statistics"], schema=a["schema"])
    a["anomalies"], a["report"] = artifact(Artifact, tmp, "anomalies"), artifact(Markdown, tmp, "report")
    out["validate"] = components.validate_statistics.python_func(
        statistics=a["statistics"], schema=a["schema"], anomalies=a["anomalies"], report=a["report"]
    )
    a["model"] = artifact(Model, tmp, "model")
    out["train"] = components.train.python_func(
        train_data=a["train_data"], validation_data=a["validation_data"], test_data=a["test_data"], model=a["model"]
    )
    a["metrics"], a["cm"] = artifact(Metrics, tmp, "metrics"), artifact(ClassificationMetrics, tmp, "cm")
    a["view"] = artifact(HTML, tmp, "evaluation_view")
    out["evaluate"] = components.evaluate.python_func(
        model=a["model"], test_data=a["test_data"], metrics=a["metrics"], classification_metrics=a["cm"],
        evaluation_view=a["view"], min_accuracy=0.5,
    )
    a["pushed"] = artifact(Artifact, tmp, "pushed_model")
    out["push"] = components.push_model.python_func(
        model=a["model"], metrics=a["metrics"], schema=a["schema"], blessed=out["evaluate"][0],
        registry_dir=str(tmp / "registry"), pushed_model=a["pushed"],
    )
    return out, a, tmp


def test_import_dataset_writes_three_csv_datasets(chain):
    out, a, _ = chain
    assert out["import"] == (479, 60, 60)
    assert a["train_data"].metadata["rows"] == 479 and a["test_data"].metadata["split"] == "test"
    with open(a["validation_data"].path) as f:
        assert f.readline().startswith("Area,Perimeter") and sum(1 for _ in f) == 60


def test_statistics_schema_and_validation_artifacts(chain):
    out, a, _ = chain
    assert out["stats"] == (17,) and out["schema"] == (17,) and out["validate"] == (0,)
    assert sorted(os.listdir(a["statistics"].path)) == ["Split-test", "Split-train", "Split-validation"]
    assert a["statistics"].metadata["train_rows"] == 479
    assert "facets-overview" in open(a["statistics_view"].path).read()
    assert 'name: "Class"' in open(a["schema"].path).read()
    assert "No anomalies found" in open(a["report"].path).read()
    assert a["anomalies"].metadata["anomalies"] == 0


def test_train_evaluate_push(chain):
    out, a, tmp = chain
    validation_accuracy, test_accuracy = out["train"]
    assert 0.8 < test_accuracy <= 1 and a["model"].metadata["framework"] == "scikit-learn"
    assert os.path.isfile(os.path.join(a["model"].path, "model.joblib"))
    blessed, accuracy, macro_f1 = out["evaluate"]
    assert blessed is True and accuracy == test_accuracy and 0.8 < macro_f1 <= 1
    assert a["metrics"].metadata["accuracy"] == accuracy
    assert len(a["cm"].metadata["confusionMatrix"]["rows"]) == 7
    assert out["push"] == (True, 1)
    record = json.loads(open(a["pushed"].path).read())
    assert record["uri"] == str(tmp / "registry" / "beans" / "v1")


def test_push_refuses_an_unblessed_model(chain, tmp_path):
    _, a, _ = chain
    pushed = artifact(Artifact, tmp_path, "pushed")
    result = components.push_model.python_func(
        model=a["model"], metrics=a["metrics"], schema=a["schema"], blessed=False,
        registry_dir=str(tmp_path / "registry"), pushed_model=pushed,
    )
    assert result == (False, 0)
    assert pushed.metadata["reason"].startswith("not blessed: test accuracy")
    assert not os.path.exists(tmp_path / "registry" / "beans" / "v1")


def test_components_install_nothing_and_take_their_image_from_the_pipeline():
    for name in ("import_dataset", "generate_statistics", "infer_schema", "validate_statistics", "train", "evaluate",
                 "push_model"):
        container = getattr(components, name).component_spec.implementation.container
        assert "pip install" not in " ".join(container.command), name
        assert "kfx import steps" in container.command[-1], name


def test_import_kfx_components_cli_and_lineage_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, kfx.components, kfx.cli, kfx.lineage, kfx.lineage.recorder; kfx.cli.build_parser();"
        "print(sorted(m for m in ('tensorflow','tensorflow_data_validation','pandas','sklearn','matplotlib',"
        "'google.cloud.aiplatform','apache_beam','ml_metadata','networkx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
