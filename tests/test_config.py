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
