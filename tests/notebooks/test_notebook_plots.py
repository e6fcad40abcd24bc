"""kfx.plots: static pictures of TFDV statistics and of the pipeline graph, on real protos and pipelines."""

from __future__ import annotations

import pytest

from kfx import pipeline_plots, plots

FEATURES = 17


def test_feature_table_summarises_every_feature_of_every_split(sample_stats, sample_frames):
    table = plots.feature_table(sample_stats)
    assert len(table) == 3 * FEATURES
    train = table.loc["train"]
    assert (train["count"] == len(sample_frames["train"])).all()
    assert (train["missing"] == 0).all()
    assert train.loc["Class", "type"] == "categorical" and train.loc["Class", "unique"] == 7
    assert train.loc["Class", "top"] == sample_frames["train"]["Class"].value_counts().index[0]
    area = sample_frames["train"]["Area"]
    assert train.loc["Area", "mean"] == pytest.approx(area.mean())
    assert train.loc["Area", "min"] == area.min() and train.loc["Area", "max"] == area.max()


def test_histogram_shares_add_up_to_one(sample_stats):
    features = {plots.feature_name(f): f for f in sample_stats["train"].datasets[0].features}
    area = plots.histogram_data(features["Area"])
    assert len(area["left"]) == len(area["width"]) == len(area["height"]) == 10
    assert sum(area["height"]) == pytest.approx(1.0, abs=1e-6)
    assert area["left"][0] == features["Area"].num_stats.min
    classes = plots.histogram_data(features["Class"])
    assert sorted(classes["labels"]) == ["BARBUNYA", "BOMBAY", "CALI", "DERMASON", "HOROZ", "SEKER", "SIRA"]
    assert sum(classes["height"]) == pytest.approx(1.0)


def test_feature_histograms_draw_one_panel_per_feature_with_every_split(sample_stats):
    fig = plots.feature_histograms({"train": sample_stats["train"], "eval": sample_stats["validation"]}, columns=4)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    names = [plots.feature_name(f) for f in sample_stats["train"].datasets[0].features]
    assert [ax.get_title() for ax in visible] == names
    assert len(fig.axes) == 20  # 5 rows of 4, three panels hidden
    area = visible[0]
    assert {c.get_label() for c in area.containers} == {"train", "eval"}
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["train", "eval"]
    png = plots.to_png(fig)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000


def test_feature_histograms_of_chosen_features_from_one_list(sample_stats):
    fig = plots.feature_histograms(sample_stats["test"], features=["Area", "Class"])
    assert [ax.get_title() for ax in fig.axes] == ["Area", "Class"]
    assert fig.legends == []


def _local_pipeline():
    from kfx.config import Config
    from kfx.pipelines import build_pipeline

    return build_pipeline(Config())


def test_pipeline_graph_of_the_local_pipeline():
    graph = pipeline_plots.pipeline_graph(_local_pipeline())
    assert sorted(graph.nodes) == sorted(
        ["import-dataset", "find-model", "generate-statistics", "infer-schema", "validate-statistics", "train",
         "check-serving", "evaluate", "push-model"]
    )
    assert graph.nodes["generate-statistics"]["label"] == "generate-statistics"  # tasks show under their step name
    assert graph.edges["evaluate", "push-model"]["artifacts"] == ["blessed", "metrics", "reason"]
    # The splits, and the task (classification or regression) import-dataset found.
    assert graph.edges["import-dataset", "train"]["artifacts"] == ["task", "test_data", "train_data", "validation_data"]
    assert graph.edges["validate-statistics", "train"]["artifacts"] == []  # .after(): order only
    # The champion reaches drift, the comparison and the push; the serving verdict reaches the blessing.
    assert sorted(b for a, b in graph.edges if a == "find-model") == ["evaluate", "push-model", "validate-statistics"]
    assert graph.edges["check-serving", "evaluate"]["artifacts"] == ["serving_ok"]
    assert graph.edges["import-dataset", "push-model"]["artifacts"] == ["test_data"]  # to re-check a late champion
    assert graph.number_of_edges() == 20


def test_pipeline_graph_is_the_same_from_the_compiled_yaml(tmp_path):
    from kfp import compiler

    path = str(tmp_path / "beans.yaml")
    compiler.Compiler().compile(_local_pipeline(), package_path=path)
    from_function = pipeline_plots.pipeline_graph(_local_pipeline())
    from_yaml = pipeline_plots.pipeline_graph(path)
    assert sorted(from_yaml.edges(data=True)) == sorted(from_function.edges(data=True))


def _gated_pipeline():
    """The beans pipeline's tasks with the push under a condition on the blessing, as a team might wire it."""
    from kfp import dsl

    from kfx.components import (
        check_serving, evaluate, find_model, generate_statistics, import_dataset, infer_schema, push_model, train,
        validate_statistics,
    )

    # No parameters: this module's annotations are strings (``from __future__ import annotations``),
    # which kfp cannot read as parameter types.
    registry_dir, model_name, serving_env = "runs/registry", "beans", "runs/serving"

    @dsl.pipeline(name="gated", description="push only when blessed")
    def gated():
        data = import_dataset(source="")  # empty: the table shipped with kfx
        splits = {name: data.outputs[name] for name in ("train_data", "validation_data", "test_data")}
        champion = find_model(registry_dir=registry_dir, model_name=model_name, table=data.outputs["train_data"])
        stats = generate_statistics(**splits)
        schema = infer_schema(statistics=stats.outputs["statistics"])
        checked = validate_statistics(statistics=stats.outputs["statistics"], schema=schema.outputs["schema"],
                                      registered_model=champion.outputs["registered_model"])
        trained = train(**splits).after(checked)
        serving = check_serving(model=trained.outputs["model"], test_data=data.outputs["test_data"],
                                serving_env=serving_env)
        evaluation = evaluate(model=trained.outputs["model"], test_data=data.outputs["test_data"],
                              registered_model=champion.outputs["registered_model"],
                              serving_ok=serving.outputs["serving_ok"])
        with dsl.If(evaluation.outputs["blessed"] == True):  # noqa: E712 (a pipeline condition)
            push_model(
                model=trained.outputs["model"], metrics=evaluation.outputs["metrics"], schema=schema.outputs["schema"],
                statistics=stats.outputs["statistics"], registered_model=champion.outputs["registered_model"],
                test_data=data.outputs["test_data"], blessed=evaluation.outputs["blessed"],
                reason=evaluation.outputs["reason"], registry_dir=registry_dir, model_name=model_name,
            )

    return gated


def test_pipeline_graph_flattens_exit_handlers_and_conditions():
    from kfx.config import Config
    from kfx.pipelines import build_pipeline

    config = Config(target="vertex", project_id="your-project", bucket="gs://your-bucket",
                    bq_source="bq://aju-dev-demos.beans.beans1", recipients=["you@example.com"])
    graph = pipeline_plots.pipeline_graph(build_pipeline(config))
    labels = {d["label"] for _, d in graph.nodes(data=True)}
    push, notify = "push-vertex-model", "vertex-pipelines-notification-email"
    assert {"tabular-dataset-create", "find-vertex-model", "custom-training-job", "evaluate", push, notify} <= labels
    by_label = {d["label"]: n for n, d in graph.nodes(data=True)}
    # The e-mail task follows the exit handler's last task.
    assert graph.has_edge(by_label[push], by_label[notify])
    assert graph.has_edge(by_label["evaluate"], by_label[push])
    assert "blessed" in graph.edges[by_label["evaluate"], by_label[push]]["artifacts"]
    # A step under a condition is drawn as a task that follows the step whose output gates it.
    gated = _gated_pipeline()
    assert "condition-1" in gated.pipeline_spec.root.dag.tasks  # the push is inside the condition's group
    graph = pipeline_plots.pipeline_graph(gated)
    by_label = {d["label"]: n for n, d in graph.nodes(data=True)}
    assert "condition-1" not in by_label and graph.has_edge(by_label["evaluate"], by_label["push-model"])
    assert "blessed" in graph.edges[by_label["evaluate"], by_label["push-model"]]["artifacts"]


def test_pipeline_figure_labels_every_step_and_artifact():
    fig = pipeline_plots.pipeline_figure(_local_pipeline())
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"import-dataset", "find-model", "generate-statistics", "infer-schema", "validate-statistics", "train",
            "check-serving", "evaluate", "push-model"} <= texts
    assert "blessed\nmetrics\nreason" in texts and "model" in texts and "registered_model" in texts
    assert plots.to_png(fig).startswith(b"\x89PNG")
