"""The same lineage questions read from Vertex ML Metadata.

Only the client edge is replaced: ``aiplatform_v1.MetadataServiceClient`` is
patched with a small in-memory service that answers with real ``aiplatform_v1``
messages. The runs it holds are made from the vertex pipeline kfx compiles: one
execution per task of the IR YAML, named by the task's display name, one artifact
per output key with the IR's artifact type, input events wherever the IR wires an
output into a task, and the run and sub-DAG executions Vertex AI Pipelines records
around them (``system.Run``, ``system.DagExecution``). What each artifact carries is
what the component writes into its metadata. Everything from there on is kfx's own code.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from google.api_core import exceptions
from google.cloud import aiplatform_v1 as v1

import kfx.lineage as lineage
from kfx.config import Config
from kfx.lineage.errors import LineageError

PROJECT, REGION, NUMBER = "kfx-test-project", "europe-west4", "123456789"
STORE = f"projects/{PROJECT}/locations/{REGION}/metadataStores/default"
BQ_SOURCE = f"bq://{PROJECT}.beans.beans1"
API = f"https://{REGION}-aiplatform.googleapis.com/v1"


def _compiled_config() -> Config:
    """The config the vertex pipeline of these runs is compiled for."""
    return Config(
        target="vertex",
        project_id=PROJECT,
        region=REGION,
        bucket="gs://kfx-test-bucket",
        bq_source=BQ_SOURCE,
        recipients=["ml-team@example.com"],
        image=f"{REGION}-docker.pkg.dev/{PROJECT}/kfx/kfx:1.2.3",
        training_image=f"{REGION}-docker.pkg.dev/{PROJECT}/kfx/kfx-trainer:1.2.3",
        beam_runner="DataflowRunner",
    )


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    """The compiled vertex pipeline (KFP IR YAML) as a dict."""
    from kfx.pipelines import compile_pipeline

    path = compile_pipeline(_compiled_config(), str(tmp_path_factory.mktemp("ir") / "vertex.yaml"))
    with open(path) as f:
        return yaml.safe_load(f)


def _ts(minute: float) -> dt.datetime:
    return dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minute)


def ir_tasks(spec: dict, arguments: dict) -> tuple[dict, dict]:
    """The IR's container tasks and sub-DAGs, each with its inputs resolved to pipeline values or producers.

    Args:
        spec: The IR.
        arguments: Pipeline parameters given when the run was submitted (the rest keep their defaults).

    Returns:
        ``(tasks, dags)``; a task is ``{"name", "component", "parameters": {name: value or (task, key)},
        "artifacts": {name: (task, key)}, "outputs": {key: schema title}, "output_parameters": [keys]}``.
    """
    defaults = {k: v.get("defaultValue") for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
    assert set(arguments) <= set(defaults)
    tasks, dags = {}, {}

    def walk(dag: dict, parameters: dict, artifacts: dict) -> None:
        for key, task in dag["tasks"].items():
            inputs = task.get("inputs", {})
            params = {}
            for name, value in inputs.get("parameters", {}).items():
                if "runtimeValue" in value:
                    params[name] = value["runtimeValue"]["constant"]
                elif "componentInputParameter" in value:
                    params[name] = parameters[value["componentInputParameter"]]
                elif "taskOutputParameter" in value:
                    out = value["taskOutputParameter"]
                    params[name] = (out["producerTask"], out["outputParameterKey"])
                elif "taskFinalStatus" in value:
                    params[name] = "final status"
            arts = {}
            for name, value in inputs.get("artifacts", {}).items():
                if "taskOutputArtifact" in value:
                    out = value["taskOutputArtifact"]
                    arts[name] = (out["producerTask"], out["outputArtifactKey"])
                else:
                    arts[name] = artifacts[value["componentInputArtifact"]]
            component = spec["components"][task["componentRef"]["name"]]
            if "dag" in component:
                dags[key] = {"name": task["taskInfo"]["name"], "parameters": params}
                walk(component["dag"], params, arts)
            else:
                outputs = component.get("outputDefinitions", {})
                tasks[key] = {
                    "name": task["taskInfo"]["name"],
                    "component": task["componentRef"]["name"],
                    "parameters": params,
                    "artifacts": arts,
                    "outputs": {k: v["artifactType"]["schemaTitle"] for k, v in outputs.get("artifacts", {}).items()},
                    "output_parameters": list(outputs.get("parameters", {})),
                }

    walk(spec["root"]["dag"], {**defaults, **arguments}, {})
    return tasks, dags


def written(job: str, accuracy: float, n: int) -> dict:
    """What each component writes, per (task, output key): output values, and artifact uri and metadata
    as the component bodies in kfx/components set them (GCPC's dataset op writes its resourceName)."""
    dataset = f"projects/{NUMBER}/locations/{REGION}/datasets/70{n}"
    model = f"projects/{NUMBER}/locations/{REGION}/models/80{n}"
    test_uri = f"bq://{PROJECT}.dataset_beans_{n}.test"
    metrics = {
        "accuracy": accuracy,
        "macro_f1": accuracy - 0.02,
        "rows": 1362.0,
        "min_accuracy": 0.9,
        "accuracy_tolerance": 0.01,
        "blessed": accuracy >= 0.9,
        "precision_SEKER": 0.95,
        "recall_SEKER": 0.94,
    }
    if n > 1:  # evaluate scores the champion too, and logs it
        metrics.update(champion_version=n - 1, champion_accuracy=0.9)
    champion = {
        "found": n > 1,
        "model_name": "beans1",
        "version": str(n - 1) if n > 1 else "",
        "uri": f"gs://kfx-test-bucket/pipeline_root/{NUMBER}/run-{n - 1}/model_version" if n > 1 else "",
        "reason": "" if n > 1 else "no model named 'beans1'",
    }
    folder = f"gs://kfx-test-bucket/pipeline_root/{NUMBER}/{job}/push-vertex-model_{n}/model_version"
    return {
        ("tabular-dataset-create", "dataset"): (f"{API}/{dataset}", {"resourceName": dataset}),
        ("find-vertex-model", "registered_model"): (None, champion),
        ("find-vertex-model", "found"): champion["found"],
        ("generate-statistics-bq", "statistics"): (
            None,
            {
                "source": BQ_SOURCE,
                "train_rows": 10889.0,
                "validation_rows": 1360.0,
                "test_rows": 1362.0,
                "features": 17.0,
                "engine": "dataflow",
            },
        ),
        ("generate-statistics-bq", "statistics_view"): (None, {}),
        ("generate-statistics-bq", "features"): 17,
        ("infer-schema", "schema"): (None, {"schema_file": "", "features": 17.0, "curated": False}),
        ("infer-schema", "features"): 17,
        ("validate-statistics", "anomalies"): (None, {"anomalies": 0.0, "skew_threshold": 0.15, "features": []}),
        ("validate-statistics", "report"): (None, {}),
        ("validate-statistics", "anomalies_count"): 0,
        ("custom-training-job", "model"): (
            f"gs://kfx-test-bucket/aiplatform-custom-training-{job}/model",
            {"framework": "scikit-learn", "file": "model.joblib", "label_column": "Class"},
        ),
        ("custom-training-job", "test_data"): (
            None,
            {"split": "test", "format": "csv", "label_column": "Class", "rows": 1362.0, "source": test_uri},
        ),
        ("custom-training-job", "test_data_uri"): test_uri,
        ("prepare-serving-check", "serving_request"): (
            None,
            {"rows": 1362.0, "features": 16.0, "format": "vertex-ai-prediction-request"},
        ),
        ("prepare-serving-check", "expected_predictions"): (None, {"rows": 1362.0}),
        ("prepare-serving-check", "rows"): 1362,
        ("check-serving-image", "serving_check"): (None, {}),  # a container task writes no metadata
        ("check-serving-image", "serving_ok"): True,
        ("evaluate", "metrics"): (None, metrics),
        ("evaluate", "classification_metrics"): (None, {}),
        ("evaluate", "evaluation_view"): (None, {}),
        ("evaluate", "blessed"): accuracy >= 0.9,
        ("evaluate", "accuracy"): accuracy,
        ("evaluate", "macro_f1"): accuracy - 0.02,
        (
            "evaluate",
            "reason",
        ): f"test accuracy {accuracy:.4f} {'>=' if accuracy >= 0.9 else 'is below'} min_accuracy 0.9",
        ("push-vertex-model", "pushed_model"): (
            None,
            {
                "pushed": True,
                "blessed": accuracy >= 0.9,
                "default": accuracy >= 0.9,
                "model_name": "beans1",
                "version": str(n),
                "uri": folder,
                "resource_name": f"{model}@{n}",
                "evaluation": f"{model}/evaluations/{n}",
                "reason": "",
            },
        ),
        ("push-vertex-model", "vertex_model"): (f"{API}/{model}@{n}", {"resourceName": f"{model}@{n}"}),
        ("push-vertex-model", "pushed"): True,
        ("push-vertex-model", "version"): str(n),
    }


# Tasks in the order Vertex AI starts them; sub-DAG executions start before the tasks inside them.
ORDER = (
    "exit-handler-1",
    "tabular-dataset-create",
    "find-vertex-model",
    "generate-statistics-bq",
    "infer-schema",
    "validate-statistics",
    "custom-training-job",
    "prepare-serving-check",
    "check-serving-image",
    "evaluate",
    "push-vertex-model",
    "vertex-pipelines-notification-email",
)


def vertex_run(spec: dict, job: str, minute: int, svm_c: float, accuracy: float, n: int, fail: str = ""):
    """The context and lineage subgraph Vertex ML Metadata holds for one run of the compiled pipeline.

    Args:
        fail: The task (IR key) that fails; the tasks after it inside the exit handler never start.
    """
    tasks, dags = ir_tasks(spec, {"svm_c": svm_c})
    assert set(ORDER) == set(tasks) | set(dags), "the fake's task order must name every task of the IR"
    values = written(job, accuracy, n)
    state = {True: v1.Execution.State.FAILED, False: v1.Execution.State.COMPLETE}
    artifacts, executions, events = {}, [], []
    run_failed = False
    for i, key in enumerate(ORDER):
        if run_failed and key not in ("exit-handler-1", "vertex-pipelines-notification-email"):
            continue
        name = f"{STORE}/executions/{job}-{i}"
        if key in dags:
            params = {f"input:{k}": v for k, v in dags[key]["parameters"].items() if not isinstance(v, tuple)}
            executions.append(
                v1.Execution(
                    name=name,
                    display_name=dags[key]["name"],
                    schema_title="system.DagExecution",
                    state=state[bool(fail) and key == "exit-handler-1"],
                    metadata=params,
                    create_time=_ts(minute + 1),
                    update_time=_ts(minute + 9),
                )
            )
            continue
        task = tasks[key]
        failed = key == fail
        run_failed = run_failed or failed
        metadata = {}
        for param, value in task["parameters"].items():
            metadata[f"input:{param}"] = values[value] if isinstance(value, tuple) else value
        if not failed:
            metadata.update({f"output:{k}": values[(key, k)] for k in task["output_parameters"]})
        executions.append(
            v1.Execution(
                name=name,
                display_name=task["name"],
                schema_title="system.ContainerExecution",
                state=state[failed],
                metadata=metadata,
                create_time=_ts(minute + i / 2),
                update_time=_ts(minute + i / 2 + 0.4),
            )
        )
        for producer in task["artifacts"].values():
            events.append(v1.Event(artifact=artifacts[producer].name, execution=name, type_=v1.Event.Type.INPUT))
        if failed:
            continue  # a failed task records no outputs
        for out_key, schema_title in task["outputs"].items():
            uri, meta = values[(key, out_key)]
            artifacts[(key, out_key)] = v1.Artifact(
                name=f"{STORE}/artifacts/{job}-{key}-{out_key}",
                display_name=out_key,
                schema_title=schema_title,
                uri=uri or f"gs://kfx-test-bucket/pipeline_root/{NUMBER}/{job}/{key}_{n}{i}/{out_key}",
                metadata=meta,
                create_time=_ts(minute + i / 2 + 0.4),
            )
            events.append(v1.Event(artifact=artifacts[(key, out_key)].name, execution=name, type_=v1.Event.Type.OUTPUT))
    run = v1.Execution(
        name=f"{STORE}/executions/{job}",
        display_name=job,
        schema_title="system.Run",
        state=state[bool(fail)],
        create_time=_ts(minute),
        update_time=_ts(minute + 10),
    )
    context = v1.Context(
        name=f"{STORE}/contexts/{job}",
        display_name=job,
        schema_title="system.PipelineRun",
        metadata={"pipeline_name": spec["pipelineInfo"]["name"]},
        create_time=_ts(minute),
    )
    graph = v1.LineageSubgraph(artifacts=list(artifacts.values()), executions=[run, *executions], events=events)
    return context, graph


class FakeMetadataService:
    """Answers the MetadataServiceClient calls kfx makes, from fixed runs."""

    runs: dict = {}
    calls: list = []

    def __init__(self, client_options=None, **_):
        self.client_options = client_options

    def list_contexts(self, request):
        self.calls.append(("list_contexts", request))
        assert request["parent"] == STORE and request["filter"] == 'schema_title="system.PipelineRun"'
        return [context for context, _ in self.runs.values()]

    def get_context(self, name):
        for context, _ in self.runs.values():
            if context.name == name:
                return context
        raise exceptions.NotFound(name)

    def query_context_lineage_subgraph(self, context):
        return next(graph for c, graph in self.runs.values() if c.name == context)

    def query_artifact_lineage_subgraph(self, artifact):
        return next(graph for _, graph in self.runs.values() if any(a.name == artifact for a in graph.artifacts))

    def get_artifact(self, name):
        for _, graph in self.runs.values():
            for artifact in graph.artifacts:
                if artifact.name == name:
                    return artifact
        raise exceptions.NotFound(name)

    def list_artifacts(self, request):
        assert request["parent"] == STORE
        uri = request["filter"].split('"')[1]
        return [a for _, g in self.runs.values() for a in g.artifacts if a.uri == uri]


@pytest.fixture
def vertex(monkeypatch, spec):
    FakeMetadataService.runs = {
        "kfx-beans-a": vertex_run(spec, "kfx-beans-a", 0, svm_c=10.0, accuracy=0.93, n=1),
        "kfx-beans-b": vertex_run(spec, "kfx-beans-b", 20, svm_c=3.0, accuracy=0.91, n=2),
        "kfx-beans-c": vertex_run(spec, "kfx-beans-c", 40, svm_c=1.0, accuracy=0.0, n=3, fail="custom-training-job"),
    }
    FakeMetadataService.calls = []
    monkeypatch.setattr(v1, "MetadataServiceClient", FakeMetadataService)
    return Config(target="vertex", project_id=PROJECT, region=REGION)


def test_the_fake_holds_the_compiled_pipelines_tasks_and_outputs(vertex, spec):
    from kfx.pipeline_tasks import tasks_of
    from kfx.pipelines.vertex_train import vertex_train_pipeline

    _, graph = FakeMetadataService.runs["kfx-beans-a"]
    steps = [x.display_name for x in graph.executions if x.schema_title == "system.ContainerExecution"]
    # The pipeline's tasks, the exit handler's e-mail among them (the config has recipients).
    names = tasks_of(vertex_train_pipeline(_compiled_config())).names
    assert "vertex-pipelines-notification-email" in names
    assert sorted(steps) == sorted(names)
    assert sorted(a.display_name for a in graph.artifacts) == sorted(
        [
            "dataset",
            "registered_model",
            "statistics",
            "statistics_view",
            "schema",
            "anomalies",
            "report",
            "model",
            "test_data",
            "serving_request",
            "expected_predictions",
            "serving_check",
            "metrics",
            "classification_metrics",
            "evaluation_view",
            "pushed_model",
            "vertex_model",
        ]
    )
    train = next(x for x in graph.executions if x.display_name == "custom-training-job")
    assert train.metadata["input:svm_c"] == 10.0 and train.metadata["input:label_column"] == "Class"
    assert train.metadata["input:model_name"] == "beans1"  # named after the source table


def test_runs_newest_first_with_status_and_accuracy(vertex):
    runs = lineage.runs(vertex)
    assert [(r.run_id, r.status, r.target) for r in runs] == [
        ("kfx-beans-c", "failed", "vertex"),
        ("kfx-beans-b", "complete", "vertex"),
        ("kfx-beans-a", "complete", "vertex"),
    ]
    # The exit handler's DAG fails with the task inside it; the step that failed is the task.
    assert runs[0].failed_step == "custom-training-job"
    assert runs[1].metrics == {
        "source": BQ_SOURCE,
        "test_rows": 1362,
        "features": 17,
        "schema_features": 17,
        "anomalies": 0,
        "serving_ok": True,
        "accuracy": 0.91,
        "macro_f1": pytest.approx(0.89),
        "blessed": True,
        "champion_version": 1,
        "champion_accuracy": 0.9,
        "pushed_version": 2,
    }
    assert runs[2].pipeline == "kfx-beans1" and runs[2].started == _ts(0).timestamp()
    # The last task (notify, the twelfth started) ended; the run's own execution and the exit DAG end later.
    assert ORDER[11] == "vertex-pipelines-notification-email" and runs[2].ended == _ts(11 / 2 + 0.4).timestamp()
    assert lineage.open_lineage(vertex).backend.client.client_options == {
        "api_endpoint": "europe-west4-aiplatform.googleapis.com"
    }


def test_show_a_vertex_model(vertex, lineage_cli):
    up = lineage.show("kfx-beans-a", vertex)
    assert (
        up.artifact.type == "Model"
        and up.artifact.uri == "gs://kfx-test-bucket/aiplatform-custom-training-kfx-beans-a/model"
    )
    assert up.run_id == "kfx-beans-a"
    # Statistics, schema and validation read the BigQuery table itself, the table the dataset was made from.
    assert up.source_uri == BQ_SOURCE
    assert up.first("ExampleStatistics").properties["features"] == 17
    assert up.first("Schema").properties["curated"] is False
    assert up.first("ExampleAnomalies").properties["anomalies"] == 0
    assert up.trainer_parameters["svm_c"] == 10.0 and up.trainer_parameters["svm_gamma"] == "scale"
    assert up.trainer_parameters["seed"] == 42
    assert [x.step for x in up.steps] == [
        "tabular-dataset-create",
        "generate-statistics-bq",
        "infer-schema",
        "validate-statistics",
        "custom-training-job",
    ]
    code, out, err = lineage_cli(
        "lineage", "show", "kfx-beans-a", "--target", "vertex", "--project-id", PROJECT, "--region", REGION
    )
    assert code == 0, err
    lines = out.splitlines()
    assert (
        f"  source      {BQ_SOURCE}" in lines
        and "  schema      features 17, curated no  " + up.first("Schema").uri in lines
    )
    assert "  step        custom-training-job (complete, 24.0 s)" in lines
    by_uri = lineage.show("gs://kfx-test-bucket/aiplatform-custom-training-kfx-beans-b/model", vertex)
    assert by_uri.artifact.type == "Model" and by_uri.trainer_parameters["svm_c"] == 3.0


def test_diff_two_vertex_runs(vertex, lineage_cli):
    d = lineage.diff("kfx-beans-a", "kfx-beans-b", vertex)
    assert d.parameters == [("custom-training-job.svm_c", 10.0, 3.0)]
    assert d.changed == {
        "custom-training-job.svm_c": (10.0, 3.0),
        "accuracy": (0.93, 0.91),
        "macro_f1": (pytest.approx(0.91), pytest.approx(0.89)),
        "champion_version": (None, 1),
        "champion_accuracy": (None, 0.9),
        "pushed_version": (1, 2),
    }
    assert ("source", BQ_SOURCE, BQ_SOURCE) in d.data and ("test_rows", 1362, 1362) in d.data
    code, out, err = lineage_cli(
        "lineage",
        "diff",
        "kfx-beans-a",
        "kfx-beans-c",
        "--json",
        "--target",
        "vertex",
        "--project-id",
        PROJECT,
        "--region",
        REGION,
    )
    assert code == 0, err
    metrics = {m["name"]: (m["a"], m["b"]) for m in json.loads(out)["metrics"]}
    assert metrics["status"] == ("complete", "failed") and metrics["accuracy"] == (0.93, None)


def test_vertex_needs_a_project_and_names_an_unknown_run(vertex, lineage_cli):
    with pytest.raises(LineageError, match="needs a project; pass --project-id"):
        lineage.runs(vertex.replace(project_id=""))
    code, _, err = lineage_cli(
        "lineage", "show", "kfx-beans-zzz", "--target", "vertex", "--project-id", PROJECT, "--region", REGION
    )
    assert code == 2 and err.startswith("kfx: error: No artifact or run called 'kfx-beans-zzz'")
