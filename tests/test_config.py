import pytest

from kfx.config import Config
from kfx.errors import ConfigError


def test_defaults_run_the_packaged_beans_locally():
    config = Config()
    config.validate()
    assert config.target == "local"
    assert config.source == ""
    assert config.label_column == "Class"
    assert config.fractions == (0.8, 0.1, 0.1)
    assert config.resolved_registry_dir == "runs/registry"
    assert config.resolved_metadata_path == "runs/metadata.sqlite"


def test_from_mapping_fills_and_validates():
    config = Config.from_mapping({"seed": 7, "sample_rows": 600, "min_accuracy": None})
    assert (config.seed, config.sample_rows, config.min_accuracy) == (7, 600, 0.9)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"train_fraction": 0.9}, "add up to 1"),
        ({"stats_engine": "spark"}, "Unknown statistics engine 'spark'"),
        ({"beam_runner": "FlinkRunner"}, "Unknown Beam runner 'FlinkRunner'"),
        ({"target": "aws"}, "Unknown target 'aws'"),
        ({"min_accuracy": 1.5}, "min_accuracy is 1.5"),
        ({"sample_rows": -1}, "sample_rows is -1"),
        ({"label_column": ""}, "label column is empty"),
    ],
)
def test_bad_values_name_the_option(changes, words):
    with pytest.raises(ConfigError, match=words):
        Config().replace(**changes)


def test_unknown_option_is_refused():
    with pytest.raises(ConfigError, match="Unknown option\\(s\\) colour"):
        Config.from_mapping({"colour": "red"})


def test_fractions_are_train_validation_test_in_that_order():
    config = Config(train_fraction=0.7, validation_fraction=0.2, test_fraction=0.1)
    config.validate()
    assert config.fractions == (0.7, 0.2, 0.1)


@pytest.mark.parametrize(
    "changes, sentence",
    [
        ({"skew_threshold": 0.0}, "skew_threshold is 0.0; pass a number above 0 and at most 1, such as 0.15."),
        ({"skew_threshold": -0.1}, "skew_threshold is -0.1; pass a number above 0 and at most 1, such as 0.15."),
        ({"svm_c": 0.0}, "svm_c is 0.0; pass a positive number such as 10."),
        ({"svm_c": -1.0}, "svm_c is -1.0; pass a positive number such as 10."),
        ({"svm_max_rows": -1}, "svm_max_rows is -1; pass 0 (always gradient boosting) or a row count."),
        ({"boosting_learning_rate": 0.0}, "boosting_learning_rate is 0.0; pass a positive number such as 0.1."),
        ({"boosting_max_iter": 0}, "boosting_max_iter is 0; pass a positive number of rounds such as 100."),
        ({"min_accuracy": -0.01}, "min_accuracy is -0.01; pass a value between 0 and 1."),
        ({"min_accuracy": 1.01}, "min_accuracy is 1.01; pass a value between 0 and 1."),
        ({"sample_rows": -1}, "sample_rows is -1; pass 0 for all rows or a positive row count."),
        ({"target": "aws"}, "Unknown target 'aws'; use one of: local, vertex."),
        ({"stats_engine": "spark"}, "Unknown statistics engine 'spark'; use one of: memory, beam."),
        ({"beam_runner": "Flink"}, "Unknown Beam runner 'Flink'; use one of: DirectRunner, DataflowRunner."),
        ({"label_column": ""}, "The label column is empty; pass --label-column with the name of the class column."),
        (
            {"train_fraction": 1.0, "validation_fraction": 0.0, "test_fraction": 0.0},
            "Split fractions (1.0, 0.0, 0.0) must each lie between 0 and 1 and add up to 1; "
            "pass e.g. --train-fraction 0.8 --validation-fraction 0.1 --test-fraction 0.1.",
        ),
        ({"train_fraction": 0.8, "validation_fraction": 0.2, "test_fraction": 0.0}, "Split fractions (0.8, 0.2, 0.0)"),
        ({"train_fraction": 0.8, "validation_fraction": 0.1, "test_fraction": 0.1 + 1e-5}, "add up to 1"),
        ({"train_fraction": 1.2, "validation_fraction": -0.1, "test_fraction": -0.1}, "add up to 1"),
    ],
)
def test_each_unusable_value_gets_its_sentence(changes, sentence):
    with pytest.raises(ConfigError) as caught:
        Config().replace(**changes)
    if sentence.endswith("."):
        assert str(caught.value) == sentence
    else:
        assert sentence in str(caught.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"min_accuracy": 0.0},
        {"min_accuracy": 1.0},
        {"skew_threshold": 1e-9},
        {"svm_c": 1e-9},
        {"sample_rows": 0},
        {"target": "vertex"},
        {"stats_engine": "beam", "beam_runner": "DataflowRunner"},
        # Fractions that add up to 1 within a millionth (as 0.7 + 0.2 + 0.1 does in floats) are accepted.
        {"train_fraction": 0.7, "validation_fraction": 0.2, "test_fraction": 0.1 + 5e-7},
    ],
)
def test_values_at_the_edge_of_the_range_are_accepted(changes):
    config = Config().replace(**changes)
    assert {k: getattr(config, k) for k in changes} == changes


def test_resolved_paths_follow_runs_dir_unless_set():
    assert Config(runs_dir="out/").resolved_registry_dir == "out/registry"
    assert Config(runs_dir="out/").resolved_metadata_path == "out/metadata.sqlite"
    assert Config(registry_dir="/r", metadata_path="/m.sqlite").resolved_registry_dir == "/r"
    assert Config(registry_dir="/r", metadata_path="/m.sqlite").resolved_metadata_path == "/m.sqlite"


def test_replace_and_from_mapping_return_new_validated_configs():
    base = Config()
    changed = base.replace(seed=7)
    assert (base.seed, changed.seed) == (42, 7)
    with pytest.raises(ConfigError, match="svm_c is 0"):
        Config.from_mapping({"svm_c": 0.0})
    assert Config.from_mapping({}).to_dict() == Config().to_dict()
    assert Config(recipients=["a@example.com"]).to_dict()["recipients"] == ["a@example.com"]
    with pytest.raises(ConfigError) as caught:
        Config.from_mapping({"colour": "red", "beans": 1})
    assert str(caught.value).startswith(
        "Unknown option(s) beans, colour; the options are: accuracy_tolerance, artifact_repository, beam_runner, "
        "boosting_learning_rate, boosting_max_iter, bq_dest,"
    )
