"""A team's pipeline: four kfx components and a trainer of the team's own, written as plain KFP.

Run it with kfx's local runner (caching, clean stops, lineage, the console and summary.json):

    kfx run --pipeline examples/team_pipeline.py:forest --param sample_rows=600
"""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

from kfx.components import generate_statistics, import_dataset, infer_schema, validate_statistics


@dsl.component(base_image="python:3.11-slim", packages_to_install=["pandas", "scikit-learn"])
def train_forest(
    train_data: Input[Dataset],
    test_data: Input[Dataset],
    label_column: str,
    trees: int,
    model: Output[Model],
    metrics: Output[Metrics],
) -> float:
    """Fits a random forest on the training split and logs its test accuracy."""
    import os
    import pickle

    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    train, test = pd.read_csv(train_data.path), pd.read_csv(test_data.path)
    forest = RandomForestClassifier(n_estimators=trees, random_state=0)
    forest.fit(train.drop(columns=[label_column]), train[label_column])
    accuracy = float(forest.score(test.drop(columns=[label_column]), test[label_column]))
    os.makedirs(model.path, exist_ok=True)
    with open(os.path.join(model.path, "model.pkl"), "wb") as f:
        pickle.dump(forest, f)
    metrics.log_metric("accuracy", accuracy)
    return accuracy


@dsl.pipeline(name="team-forest", description="A table checked with kfx's TFDV components, then a forest.")
def forest(source: str = "", label_column: str = "Class", sample_rows: int = 0, trees: int = 50):
    data = import_dataset(source=source, label_column=label_column, sample_rows=sample_rows)
    stats = generate_statistics(
        train_data=data.outputs["train_data"],
        validation_data=data.outputs["validation_data"],
        test_data=data.outputs["test_data"],
    )
    schema = infer_schema(statistics=stats.outputs["statistics"])
    checked = validate_statistics(statistics=stats.outputs["statistics"], schema=schema.outputs["schema"])
    train_forest(
        train_data=data.outputs["train_data"],
        test_data=data.outputs["test_data"],
        label_column=label_column,
        trees=trees,
    ).after(checked)  # only data that passed validation is trained on
