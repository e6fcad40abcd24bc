"""The same lineage questions read from Vertex ML Metadata.

Only the client edge is replaced: ``aiplatform_v1.MetadataServiceClient`` is
patched with a small in-memory service that answers with real ``aiplatform_v1``
messages shaped as Vertex AI Pipelines records a kfx run (a ``system.PipelineRun``
context, ``system.ContainerExecution`` steps with ``input:``/``output:`` metadata,
artifacts carrying ``kfx_type``). Everything from there on is kfx's own code.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform_v1 as v1

import kfx.lineage as lineage
from kfx.config import Config
from kfx.lineage.errors import LineageError

STORE = "projects/p/locations/europe-west4/metadataStores/default"


def _ts(minute: int) -> dt.datetime:
    return dt.datetime(2026, 11, 20, 10, minute, tzinfo=dt.timezone.utc)


def _vertex_run(job: str, minute: int, svm_c: float, accuracy: float, train_rows: int, fail_train: bool = False):
    """Contexts, artifacts, executions and events of one Vertex pipeline job."""
    art = lambda name, schema, meta: v1.Artifact(  # noqa: E731
        name=f"{STORE}/artifacts/{job}-{name}", display_name=name, schema_title=schema,
        uri=f"gs://bucket/root/{job}/{name}", metadata=meta, create_time=_ts(minute))
    ex = lambda name, meta, state=v1.Execution.State.COMPLETE, m=0: v1.Execution(  # noqa: E731
        name=f"{STORE}/executions/{job}-{name}", display_name=name, schema_title="system.ContainerExecution",
        state=state, metadata=meta, create_time=_ts(minute + m), update_time=_ts(minute + m + 1))
    source = art("source", "google.BQTable", {"kfx_type": "DataSource"})
    train_data = art("train_data", "system.Dataset", {"kfx_type": "Dataset", "split": "train", "rows": train_rows,
                                                       "source": "bq://proj.beans.dry_bean"})
    test_data = art("test_data", "system.Dataset", {"kfx_type": "Dataset", "split": "test", "rows": 60})
    stats = art("statistics", "system.Artifact", {"kfx_type": "ExampleStatistics", "features": 17})
    schema = art("schema", "system.Artifact", {"kfx_type": "Schema", "features": 17, "curated": False})
    model = art("model", "system.Model", {"kfx_type": "Model", "validation_accuracy": accuracy - 0.01})
    metrics = art("metrics", "system.Metrics", {"accuracy": accuracy, "macro_f1": accuracy - 0.02, "blessed": True})
    imp = ex("import-dataset", {"input:source": "bq://proj.beans.dry_bean", "input:seed": 42,
                                "output:train_rows": train_rows})
    gen = ex("generate-statistics", {"input:engine": "beam"}, m=1)
    sch = ex("infer-schema", {"input:schema_file": ""}, m=2)
    state = v1.Execution.State.FAILED if fail_train else v1.Execution.State.COMPLETE
    trn = ex("train", {"input:svm_c": svm_c, "input:svm_gamma": "scale", "input:seed": 42}, state, m=3)
    evl = ex("evaluate", {"input:min_accuracy": 0.9, "output:blessed": True}, m=4)
    dag = v1.Execution(name=f"{STORE}/executions/{job}", display_name=job, schema_title="system.Run",
                       state=v1.Execution.State.FAILED if fail_train else v1.Execution.State.COMPLETE,
                       create_time=_ts(minute), update_time=_ts(minute + 6))
    edges = [(source, imp, "INPUT"), (imp, train_data, "OUTPUT"), (imp, test_data, "OUTPUT"),
             (train_data, gen, "INPUT"), (test_data, gen, "INPUT"), (gen, stats, "OUTPUT"),
             (stats, sch, "INPUT"), (sch, schema, "OUTPUT"), (train_data, trn, "INPUT"), (test_data, trn, "INPUT")]
    artifacts = [source, train_data, test_data, stats, schema]
    executions = [imp, gen, sch, trn, dag]
    if not fail_train:
        edges += [(trn, model, "OUTPUT"), (model, evl, "INPUT"), (test_data, evl, "INPUT"), (evl, metrics, "OUTPUT")]
        artifacts += [model, metrics]
        executions.append(evl)
    events = []
    for a, b, kind in edges:
        artifact, execution = (a, b) if kind == "INPUT" else (b, a)
        events.append(v1.Event(artifact=artifact.name, execution=execution.name, type_=getattr(v1.Event.Type, kind)))
    context = v1.Context(name=f"{STORE}/contexts/{job}", display_name=job, schema_title="system.PipelineRun",
                         metadata={"pipeline_name": "kfx-beans"}, create_time=_ts(minute))
    return context, v1.LineageSubgraph(artifacts=artifacts, executions=executions, events=events)


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
        uri = request["filter"].split('"')[1]
        return [a for _, g in self.runs.values() for a in g.artifacts if a.uri == uri]


@pytest.fixture
def vertex(monkeypatch):
    FakeMetadataService.runs = {
        "kfx-beans-a": _vertex_run("kfx-beans-a", 0, svm_c=10.0, accuracy=0.93, train_rows=10888),
        "kfx-beans-b": _vertex_run("kfx-beans-b", 20, svm_c=3.0, accuracy=0.91, train_rows=10890),
        "kfx-beans-c": _vertex_run("kfx-beans-c", 40, svm_c=1.0, accuracy=0.0, train_rows=10890, fail_train=True),
    }
    FakeMetadataService.calls = []
    monkeypatch.setattr(v1, "MetadataServiceClient", FakeMetadataService)
    return Config(target="vertex", project_id="p", region="europe-west4")


def test_runs_newest_first_with_status_and_accuracy(vertex):
    runs = lineage.runs(vertex)
    assert [(r.run_id, r.status, r.target) for r in runs] == [
        ("kfx-beans-c", "failed", "vertex"), ("kfx-beans-b", "complete", "vertex"), ("kfx-beans-a", "complete", "vertex")]
    assert runs[1].metrics["accuracy"] == 0.91 and runs[1].metrics["train_rows"] == 10890
    assert runs[0].failed_step == "train" and runs[2].pipeline == "kfx-beans"
    assert lineage.open_lineage(vertex).backend.client.client_options == {
        "api_endpoint": "europe-west4-aiplatform.googleapis.com"}


def test_show_a_vertex_model(vertex):
    up = lineage.show("kfx-beans-a", vertex)
    assert up.artifact.type == "Model" and up.artifact.uri == "gs://bucket/root/kfx-beans-a/model"
    assert up.source_uri == "gs://bucket/root/kfx-beans-a/source"
    assert [(a.properties["split"], a.properties["rows"]) for a in up.splits] == [("train", 10888), ("test", 60)]
    assert up.first("ExampleStatistics").properties["features"] == 17 and up.first("Schema") is not None
    assert up.trainer_parameters == {"svm_c": 10.0, "svm_gamma": "scale", "seed": 42}
    by_uri = lineage.show("gs://bucket/root/kfx-beans-b/metrics", vertex)
    assert by_uri.artifact.type == "Metrics" and by_uri.trainer_parameters["svm_c"] == 3.0


def test_diff_two_vertex_runs(vertex, lineage_cli):
    d = lineage.diff("kfx-beans-a", "kfx-beans-b", vertex)
    assert d.parameters == [("train.svm_c", 10.0, 3.0)]
    assert d.changed["train_rows"] == (10888, 10890) and d.changed["accuracy"] == (0.93, 0.91)
    code, out, err = lineage_cli("lineage", "diff", "kfx-beans-a", "kfx-beans-c", "--json", "--target", "vertex",
                                 "--project-id", "p", "--region", "europe-west4")
    assert code == 0, err
    metrics = {m["name"]: (m["a"], m["b"]) for m in json.loads(out)["metrics"]}
    assert metrics["status"] == ("complete", "failed") and metrics["accuracy"] == (0.93, None)


def test_vertex_needs_a_project_and_names_an_unknown_run(vertex, lineage_cli):
    with pytest.raises(LineageError, match="needs a project; pass --project-id"):
        lineage.runs(vertex.replace(project_id=""))
    code, _, err = lineage_cli("lineage", "show", "kfx-beans-zzz", "--target", "vertex", "--project-id", "p",
                               "--region", "europe-west4")
    assert code == 2 and err.startswith("kfx: error: No artifact or run called 'kfx-beans-zzz'")
