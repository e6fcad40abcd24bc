"""Fixtures of the per-component tests: one module per component of :mod:`kfx.components`.

- ``new_artifact`` makes real kfp artifacts, as a task hands them to a component body;
- ``upstream`` holds what the steps before a component make (the beans sample's splits,
  statistics, schema, model and evaluation), made once with the plain :mod:`kfx.data_steps` and :mod:`kfx.model_steps`
  functions, so each module runs only its own component;
- ``kfp_local`` initialises kfp.local with the subprocess runner in this Python; its ``run``
  runs one component in a pipeline of its own whose input artifacts come from
  ``dsl.importer`` (kfp 2.13's local runner runs importers, and a component called outside
  a pipeline can take no input artifact);
- ``round_trip`` compiles a component alone to YAML, loads it back and checks its interface,
  and that its defaults are :class:`~kfx.config.Config`'s;
- the vertex fixtures (a loopback GCS server; BigQuery and Vertex AI answered at the network
  edge) are those of ``tests/vertex``, loaded from there.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest
from shared_fixtures import shared_by_mutants

from kfx.config import Config

TESTS = Path(__file__).resolve().parent.parent
SPLITS = ("train", "validation", "test")
CONFIG_FIELDS = {f.name for f in dataclasses.fields(Config)}


def artifact(cls, folder, name: str, **metadata: Any):
    """A kfp artifact of class ``cls`` named ``name`` at ``folder/name``."""
    return cls(name=name, uri=str(Path(folder) / name), metadata=dict(metadata))


@pytest.fixture
def new_artifact(tmp_path):
    """Makes artifacts under the test's folder: ``new_artifact(Dataset, "train_data")``."""

    def make(cls, name: str, **metadata: Any):
        return artifact(cls, tmp_path, name, **metadata)

    return make


# --- upstream work, done once ---------------------------------------------------------------


@dataclass
class Upstream:
    """Files the steps before a component make, what those steps returned, and facts of the sample."""

    folder: Path
    source: str
    splits: dict[str, str]
    statistics: str
    schema: str
    model: str
    trained: dict[str, Any]
    evaluation: dict[str, Any]
    # The beans sample (599 rows) split 0.8 / 0.1 / 0.1 with seed 42.
    rows: dict[str, int] = field(default_factory=lambda: {"train": 479, "validation": 60, "test": 60})
    columns: tuple[str, ...] = (
        "Area",
        "Perimeter",
        "MajorAxisLength",
        "MinorAxisLength",
        "AspectRation",
        "Eccentricity",
        "ConvexArea",
        "EquivDiameter",
        "Extent",
        "Solidity",
        "roundness",
        "Compactness",
        "ShapeFactor1",
        "ShapeFactor2",
        "ShapeFactor3",
        "ShapeFactor4",
        "Class",
    )
    classes: tuple[str, ...] = ("BARBUNYA", "BOMBAY", "CALI", "DERMASON", "HOROZ", "SEKER", "SIRA")

    def datasets(self) -> dict[str, Any]:
        """The ``<split>_data`` Dataset inputs over the split CSVs."""
        from kfp.dsl import Dataset

        return {f"{s}_data": Dataset(name=f"{s}_data", uri=self.splits[s], metadata={"split": s}) for s in SPLITS}

    def statistics_artifact(self):
        from kfp.dsl import Artifact

        return Artifact(name="statistics", uri=self.statistics, metadata={})

    def schema_artifact(self):
        from kfp.dsl import Artifact

        return Artifact(name="schema", uri=self.schema, metadata={})

    def model_artifact(self):
        from kfp.dsl import Model

        return Model(name="model", uri=self.model, metadata={"framework": "scikit-learn"})

    def no_champion(self):
        """find_model's reference when the registry holds no version yet."""
        from kfp.dsl import Artifact

        reference = {"found": False, "model_name": "beans", "version": "", "uri": "", "reason": "no version yet"}
        path = self.folder / "no-champion.json"
        path.write_text(json.dumps(reference))
        return Artifact(name="registered_model", uri=str(path), metadata=reference)

    def metrics_artifact(self):
        """evaluate's Metrics output, with the scalars evaluate logs (min_accuracy 0.5: blessed)."""
        from kfp.dsl import Metrics

        keys = ("accuracy", "macro_f1", "rows", "min_accuracy", "blessed")
        return Metrics(name="metrics", uri=str(self.folder / "metrics"), metadata={k: self.evaluation[k] for k in keys})


@pytest.fixture(scope="session")
def upstream(beans_sample, tmp_path_factory) -> Upstream:
    """The sample's splits, statistics, schema, model and evaluation (min_accuracy 0.5)."""
    return shared_by_mutants("upstream", lambda folder: _make_upstream(beans_sample, folder), tmp_path_factory)


def _make_upstream(beans_sample, folder) -> Upstream:
    from kfx import data_steps, model_steps

    source = str(folder / "beans.csv")
    beans_sample.to_csv(source, index=False)
    splits = {split: str(folder / f"{split}.csv") for split in SPLITS}
    data_steps.import_dataset(
        source, "Class", splits["train"], splits["validation"], splits["test"], (0.8, 0.1, 0.1), 42, 0
    )
    statistics, schema, model = str(folder / "statistics"), str(folder / "schema.pbtxt"), str(folder / "model")
    data_steps.generate_statistics(
        splits["train"],
        splits["validation"],
        splits["test"],
        statistics,
        str(folder / "statistics.html"),
        "memory",
        None,
    )
    data_steps.infer_schema(statistics, schema, "")
    trained = model_steps.train(
        splits["train"],
        splits["validation"],
        splits["test"],
        model,
        label_column="Class",
        svm_c=10.0,
        svm_gamma="scale",
        seed=42,
        svm_max_rows=30000,
        boosting_learning_rate=0.1,
        boosting_max_iter=100,
    )
    evaluation = model_steps.evaluate(model, splits["test"], str(folder / "evaluation.html"), 0.5, None, 0.0, True)
    return Upstream(folder, source, splits, statistics, schema, model, trained, evaluation)


@dataclass
class Registered:
    """A registry version of the upstream model (what ``kfx run`` pushes), and tables to score with it."""

    registry: Path
    uri: str
    reference: dict[str, Any]
    labelled: str  # the sample's test split: 60 rows, with the label
    unlabelled: str  # the same rows without the label column

    def copy_without(self, folder, *names: str) -> str:
        """A copy of this version in ``folder/beans/v1`` without the files or folders ``names`` (as a push
        without them leaves it), its manifest written again for what is left; the copy's path."""
        import os
        import shutil

        from kfx import manifest

        version = Path(folder) / "beans" / "v1"
        shutil.copytree(self.uri, version)
        for name in (*names, manifest.MANIFEST_FILE):
            shutil.rmtree(version / name) if (version / name).is_dir() else os.remove(version / name)
        manifest.write_manifest(str(version))
        return str(version)

    def reference_artifact(self, folder):
        """find_model's ``registered_model`` output naming this version."""
        import json

        from kfp.dsl import Artifact

        path = Path(folder) / "registered_model"
        path.write_text(json.dumps(self.reference))
        return Artifact(name="registered_model", uri=str(path), metadata=dict(self.reference))


@pytest.fixture(scope="session")
def registered(upstream, tmp_path_factory) -> Registered:
    """The upstream model pushed as ``beans`` v1 with its schema and training statistics."""
    return shared_by_mutants("registered", lambda folder: _register(upstream, folder), tmp_path_factory)


def _register(upstream, folder) -> Registered:
    import pandas as pd

    from kfx import model_steps, registry

    pushed = model_steps.push_model(
        upstream.model, str(folder / "registry"), "beans", upstream.evaluation, upstream.schema, upstream.statistics
    )
    reference = registry.resolve(str(folder / "registry"), "beans", "latest", required=True)
    assert reference["uri"] == pushed["uri"]
    unlabelled = folder / "unlabelled.csv"
    pd.read_csv(upstream.splits["test"]).drop(columns=["Class"]).to_csv(unlabelled, index=False)
    return Registered(folder / "registry", pushed["uri"], reference, upstream.splits["test"], str(unlabelled))


# --- kfp.local --------------------------------------------------------------------------------


def _output_types(component) -> list[tuple[str, Any]]:
    """The component's outputs as (name, Python type): output artifacts, then return values."""
    from kfp.dsl.types import type_annotations

    signature = inspect.signature(component.python_func)
    outputs = [
        (name, type_annotations.get_io_artifact_class(p.annotation))
        for name, p in signature.parameters.items()
        if type_annotations.is_artifact_wrapped_in_Output(p.annotation)
    ]
    returned = signature.return_annotation
    if returned is not inspect.Signature.empty and returned is not None:
        outputs += list(returned.__annotations__.items())
    return outputs


def run_alone(component, inputs: dict[str, Any], **arguments: Any) -> dict[str, Any]:
    """Runs ``component`` through kfp.local in a pipeline of its own: each input artifact (a kfp
    artifact over existing files) comes from a ``dsl.importer`` with its class, URI and
    metadata. Returns every output of the task (the pipeline returns them all).
    """
    from kfp import dsl

    outputs = _output_types(component)
    Outputs = NamedTuple("Outputs", outputs)

    def pipeline():
        imported = {
            name: dsl.importer(artifact_uri=a.uri, artifact_class=type(a), metadata=dict(a.metadata)).output
            for name, a in inputs.items()
        }
        task = component(**imported, **arguments)
        return Outputs(**{name: task.outputs[name] for name, _ in outputs})

    pipeline.__annotations__ = {"return": Outputs}
    return dict(dsl.pipeline(name=f"{component.name}-alone")(pipeline)().outputs)


@pytest.fixture
def kfp_local(tmp_path):
    """kfp.local with the subprocess runner in this Python (a failed task raises).

    Yields ``root`` (the pipeline root) and ``run`` (:func:`run_alone`).
    """
    from kfp import local

    root = tmp_path / "pipeline_root"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    yield SimpleNamespace(root=root, run=run_alone)
    local.config.LocalExecutionConfig.instance = None  # later tests start without a local runner


# --- the compiled interface -------------------------------------------------------------------


def assert_round_trip(component, folder, from_config: set[str], written: dict[str, Any] | None = None):
    """Compiles ``component`` alone to YAML, loads it back and asserts the loaded component has
    the same interface: input names, types, defaults and optional flags, output names and types.

    ``from_config`` names the inputs whose default the component takes from Config, and
    ``written`` the inputs whose default the component writes itself, with the value; no other
    input has a default. Every default named like a Config field equals that field. Returns the
    loaded component.
    """
    from kfp import compiler, components

    path = Path(folder) / f"{component.python_func.__name__}.yaml"
    compiler.Compiler().compile(component, package_path=str(path))
    loaded = components.load_component_from_file(str(path))
    before, after = component.component_spec, loaded.component_spec
    assert after.name == before.name

    def inputs(spec):
        return {n: (i.type, i.default, i.optional, i.is_artifact_list) for n, i in (spec.inputs or {}).items()}

    def outputs(spec):
        return {n: (o.type, o.is_artifact_list) for n, o in (spec.outputs or {}).items()}

    assert inputs(after) == inputs(before)
    assert outputs(after) == outputs(before)

    written = dict(written or {})
    defaults = {n: i.default for n, i in after.inputs.items() if i.optional}
    assert set(defaults) == set(from_config) | set(written), "the inputs with a default"
    assert set(from_config) <= CONFIG_FIELDS
    for name, value in defaults.items():
        if name in CONFIG_FIELDS:
            expected = getattr(Config(), name)  # an instance: a list field's default is made by a factory
            # The YAML holds numbers as floats (an Integer input's 0 loads as 0.0): the type is the original's.
            assert value == expected, f"{name}: {value!r}, Config: {expected!r}"
            assert type(before.inputs[name].default) is type(expected), name
    assert {n: defaults[n] for n in written} == written
    # A caller of .python_func gets the same defaults.
    signature = inspect.signature(component.python_func)
    assert {n: p.default for n, p in signature.parameters.items() if p.default is not p.empty} == defaults
    return loaded


@pytest.fixture
def round_trip(tmp_path):
    """:func:`assert_round_trip` writing its YAML under the test's folder."""

    def check(component, from_config: set[str], written: dict[str, Any] | None = None):
        return assert_round_trip(component, tmp_path, from_config, written)

    return check


# --- vertex: the fixtures of tests/vertex ------------------------------------------------------


def _load(relative: str, name: str):
    spec = importlib.util.spec_from_file_location(name, TESTS / relative)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_vertex_conftest = _load("vertex/conftest.py", "kfx_tests_vertex_conftest")
_vertex_components = _load("vertex/test_vertex_components.py", "kfx_tests_vertex_components")

# A loopback GCS-API server (gs:// for kfx.storage and the trainer), and bigquery.Client replaced
# by a recorder that serves DataFrames.
gcs_server = _vertex_conftest.gcs_server
gcs_bucket = _vertex_conftest.gcs_bucket
fake_bigquery = _vertex_conftest.fake_bigquery
beans_frames = _vertex_conftest.beans_frames
# The aiplatform SDK's credentials and project lookup, answered here.
fresh_aiplatform = _vertex_conftest.fresh_aiplatform
offline_project_lookup = _vertex_conftest.offline_project_lookup
anonymous_auth = _vertex_conftest.anonymous_auth
# aiplatform's training classes autospecced, their ``run`` doing what Vertex AI does; the Model
# Registry's RPCs answered.
vertex_training = _vertex_components.vertex_training
model_registry = _vertex_conftest.model_registry
# A complete vertex config: the Vertex AI pipelines built from it say how each task is cached.
vertex_config = _vertex_conftest.vertex_config


@pytest.fixture(scope="session")
def vertex_names():
    """The names the vertex fixtures use: project, BigQuery table, dataset, model, export, serving image."""
    v = _vertex_components
    return SimpleNamespace(
        project=_vertex_conftest.PROJECT,
        bq_source=_vertex_conftest.BQ_SOURCE,
        dataset=v.DATASET,
        model=v.MODEL,
        export=v.EXPORT,
        serving=v.SERVING,
    )
