"""The one home of kfx configuration.

The CLI, the notebooks' ``parameters`` cell (through papermill) and the tests all
fill this one object; no module reads an environment variable at import time.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from kfx.errors import ConfigError

DEFAULT_IMAGE = "python:3.11-slim"
"""Base image of the kfx components until ``kfx build`` has pushed the kfx image.

Locally the image is only a label (``SubprocessRunner`` runs in this Python); on
Vertex AI pass the image that ``kfx build`` pushed (``--image``).
"""

PACKAGED_NAME = "beans"
"""The name of the table shipped with kfx, and so of its model and pipeline (``kfx-beans``)."""


def source_name(source: str) -> str:
    """A model name made from a source: the file's stem or the BigQuery table id, in lower case with
    every run of other characters than letters and digits made one ``-`` (``bq://p.d.Dry_Bean`` is
    ``dry-bean``); ``beans`` for the packaged table (an empty source).
    """
    source = (source or "").strip()
    if not source:
        return PACKAGED_NAME
    if source.startswith("bq://"):
        stem = source.rsplit(".", 1)[-1]
    else:
        parts = [p for p in re.split(r"[/\\]", source) if p]
        stem = parts[-1] if parts else ""
        stem = re.sub(r"(\.(csv|parquet|gz))+$", "", stem, flags=re.IGNORECASE)
        if not re.search(r"[A-Za-z0-9]", stem.replace("*", "")) and len(parts) > 1:
            stem = parts[-2]  # gs://bucket/wine/*.csv: the folder names the table
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return name or PACKAGED_NAME


STATS_ENGINES = ("memory", "beam")
BEAM_RUNNERS = ("DirectRunner", "DataflowRunner")
TARGETS = ("local", "vertex")
PIPELINES = ("train", "predict")


@dataclass
class Config:
    """Everything a kfx pipeline run needs, with defaults that run the beans example locally.

    Attributes:
        target: ``local`` (kfp.local on this machine) or ``vertex`` (Vertex AI Pipelines).
        source: Table to read: a local ``.csv``/``.parquet`` path, ``gs://…`` or
            ``bq://project.dataset.table``. Empty means the beans table shipped with kfx.
        label_column: Column holding the class to predict. Defaults to ``Class``.
        train_fraction: Share of rows for training. Defaults to 0.8.
        validation_fraction: Share of rows for validation. Defaults to 0.1.
        test_fraction: Share of rows for the test split. Defaults to 0.1.
        seed: Seed of the stratified split and of the model. Defaults to 42.
        sample_rows: Stratified sample of this many rows before splitting; 0 uses all rows.
        stats_engine: ``memory`` (TFDV on a DataFrame) or ``beam`` (a Beam pipeline).
        beam_runner: Beam runner: DirectRunner or DataflowRunner. Locally it runs ``stats_engine="beam"``;
            on Vertex AI DataflowRunner computes statistics on Dataflow, DirectRunner in the task's memory.
        schema_file: Curated schema (text proto) to use instead of inferring one.
        skew_threshold: Base Jensen-Shannon divergence (numeric) / L-infinity distance (categorical) above
            which train vs. validation counts as skew; each feature's threshold adds a noise term for the rows
            compared (see kfx.validation). Defaults to 0.15: clean splits of full beans measure up to 0.08.
        fail_on_anomalies: Fail the run when TFDV reports anomalies. Defaults to True.
        svm_c: SVM regularisation ``C`` of the trainer. Defaults to 10.
        svm_gamma: SVM kernel ``gamma`` ("scale", "auto" or a number). Defaults to "scale".
        svm_max_rows: Training rows up to which the model is the exact RBF SVC; above them it is
            histogram gradient boosting, whose fit grows linearly with rows. 0 always boosts.
            Defaults to 30000 (see the README's trainer section for the measurements).
        boosting_learning_rate: Learning rate of the gradient boosting. Defaults to 0.1.
        boosting_max_iter: Most boosting rounds; early stopping may end sooner. Defaults to 100.
        min_accuracy: Test accuracy a model needs to be blessed and pushed. Defaults to 0.9.
        accuracy_tolerance: How far below the champion's accuracy (the model's current version, scored on
            this run's test split) a new model may be and still be blessed. Defaults to 0.01 (one point).
        drift_threshold: Base Jensen-Shannon divergence (numeric) / L-infinity distance (categorical)
            between this run's training statistics and the champion's above which a feature has drifted;
            widened for small tables as skew_threshold is. Defaults to 0.15.
        serving_env: Folder of the Python environment that holds only the serving image's packages (its
            scikit-learn, joblib, numpy, scipy), made once and kept; empty means ``.kfx/serving-env`` under
            the current folder.
        runs_dir: Folder that holds one folder per local run. Defaults to ``runs``.
        registry_dir: Local model registry folder; empty means ``<runs_dir>/registry``.
        model_name: Name of the model in the registry; empty means the source's own name (the file's
            stem or the BigQuery table id; ``beans`` for the packaged table).
        pipeline_name: Name of the pipeline and of its runs; empty means ``kfx-<model name>``.
        image: Container image of the kfx components.
        record_lineage: Record every local run in ML Metadata. Defaults to True.
        metadata_path: SQLite ML Metadata store; empty means ``<runs_dir>/metadata.sqlite``.
        project_id: Google Cloud project (vertex target).
        region: Google Cloud region (vertex target). Defaults to ``us-central1``.
        bucket: ``gs://`` bucket for pipeline root and staging (vertex target).
        pipeline_root: ``gs://`` pipeline root; empty means ``<bucket>/pipeline_root``.
        job_id: Vertex pipeline job id; empty lets Vertex AI choose.
        bq_source: ``bq://project.dataset.table`` read on Vertex AI.
        bq_dest: ``bq://project`` or ``bq://project.dataset`` for the training data export.
        recipients: E-mail addresses notified when the Vertex run ends (Vertex AI takes at most three).
        service_account: Service account the Vertex run acts as.
        network: VPC network of the Dataflow workers (statistics with DataflowRunner) only.
        subnetwork: Subnetwork of the Dataflow workers (regions/REGION/subnetworks/NAME or a URL) only.
        peering_network: VPC network, peered with Vertex AI, that the pipeline job and the custom training
            job join (projects/PROJECT_NUMBER/global/networks/NAME); empty runs them outside any VPC.
        training_image: Container image of the trainer (vertex target).
        machine_type: Machine type of the Vertex custom training job.
        retries: Times Vertex AI runs a failed task again, after 30 s, then twice as long each time (at most
            1 h in all); 0 runs none again. The push is never run again (a second attempt could
            upload the same version twice). kfp.local ignores it. Defaults to 0.
        experiment: Vertex AI Experiment the submitted run is added to; empty adds it to none.
        pipeline: Which Vertex AI pipeline to compile, submit or schedule: ``train`` (the beans pipeline) or
            ``predict`` (batch prediction of bq_source into bq_dest with the model's default version).
            Defaults to ``train``.
        cron: When a schedule starts runs: five cron fields (minute hour day-of-month month day-of-week),
            optionally after ``TZ=Area/City`` (default UTC), such as ``TZ=Europe/Berlin 0 3 * * MON``.
        max_concurrent_runs: Most runs of a schedule at one time. Defaults to 1.
        max_runs: Runs after which a schedule ends; 0 means no limit.
        start_time: When a schedule's first run may start (ISO 8601 with a UTC offset); empty means now.
        end_time: When a schedule stops starting runs (ISO 8601 with a UTC offset); empty means never.
        enable_caching: Reuse the outputs of a step whose component, code, parameters and input data
            equal an earlier complete execution's (locally from the lineage store, on Vertex AI
            through its cache). Defaults to True; --no-cache runs every step.
        build_pipeline_container: Build and push the kfx and trainer images before submitting.
        pipeline_container_version: Tag of the kfx and trainer images in Artifact Registry.
            Defaults to ``latest``.
        artifact_repository: Artifact Registry (Docker) repository holding the images.
            Defaults to ``kfx``.
    """

    target: str = "local"
    # data
    source: str = ""
    label_column: str = "Class"
    train_fraction: float = 0.8
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    seed: int = 42
    sample_rows: int = 0
    # statistics, schema, validation
    stats_engine: str = "memory"
    beam_runner: str = "DirectRunner"
    schema_file: str = ""
    skew_threshold: float = 0.15
    fail_on_anomalies: bool = True
    # training and evaluation
    svm_c: float = 10.0
    svm_gamma: str = "scale"
    svm_max_rows: int = 30000
    boosting_learning_rate: float = 0.1
    boosting_max_iter: int = 100
    min_accuracy: float = 0.9
    accuracy_tolerance: float = 0.01
    drift_threshold: float = 0.15
    serving_env: str = ""
    # local outputs
    runs_dir: str = "runs"
    registry_dir: str = ""
    model_name: str = ""
    pipeline_name: str = ""
    image: str = DEFAULT_IMAGE
    record_lineage: bool = True
    metadata_path: str = ""
    # vertex target
    project_id: str = ""
    region: str = "us-central1"
    bucket: str = ""
    pipeline_root: str = ""
    job_id: str = ""
    bq_source: str = ""
    bq_dest: str = ""
    recipients: list[str] = field(default_factory=list)
    service_account: str = ""
    network: str = ""
    subnetwork: str = ""
    peering_network: str = ""
    training_image: str = ""
    machine_type: str = "n1-standard-4"
    retries: int = 0
    experiment: str = ""
    pipeline: str = "train"
    # a schedule of the vertex pipeline (kfx schedule)
    cron: str = ""
    max_concurrent_runs: int = 1
    max_runs: int = 0
    start_time: str = ""
    end_time: str = ""
    # KFP's caching, on both targets; the command-line flag is --cache / --no-cache.
    enable_caching: bool = field(default=True, metadata={"flag": "cache"})
    build_pipeline_container: bool = False
    pipeline_container_version: str = "latest"
    artifact_repository: str = "kfx"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Config":
        """Builds a config from a mapping, such as a notebook's parameters or CLI options.

        Args:
            values: Field names and values; ``None`` values keep the default.

        Returns:
            The validated config.

        Raises:
            ConfigError: If a key is not a config field or a value is not usable.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"Unknown option(s) {', '.join(unknown)}; the options are: {', '.join(sorted(names))}."
            )
        config = cls(**{k: v for k, v in values.items() if v is not None})
        config.validate()
        return config

    def replace(self, **changes: Any) -> "Config":
        """Returns a validated copy with ``changes`` applied."""
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config

    def to_dict(self) -> dict[str, Any]:
        """Returns the config as plain JSON-ready values."""
        return dataclasses.asdict(self)

    @property
    def fractions(self) -> tuple[float, float, float]:
        """The train, validation and test fractions."""
        return (self.train_fraction, self.validation_fraction, self.test_fraction)

    @property
    def resolved_model_name(self) -> str:
        """The model's name: ``model_name``, else the source's own name (see :func:`source_name`)."""
        return self.model_name or source_name(self.bq_source if self.target == "vertex" and self.bq_source else self.source)

    @property
    def resolved_pipeline_name(self) -> str:
        """The pipeline's name: ``pipeline_name``, else ``kfx-<model name>``."""
        return self.pipeline_name or f"kfx-{self.resolved_model_name}"

    @property
    def resolved_serving_env(self) -> str:
        """The folder of the serving-only Python environment."""
        return self.serving_env or os.path.join(".kfx", "serving-env")

    @property
    def resolved_registry_dir(self) -> str:
        """The local model registry folder."""
        return self.registry_dir or f"{self.runs_dir.rstrip('/')}/registry"

    @property
    def resolved_metadata_path(self) -> str:
        """The local ML Metadata store file."""
        return self.metadata_path or f"{self.runs_dir.rstrip('/')}/metadata.sqlite"

    def validate(self) -> None:
        """Checks the values that can be checked without touching data or the cloud.

        Raises:
            ConfigError: Naming the first option with an unusable value and what to pass.
        """
        if self.target not in TARGETS:
            raise ConfigError(f"Unknown target {self.target!r}; use one of: {', '.join(TARGETS)}.")
        fractions = self.fractions
        if any(not (0 < f < 1) for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
            raise ConfigError(
                f"Split fractions {fractions} must each lie between 0 and 1 and add up to 1; "
                "pass e.g. --train-fraction 0.8 --validation-fraction 0.1 --test-fraction 0.1."
            )
        if not self.label_column:
            raise ConfigError("The label column is empty; pass --label-column with the name of the class column.")
        if self.sample_rows < 0:
            raise ConfigError(f"sample_rows is {self.sample_rows}; pass 0 for all rows or a positive row count.")
        if self.stats_engine not in STATS_ENGINES:
            raise ConfigError(
                f"Unknown statistics engine {self.stats_engine!r}; use one of: {', '.join(STATS_ENGINES)}."
            )
        if self.beam_runner not in BEAM_RUNNERS:
            raise ConfigError(f"Unknown Beam runner {self.beam_runner!r}; use one of: {', '.join(BEAM_RUNNERS)}.")
        if not (0 <= self.min_accuracy <= 1):
            raise ConfigError(f"min_accuracy is {self.min_accuracy}; pass a value between 0 and 1.")
        if not (0 < self.skew_threshold <= 1):
            raise ConfigError(f"skew_threshold is {self.skew_threshold}; pass a number above 0 and at most 1, such as 0.15.")
        if not (0 < self.drift_threshold <= 1):
            raise ConfigError(f"drift_threshold is {self.drift_threshold}; pass a number above 0 and at most 1, such as 0.15.")
        if not (0 <= self.accuracy_tolerance < 1):
            raise ConfigError(
                f"accuracy_tolerance is {self.accuracy_tolerance}; pass a share of accuracy from 0 up to (not including) 1, "
                "such as 0.01."
            )
        for name in ("model_name", "pipeline_name"):
            value = getattr(self, name)
            if value and not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?", value):
                raise ConfigError(
                    f"{name} is {value!r}; use lower-case letters, digits and '-' (at most 64, starting and ending "
                    "with a letter or digit), such as 'beans'."
                )
        if self.pipeline not in PIPELINES:
            raise ConfigError(f"Unknown pipeline {self.pipeline!r}; use one of: {', '.join(PIPELINES)}.")
        if self.max_concurrent_runs < 1 or self.max_runs < 0:
            raise ConfigError(
                f"max_concurrent_runs is {self.max_concurrent_runs} and max_runs {self.max_runs}; pass at least 1 "
                "concurrent run and 0 (no limit) or more runs."
            )
        if self.retries < 0:
            raise ConfigError(f"retries is {self.retries}; pass 0 (no retry) or how many times a failed task runs again, such as 3.")
        if self.svm_c <= 0:
            raise ConfigError(f"svm_c is {self.svm_c}; pass a positive number such as 10.")
        if self.svm_max_rows < 0:
            raise ConfigError(f"svm_max_rows is {self.svm_max_rows}; pass 0 (always gradient boosting) or a row count.")
        if self.boosting_learning_rate <= 0:
            raise ConfigError(
                f"boosting_learning_rate is {self.boosting_learning_rate}; pass a positive number such as 0.1."
            )
        if self.boosting_max_iter < 1:
            raise ConfigError(f"boosting_max_iter is {self.boosting_max_iter}; pass a positive number of rounds such as 100.")
