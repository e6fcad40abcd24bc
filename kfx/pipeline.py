"""The beans pipeline, built for the local target; :func:`build_pipeline` hands ``vertex`` to kfx.vertex.pipeline.

:func:`build_pipeline` makes the ``@dsl.pipeline`` function from a :class:`~kfx.config.Config`;
the config's values become the pipeline parameters' defaults and the container
image is set on every task while the pipeline is built, never at import time.
"""

import os
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from kfx.config import Config

# Task names in run order; the local runner and the summary use them.
STEPS = (
    "import-dataset",
    "generate-statistics",
    "infer-schema",
    "validate-statistics",
    "train",
    "evaluate",
    "push-model",
)


def build_pipeline(config: "Config") -> Callable:
    """Builds the pipeline function for ``config.target``.

    Args:
        config: The run's configuration.

    Returns:
        A ``@dsl.pipeline`` function; call it under ``kfp.local`` or compile it.
    """
    if config.target == "vertex":
        from kfx.vertex.pipeline import build_vertex_pipeline

        return build_vertex_pipeline(config)
    return _build_local_pipeline(config)


def _build_local_pipeline(config: "Config") -> Callable:
    from kfp import dsl

    from kfx import components as c
    from kfx.fragments import add_schema_and_validation

    image = config.image

    def task(op, name: str):
        # The image comes from the config when the pipeline is built.
        return op.set_container_image(image).set_display_name(name).set_caching_options(False)

    @dsl.pipeline(
        name=config.pipeline_name,
        description="Beans: import a table, check it with TFDV, train and evaluate a classifier, push when blessed.",
    )
    def pipeline(
        source: str = config.source,
        label_column: str = config.label_column,
        train_fraction: float = config.train_fraction,
        validation_fraction: float = config.validation_fraction,
        test_fraction: float = config.test_fraction,
        seed: int = config.seed,
        sample_rows: int = config.sample_rows,
        stats_engine: str = config.stats_engine,
        schema_file: str = config.schema_file,
        skew_threshold: float = config.skew_threshold,
        fail_on_anomalies: bool = config.fail_on_anomalies,
        svm_c: float = config.svm_c,
        svm_gamma: str = config.svm_gamma,
        min_accuracy: float = config.min_accuracy,
        registry_dir: str = os.path.abspath(config.resolved_registry_dir),
        model_name: str = config.model_name,
    ):
        data = task(
            c.import_dataset(
                source=source, label_column=label_column, train_fraction=train_fraction,
                validation_fraction=validation_fraction, test_fraction=test_fraction,
                seed=seed, sample_rows=sample_rows,
            ),
            "import dataset",
        )
        splits = dict(
            train_data=data.outputs["train_data"],
            validation_data=data.outputs["validation_data"],
            test_data=data.outputs["test_data"],
        )
        stats = task(c.generate_statistics(engine=stats_engine, **splits), "statistics")
        schema, validated = add_schema_and_validation(
            task, stats.outputs["statistics"], schema_file, skew_threshold, fail_on_anomalies
        )
        trained = task(
            c.train(label_column=label_column, svm_c=svm_c, svm_gamma=svm_gamma, seed=seed, **splits),
            "train",
        )
        # Train only on data that passed validation.
        trained.after(validated)
        evaluated = task(
            c.evaluate(model=trained.outputs["model"], test_data=data.outputs["test_data"], min_accuracy=min_accuracy),
            "evaluate",
        )
        task(
            c.push_model(
                model=trained.outputs["model"], metrics=evaluated.outputs["metrics"],
                schema=schema.outputs["schema"], blessed=evaluated.outputs["blessed"],
                registry_dir=registry_dir, model_name=model_name,
            ),
            "push model",
        )

    return pipeline


def compile_pipeline(config: "Config", path: str) -> str:
    """Compiles the pipeline for ``config.target`` to KFP IR YAML at ``path``.

    Returns:
        The path written.
    """
    from kfp import compiler

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    compiler.Compiler().compile(build_pipeline(config), package_path=path)
    return path
