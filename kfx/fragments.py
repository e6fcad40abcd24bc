"""Pipeline fragments that every target wires the same way, inside its ``@dsl.pipeline`` function.

The local and the vertex pipelines both import from here; neither imports the other.
"""

from typing import Callable


def add_schema_and_validation(task: Callable, statistics, schema_file, skew_threshold, fail_on_anomalies):
    """Adds the schema and validation steps, the same on every target, inside a pipeline function.

    Args:
        task: The target's task wrapper (sets image, display name and caching).
        statistics: The statistics artifact (an upstream task's output).
        schema_file: Curated schema, or empty to infer one.
        skew_threshold: Train vs. validation skew threshold.
        fail_on_anomalies: Whether anomalies fail the run.

    Returns:
        The schema task and the validation task.
    """
    from kfx import components as c

    schema = task(c.infer_schema(statistics=statistics, schema_file=schema_file), "schema")
    validated = task(
        c.validate_statistics(
            statistics=statistics, schema=schema.outputs["schema"],
            skew_threshold=skew_threshold, fail_on_anomalies=fail_on_anomalies,
        ),
        "validate",
    )
    return schema, validated
