"""infer_schema: the schema inferred from the train split's statistics, or a curated file used as is."""

import pytest
from kfp.dsl import Artifact

from kfx import components, data_steps
from kfx import schema as schemas
from kfx.errors import ConfigError


@pytest.fixture(scope="module")
def curated(upstream, tmp_path_factory):
    """A curated schema: the inferred one with a comment and one feature less."""
    path = tmp_path_factory.mktemp("curated") / "schema.pbtxt"
    schema = schemas.load_schema(upstream.schema)
    del schema.feature[:1]
    path.write_text("# curated by hand\n" + schemas.schema_text(schema))
    return str(path)


def test_plain_function_infers_every_column_with_the_label_a_string_domain(upstream, tmp_path):
    out = str(tmp_path / "schema.pbtxt")
    assert data_steps.infer_schema(upstream.statistics, out, "") == {"features": 17, "curated": False}
    schema = schemas.load_schema(out)
    assert sorted(f.name for f in schema.feature) == sorted(upstream.columns)
    label = next(f for f in schema.feature if f.name == "Class")
    assert sorted(next(d for d in schema.string_domain if d.name == label.domain).value) == list(upstream.classes)


def test_plain_function_copies_a_curated_schema_byte_for_byte(upstream, curated, tmp_path):
    out = tmp_path / "schema.pbtxt"
    assert data_steps.infer_schema(upstream.statistics, str(out), curated) == {"features": 16, "curated": True}
    assert out.read_bytes() == open(curated, "rb").read()


def test_plain_function_refuses_a_curated_file_that_is_no_schema(upstream, tmp_path):
    bad = tmp_path / "bad.pbtxt"
    bad.write_text("this is not a schema")
    with pytest.raises(ConfigError, match="is not a TFDV schema text proto"):
        data_steps.infer_schema(upstream.statistics, str(tmp_path / "schema.pbtxt"), str(bad))
    assert not (tmp_path / "schema.pbtxt").exists()


def test_python_func_writes_the_schema_and_its_metadata(upstream, new_artifact):
    schema = new_artifact(Artifact, "schema")
    assert components.infer_schema.python_func(statistics=upstream.statistics_artifact(), schema=schema) == (17,)
    assert schema.metadata == {"schema_file": "", "features": 17, "curated": False}
    assert 'name: "Class"' in open(schema.path).read()


def test_python_func_with_a_curated_schema_records_the_file(upstream, curated, new_artifact):
    schema = new_artifact(Artifact, "schema")
    outputs = components.infer_schema.python_func(
        statistics=upstream.statistics_artifact(), schema=schema, schema_file=curated
    )
    assert outputs == (16,)
    assert schema.metadata == {"schema_file": curated, "features": 16, "curated": True}
    assert open(schema.path).read().startswith("# curated by hand\n")


def test_kfp_local_run(kfp_local, upstream, curated):
    outputs = kfp_local.run(components.infer_schema, {"statistics": upstream.statistics_artifact()})
    assert outputs["features"] == 17
    assert outputs["schema"].path.startswith(str(kfp_local.root))
    assert outputs["schema"].metadata == {"schema_file": "", "features": 17, "curated": False}
    assert schemas.load_schema(outputs["schema"].path) == schemas.load_schema(upstream.schema)


def test_compiled_interface_round_trips_and_its_defaults_are_configs(round_trip):
    loaded = round_trip(components.infer_schema, from_config={"schema_file"})
    assert set(loaded.component_spec.inputs) == {"statistics", "schema_file"}
    assert set(loaded.component_spec.outputs) == {"schema", "features"}
