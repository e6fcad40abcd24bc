"""The one home of kfx configuration.

The CLI, the notebooks' ``parameters`` cell (through papermill) and the tests all
fill this one object; no module reads an environment variable at import time.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kfx.config_checks import check_config
from kfx.contract import BUNDLED_TRAINER
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


def _option(
    default: Any = dataclasses.MISSING, text: str = "", *, factory: Any = dataclasses.MISSING, **names: Any
) -> Any:
    """A Config field with its help text, which ``--help`` shows (:mod:`kfx.commands.options`); ``names`` may
    give a shorter command-line ``flag`` (``enable_caching`` is also ``--cache`` / ``--no-cache``), a
    ``metavar``, and ``repeat=True`` for an option given once per value."""
    return field(default=default, default_factory=factory, metadata={"help": text, **names})


@dataclass
class Config:
    """Everything a kfx pipeline run needs, with defaults that run the beans example locally.

    Each field's help text is written beside it (``dataclasses.fields(Config)[i].metadata["help"]``).
    """

    target: str = _option("local", "local (kfp.local on this machine) or vertex (Vertex AI Pipelines).")
    # data
    source: str = _option(
        "",
        "Table to read: a local .csv/.parquet path, gs://… or bq://project.dataset.table. Empty means the beans "
        "table shipped with kfx.",
    )
    label_column: str = _option("Class", "Column holding the class to predict. Defaults to Class.")
    train_fraction: float = _option(0.8, "Share of rows for training. Defaults to 0.8.")
    validation_fraction: float = _option(0.1, "Share of rows for validation. Defaults to 0.1.")
    test_fraction: float = _option(0.1, "Share of rows for the test split. Defaults to 0.1.")
    seed: int = _option(42, "Seed of the stratified split and of the model. Defaults to 42.")
    sample_rows: int = _option(0, "Stratified sample of this many rows before splitting; 0 uses all rows.")
    task: str = _option(
        "",
        "classification or regression; empty infers it from the label: text, true/false or few distinct whole "
        "numbers are classes, numbers with fractions or many distinct values a quantity (see kfx.tasks).",
    )
    exclude_columns: str = _option(
        "", "Columns, separated by commas, that the model does not learn from (such as the raw form of the label)."
    )
    # statistics, schema, validation
    stats_engine: str = _option("memory", "memory (TFDV on a DataFrame) or beam (a Beam pipeline).")
    beam_runner: str = _option(
        "DirectRunner",
        'Beam runner: DirectRunner or DataflowRunner. Locally it runs stats_engine="beam"; on Vertex AI DataflowRunner '
        "computes statistics on Dataflow, DirectRunner in the task's memory.",
    )
    schema_file: str = _option("", "Curated schema (text proto) to use instead of inferring one.")
    skew_threshold: float = _option(
        0.15,
        "Base Jensen-Shannon divergence (numeric) / L-infinity distance (categorical) above which train vs. validation "
        "counts as skew; each feature's threshold adds a noise term for the rows compared (see kfx.thresholds). "
        "Defaults to 0.15: clean splits of full beans measure up to 0.08.",
    )
    fail_on_anomalies: bool = _option(True, "Fail the run when TFDV reports anomalies. Defaults to True.")
    # training and evaluation
    svm_c: float = _option(10.0, "SVM regularisation C of the trainer. Defaults to 10.")
    svm_gamma: str = _option("scale", 'SVM kernel gamma ("scale", "auto" or a number). Defaults to "scale".')
    svm_max_rows: int = _option(
        30000,
        "Training rows up to which the model is the exact RBF SVC; above them it is histogram gradient boosting, whose "
        "fit grows linearly with rows. 0 always boosts. Defaults to 30000 (see the README's trainer section for the "
        "measurements).",
    )
    boosting_learning_rate: float = _option(0.1, "Learning rate of the gradient boosting. Defaults to 0.1.")
    boosting_max_iter: int = _option(100, "Most boosting rounds; early stopping may end sooner. Defaults to 100.")
    trainer_module: str = _option(
        BUNDLED_TRAINER,
        "A team's trainer module, found as python -m finds it from this folder or PYTHONPATH "
        "(docs/model-contract.md). Defaults to the bundled kfx_trainer.task.",
        flag="trainer",
        metavar="PACKAGE.MODULE",
    )
    trainer_args: list[str] = _option(
        text="KEY=VALUE, handed to the trainer as --KEY VALUE (repeatable): to --trainer's module, or to the "
        "--training-image container on Vertex AI.",
        factory=list,
        flag="trainer-arg",
        repeat=True,
    )
    metric: str = _option(
        "",
        "Test metric that decides the blessing: accuracy, macro_f1 or roc_auc (binary) for classification; r2, rmse "
        "or mae for regression. Empty means accuracy, or r2 for a regression.",
    )
    min_accuracy: float = _option(
        0.9, "Test accuracy (or a classification's --metric) a model needs to be blessed and pushed. Defaults to 0.9."
    )
    min_r2: float = _option(
        0.0,
        "Test R² a regressor needs to be blessed: 0 is predicting the test labels' mean. With --metric rmse or mae the "
        "same rule is said in their terms (see kfx.tasks.threshold). Defaults to 0.",
    )
    accuracy_tolerance: float = _option(
        0.01,
        "How far below the champion's accuracy (the model's current version, scored on this run's test split) a new "
        "model may be and still be blessed: points of accuracy, macro-F1, ROC AUC or R², a share of the champion's "
        "RMSE or MAE. Defaults to 0.01 (one point).",
    )
    drift_threshold: float = _option(
        0.15,
        "Base Jensen-Shannon divergence (numeric) / L-infinity distance (categorical) between this run's training "
        "statistics and the champion's above which a feature has drifted; widened for small tables as skew_threshold "
        "is. Defaults to 0.15.",
    )
    serving_env: str = _option(
        "", "Folder of a Python environment of the serving image's packages only; empty: .kfx/serving-env here."
    )
    # local outputs
    runs_dir: str = _option("runs", "Folder that holds one folder per local run. Defaults to runs.")
    registry_dir: str = _option("", "Local model registry folder; empty means <runs_dir>/registry.")
    model_name: str = _option(
        "", "Registry model name; empty: the source's own (the file's stem, the BigQuery table id, or beans)."
    )
    pipeline_name: str = _option("", "Name of the pipeline and of its runs; empty means kfx-<model name>.")
    image: str = _option(DEFAULT_IMAGE, "Container image of the kfx components.")
    record_lineage: bool = _option(True, "Record every local run in ML Metadata. Defaults to True.")
    metadata_path: str = _option("", "SQLite ML Metadata store; empty means <runs_dir>/metadata.sqlite.")
    # vertex target
    project_id: str = _option("", "Google Cloud project (vertex target).")
    region: str = _option("us-central1", "Google Cloud region (vertex target). Defaults to us-central1.")
    bucket: str = _option("", "gs:// bucket for pipeline root and staging (vertex target).")
    pipeline_root: str = _option("", "gs:// pipeline root; empty means <bucket>/pipeline_root.")
    job_id: str = _option("", "Vertex pipeline job id; empty lets Vertex AI choose.")
    bq_source: str = _option("", "bq://project.dataset.table read on Vertex AI.")
    bq_dest: str = _option("", "bq://project or bq://project.dataset for the training data export.")
    recipients: list[str] = _option(
        text="E-mail addresses notified when the Vertex run ends (Vertex AI takes at most three).", factory=list
    )
    service_account: str = _option("", "Service account the Vertex run acts as.")
    network: str = _option("", "VPC network of the Dataflow workers (statistics with DataflowRunner) only.")
    subnetwork: str = _option("", "Subnetwork of the Dataflow workers (regions/REGION/subnetworks/NAME or a URL) only.")
    peering_network: str = _option(
        "", "VPC network peered with Vertex AI (projects/NUMBER/global/networks/NAME) the jobs join; empty: none."
    )
    training_image: str = _option(
        "", "Container image of the trainer (vertex target); one not named kfx-trainer gets no svm/boosting options."
    )
    serving_image: str = _option(
        "", "Image serving the model (vertex target): any prebuilt one or a custom container; empty: scikit-learn's."
    )
    machine_type: str = _option("n1-standard-4", "Machine type of the Vertex custom training job.")
    retries: int = _option(
        0,
        "Times Vertex AI runs a failed task again, after 30 s, then twice as long each time (at most 1 h in all); 0 "
        "runs none again. The push is never run again (a second attempt could upload the same version twice). "
        "kfp.local ignores it. Defaults to 0.",
    )
    experiment: str = _option("", "Vertex AI Experiment the submitted run is added to; empty adds it to none.")
    pipeline: str = _option(
        "train",
        "Which Vertex AI pipeline to compile, submit or schedule: train (the beans pipeline) or predict (batch "
        "prediction of bq_source into bq_dest with the model's default version). Defaults to train.",
    )
    # a schedule of the vertex pipeline (kfx schedule)
    cron: str = _option(
        "",
        "When a schedule starts runs: five cron fields (minute hour day-of-month month day-of-week), optionally after "
        "TZ=Area/City (default UTC), such as TZ=Europe/Berlin 0 3 * * MON.",
    )
    max_concurrent_runs: int = _option(1, "Most runs of a schedule at one time. Defaults to 1.")
    max_runs: int = _option(0, "Runs after which a schedule ends; 0 means no limit.")
    start_time: str = _option(
        "", "When a schedule's first run may start (ISO 8601 with a UTC offset); empty means now."
    )
    end_time: str = _option("", "When a schedule stops starting runs (ISO 8601 with a UTC offset); empty means never.")
    # KFP's caching, on both targets; the command-line flag is --cache / --no-cache.
    enable_caching: bool = _option(
        True,
        "Reuse the outputs of a step whose component, code, parameters and input data equal an earlier "
        "complete execution's (locally from the lineage store, on Vertex AI through its cache). Defaults "
        "to True; --no-cache runs every step.",
        flag="cache",
    )
    build_pipeline_container: bool = _option(False, "Build and push the kfx and trainer images before submitting.")
    pipeline_container_version: str = _option(
        "latest", "Tag of the kfx and trainer images in Artifact Registry. Defaults to latest."
    )
    artifact_repository: str = _option(
        "kfx", "Artifact Registry (Docker) repository holding the images. Defaults to kfx."
    )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Config:
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
            raise ConfigError(f"Unknown option(s) {', '.join(unknown)}; the options are: {', '.join(sorted(names))}.")
        config = cls(**{k: v for k, v in values.items() if v is not None})
        config.validate()
        return config

    def replace(self, **changes: Any) -> Config:
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
        return self.model_name or source_name(
            self.bq_source if self.target == "vertex" and self.bq_source else self.source
        )

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
        """Checks the values that can be checked without touching data or the cloud (see :mod:`kfx.config_checks`).

        Raises:
            ConfigError: Naming the first option with an unusable value and what to pass.
        """
        check_config(self)
