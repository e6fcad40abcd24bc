"""kfx.vertex.deploy: the aiplatform calls that deploy the champion, written out without a project."""

from kfx.config import Config
from kfx.vertex.deploy import deployment_calls, format_calls


def test_the_calls_deploy_the_blessed_default_version_of_the_tables_model():
    config = Config(target="vertex", project_id="p1", region="europe-west4", bq_source="bq://p1.beans.Dry_Bean")
    calls = deployment_calls(config)
    assert [call for call, _ in calls] == [
        "aiplatform.init",
        "models = aiplatform.Model.list",
        "endpoint = aiplatform.Endpoint.create",
        "models[0].deploy",
    ]
    assert calls[0][1] == {"project": "p1", "location": "europe-west4"}
    assert calls[1][1]["filter"] == 'display_name="dry-bean" AND labels.kfx_blessed="true"'
    assert calls[2][1] == {"display_name": "dry-bean-endpoint"}
    assert calls[3][1]["machine_type"] == "n1-standard-2" and calls[3][1]["traffic_percentage"] == 100
    text = format_calls(deployment_calls(config.replace(model_name="beans"), "beans-online", "n1-standard-4"))
    assert text.splitlines()[2] == "endpoint = aiplatform.Endpoint.create(display_name='beans-online')"
    assert text.splitlines()[3].startswith("models[0].deploy(endpoint=endpoint, deployed_model_display_name='beans', ")
    assert "machine_type='n1-standard-4'" in text
