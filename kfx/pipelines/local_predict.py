"""Batch prediction on this machine, as plain KFP: ``kfx predict`` runs it with kfx's local runner.

It finds the registry version to score with, imports the table (refusing one the model cannot
read), describes it with TFDV, validates it against the version's schema and measures drift from
the version's training statistics, then predicts.
"""

from kfp import dsl

from kfx.components.find_scoring_model import find_scoring_model
from kfx.components.generate_scoring_statistics import generate_scoring_statistics
from kfx.components.import_scoring_data import import_scoring_data
from kfx.components.predict import predict
from kfx.components.validate_scoring_statistics import validate_scoring_statistics
from kfx.config import Config

DEFAULTS = Config()
DESCRIPTION = "Batch prediction: score a table with a registry model, after checking it against the model's schema."


@dsl.pipeline(name=f"kfx-predict-{DEFAULTS.resolved_model_name}", description=DESCRIPTION)
def batch_predict(
    source: str = DEFAULTS.source,
    drift_threshold: float = DEFAULTS.drift_threshold,
    fail_on_anomalies: bool = DEFAULTS.fail_on_anomalies,
    registry_dir: str = DEFAULTS.resolved_registry_dir,
    model_name: str = DEFAULTS.resolved_model_name,
    model_version: str = "latest",  # or a version number
):
    # The registry changes between runs: the lookup always runs.
    found = find_scoring_model(
        registry_dir=registry_dir,
        model_name=model_name,
        model_version=model_version,
    ).set_caching_options(False)
    model = found.outputs["registered_model"]
    table = import_scoring_data(source=source, registered_model=model)
    stats = generate_scoring_statistics(scoring_data=table.outputs["scoring_data"], registered_model=model)
    checked = validate_scoring_statistics(
        scoring_statistics=stats.outputs["scoring_statistics"],
        registered_model=model,
        labelled=table.outputs["labelled"],
        drift_threshold=drift_threshold,
        fail_on_anomalies=fail_on_anomalies,
    )
    predict(scoring_data=table.outputs["scoring_data"], registered_model=model).after(checked)
