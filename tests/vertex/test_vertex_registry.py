"""The Vertex AI Model Registry as kfx's registry: the champion lookup and the push.

Vertex AI cannot be reached here. The real ``aiplatform.Model`` runs over conftest's
``FakeModelRegistry``, which answers the gapic ``ModelServiceClient`` RPCs (the network
edge: list, get, upload, import evaluation) as the service does, first version default
included, and records every request. Version folders are written to the loopback GCS-API
server with kfx.storage.
"""

from __future__ import annotations

import json

import pytest
from kfp.dsl import ClassificationMetrics

from kfx import storage
from kfx.errors import SourceError
from kfx.vertex import registry

PROJECT, REGION = "kfx-test-project", "europe-west4"
CLASSES = ["BOMBAY", "SEKER", "SIRA"]
MATRIX = [[5, 0, 0], [0, 9, 1], [0, 2, 8]]


@pytest.fixture
def run_outputs(gcs_bucket):
    """What the steps before the push wrote on gs://: the model folder, the schema, the statistics."""
    root = f"{gcs_bucket}/pipeline_root/123/kfx-beans1-run"
    files = {
        f"{root}/custom-training-job_1/model/model.joblib": b"joblib bytes",
        f"{root}/custom-training-job_1/model/model_metadata.json": b'{"features": ["Area"], "label_column": "Class"}',
        f"{root}/infer-schema_2/schema": b'feature { name: "Area" type: FLOAT }\n',
        f"{root}/generate-statistics-bq_3/statistics/Split-train/stats.tfrecord": b"train statistics",
        f"{root}/generate-statistics-bq_3/statistics/Split-eval/stats.tfrecord": b"eval statistics",
    }
    for uri, data in files.items():
        storage.write_bytes(uri, data)
    return {
        "root": root,
        "model": f"{root}/custom-training-job_1/model",
        "schema": f"{root}/infer-schema_2/schema",
        "statistics": f"{root}/generate-statistics-bq_3/statistics",
        "files": files,
    }


def _classification_metrics() -> dict:
    metrics = ClassificationMetrics(uri="unused")
    metrics.log_confusion_matrix(CLASSES, MATRIX)
    return dict(metrics.metadata)


def _push(run_outputs, name: str, accuracy: float, blessed: bool, folder: str = "push-1", champion=None):
    evaluation = registry.evaluation_record(
        {"accuracy": accuracy, "macro_f1": accuracy - 0.01, "rows": 25.0, "min_accuracy": 0.9}, blessed, champion
    )
    return registry.push_version(
        PROJECT,
        REGION,
        name,
        f"{run_outputs['root']}/{folder}/model_version",
        run_outputs["model"],
        evaluation,
        _classification_metrics(),
        run_outputs["schema"],
        run_outputs["statistics"],
        "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest",
    )


def test_no_model_of_that_name_means_no_champion_and_says_why(model_registry):
    model_registry.add_model("wine", [{"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/wine/v1"}])
    assert registry.find_champion(PROJECT, REGION, "beans1") == {
        "found": False,
        "model_name": "beans1",
        "version": "",
        "uri": "",
        "reason": "the Model Registry of kfx-test-project in europe-west4 holds no model named 'beans1'",
    }
    assert model_registry.calls("list_models") == [
        {
            "parent": f"projects/{PROJECT}/locations/{REGION}",
            "filter": 'display_name="beans1"',
            "order_by": "create_time desc",
        }
    ]


def test_the_champion_is_the_blessed_default_version_of_the_newest_model_of_that_name(model_registry):
    model_registry.add_model("beans1", [{"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/old/v1"}])
    newest = model_registry.add_model(
        "beans1",
        [
            {"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/beans1/v1/"},
            {"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/beans1/v2"},
            {"labels": {"kfx_blessed": "false"}, "artifact_uri": "gs://b/beans1/v3"},
        ],
        default="2",
    )
    assert registry.find_champion(PROJECT, REGION, "beans1") == {
        "found": True,
        "model_name": "beans1",
        "version": "2",
        "uri": "gs://b/beans1/v2",
        "reason": "",
    }
    # The version is asked for by its alias: whichever version holds it when the step runs.
    assert model_registry.calls("get_model") == [f"{newest}@default"]


def test_a_default_version_not_labelled_blessed_is_no_champion(model_registry):
    """A model whose first version an older kfx made the default whatever its evaluation."""
    name = model_registry.add_model("beans1", [{"labels": {"kfx_blessed": "false"}, "artifact_uri": "gs://b/v1"}])
    found = registry.find_champion(PROJECT, REGION, "beans1")
    assert (found["found"], found["uri"]) == (False, "")
    assert found["reason"] == f"the default version 1 of model 'beans1' ({name}) is not labelled kfx_blessed=true"


def test_a_first_blessed_model_starts_the_model_as_its_default_with_its_files_and_evaluation(
    model_registry, run_outputs
):
    pushed = _push(run_outputs, "beans1", 0.93, blessed=True)
    (model_name,) = model_registry.models
    folder = f"{run_outputs['root']}/push-1/model_version"
    assert pushed == {
        "pushed": True,
        "blessed": True,
        "default": True,
        "model_name": "beans1",
        "version": "1",
        "uri": folder,
        "resource_name": f"{model_name}@1",
        "evaluation": f"{model_name}/evaluations/900",
        "reason": "",
    }
    (upload,) = model_registry.calls("upload_model")
    assert upload.parent_model == "" and upload.parent == f"projects/{PROJECT}/locations/{REGION}"
    sent = upload.model
    assert (sent.display_name, sent.artifact_uri, list(sent.version_aliases)) == ("beans1", folder, ["default"])
    assert dict(sent.labels) == {"kfx_blessed": "true", "kfx_accuracy": "0_9300"}
    assert sent.container_spec.image_uri == "europe-docker.pkg.dev/vertex-ai/prediction/sklearn-cpu.1-5:latest"
    assert sent.version_description == "blessed: test accuracy 0.9300 >= min_accuracy 0.9"
    # The version folder holds the contract's files: the model, the schema, the training statistics, the evaluation.
    files = run_outputs["files"]
    assert storage.read_bytes(f"{folder}/model.joblib") == files[f"{run_outputs['model']}/model.joblib"]
    assert storage.read_bytes(f"{folder}/model_metadata.json") == files[f"{run_outputs['model']}/model_metadata.json"]
    assert storage.read_bytes(f"{folder}/schema.pbtxt") == files[run_outputs["schema"]]
    assert storage.read_bytes(f"{folder}/statistics/Split-train/stats.tfrecord") == b"train statistics"
    assert storage.expand(f"{folder}/*") == [
        f"{folder}/{n}"
        for n in (
            "evaluation.json",
            "model.joblib",
            "model_metadata.json",
            "schema.pbtxt",
            "statistics/Split-train/stats.tfrecord",
        )
    ]
    assert json.loads(storage.read_text(f"{folder}/evaluation.json")) == {
        "accuracy": 0.93,
        "macro_f1": pytest.approx(0.92),
        "rows": 25.0,
        "min_accuracy": 0.9,
        "blessed": True,
    }
    # The champion lookup of the next run finds this version and its folder.
    assert registry.find_champion(PROJECT, REGION, "beans1") == {
        "found": True,
        "model_name": "beans1",
        "version": "1",
        "uri": folder,
        "reason": "",
    }


def test_the_evaluation_is_imported_for_the_uploaded_version_in_the_classification_schema(model_registry, run_outputs):
    champion = {"found": True, "model_name": "beans1", "version": "1", "uri": "gs://b/beans1/v1", "reason": ""}
    model = model_registry.add_model(
        "beans1", [{"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/beans1/v1"}]
    )
    _push(run_outputs, "beans1", 0.95, blessed=True, champion=champion)
    ((parent, evaluation),) = model_registry.evaluations
    assert parent == f"{model}@2"  # the version, not the model
    assert evaluation.display_name == "beans1-v2"
    assert evaluation.metrics_schema_uri == (
        "gs://google-cloud-aiplatform/schema/modelevaluation/classification_metrics_1.0.0.yaml"
    )
    metrics = json.loads(type(evaluation).to_json(evaluation))["metrics"]
    assert metrics["confusionMatrix"] == {
        "annotationSpecs": [{"displayName": c} for c in CLASSES],
        "rows": [[float(v) for v in row] for row in MATRIX],
    }
    (confidence,) = metrics["confidenceMetrics"]
    assert confidence["precisionAt1"] == confidence["recallAt1"] == 0.95
    assert confidence["f1ScoreMacro"] == pytest.approx(0.94)
    kfx = json.loads(type(evaluation).to_json(evaluation))["metadata"]["kfx"]
    assert kfx["blessed"] is True and kfx["accuracy"] == 0.95
    assert kfx["champion"] == {"model_name": "beans1", "version": "1", "uri": "gs://b/beans1/v1"}


def test_a_first_model_that_is_not_blessed_is_not_uploaded_and_writes_nothing(model_registry, run_outputs):
    pushed = _push(run_outputs, "beans1", 0.5, blessed=False)
    assert pushed["pushed"] is False and pushed["version"] == "" and pushed["uri"] == ""
    assert pushed["reason"] == (
        "not blessed: test accuracy 0.5000 is below min_accuracy 0.9; the Model Registry holds no model named 'beans1' "
        "yet, and Vertex AI makes a new model's first version its default, so only a blessed model starts one"
    )
    assert (
        model_registry.calls("upload_model") == [] and model_registry.evaluations == [] and model_registry.models == {}
    )
    assert storage.expand(f"{run_outputs['root']}/push-1/*") == []


def test_an_unblessed_model_becomes_a_version_without_the_default_alias(model_registry, run_outputs):
    model = model_registry.add_model("beans1", [{"labels": {"kfx_blessed": "true"}, "artifact_uri": "gs://b/v1"}])
    pushed = _push(run_outputs, "beans1", 0.85, blessed=False)
    assert (pushed["pushed"], pushed["default"], pushed["version"]) == (True, False, "2")
    assert (
        pushed["reason"]
        == "not blessed: test accuracy 0.8500 is below min_accuracy 0.9; kept as a version without the default alias"
    )
    (upload,) = model_registry.calls("upload_model")
    assert upload.parent_model == model and list(upload.model.version_aliases) == []
    assert dict(upload.model.labels) == {"kfx_blessed": "false", "kfx_accuracy": "0_8500"}
    assert model_registry.default(model) == "1"  # the champion stays
    assert len(model_registry.evaluations) == 1  # an uploaded version has its evaluation, blessed or not


def test_runs_in_turn_move_the_default_only_to_blessed_versions(model_registry, run_outputs):
    """Four runs through the same registry: unblessed first, blessed, unblessed, blessed."""
    outcomes = []
    for i, (accuracy, blessed) in enumerate(((0.6, False), (0.93, True), (0.91, False), (0.95, True)), start=1):
        pushed = _push(run_outputs, "beans1", accuracy, blessed, folder=f"push-{i}")
        champion = registry.find_champion(PROJECT, REGION, "beans1")
        folder = champion["uri"].split("/")[-2] if champion["found"] else ""  # .../push-N/model_version
        outcomes.append((pushed["version"], pushed["default"], champion["version"], folder))
    assert outcomes == [
        ("", False, "", ""),
        ("1", True, "1", "push-2"),
        ("2", False, "1", "push-2"),
        ("3", True, "3", "push-4"),
    ]
    (model,) = model_registry.models
    assert [dict(v.labels)["kfx_blessed"] for v in model_registry.models[model]] == ["true", "false", "true"]


def test_a_missing_input_stops_the_push_before_anything_is_written_or_uploaded(model_registry, run_outputs):
    storage_uri = f"{run_outputs['root']}/generate-statistics-bq_3/none"
    run_outputs["statistics"] = storage_uri
    with pytest.raises(
        SourceError, match=r"Split-train/stats.tfrecord' does not exist; check the bucket and object path\.$"
    ):
        _push(run_outputs, "beans1", 0.93, blessed=True)
    assert storage.expand(f"{run_outputs['root']}/push-1/*") == []
    assert model_registry.calls("upload_model") == []


def test_evaluation_request_is_plain_data():
    request = registry.evaluation_request(
        "beans1-v4", {"accuracy": 0.9, "macro_f1": 0.8, "blessed": True}, ["a", "b"], [[1, 0], [2, 3]]
    )
    assert request["metrics"]["confusionMatrix"] == {
        "annotationSpecs": [{"displayName": "a"}, {"displayName": "b"}],
        "rows": [[1, 0], [2, 3]],
    }
    assert request["metadata"] == {"kfx": {"accuracy": 0.9, "macro_f1": 0.8, "blessed": True}}
    assert registry.confusion_matrix(
        {"confusionMatrix": {"annotationSpecs": [{"displayName": "a"}], "rows": [{"row": [4]}]}}
    ) == (["a"], [[4]])
