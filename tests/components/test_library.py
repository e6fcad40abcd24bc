"""The component library as a whole: what a task installs and what importing it loads."""

from kfx import components


def test_components_install_nothing_and_take_their_image_from_the_pipeline():
    for name in (
        "import_dataset",
        "generate_statistics",
        "infer_schema",
        "validate_statistics",
        "train",
        "evaluate",
        "push_model",
    ):
        container = getattr(components, name).component_spec.implementation.container
        assert "pip install" not in " ".join(container.command), name
        assert (
            "from kfx import data_steps" in container.command[-1]
            or "from kfx import model_steps" in container.command[-1]
        ), name


def test_import_kfx_components_cli_and_lineage_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, kfx.components, kfx.cli, kfx.lineage, kfx.lineage.recorder; kfx.cli.build_parser();"
        "print(sorted(m for m in ('tensorflow','tensorflow_data_validation','pandas','sklearn','matplotlib',"
        "'google.cloud.aiplatform','apache_beam','ml_metadata','networkx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
