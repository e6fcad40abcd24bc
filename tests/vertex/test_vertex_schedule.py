"""``kfx schedule``: the cron checked offline, then the compiled YAML scheduled through the real aiplatform client.

``PipelineJob.create_schedule`` runs for real; only the network edge is patched:
``ScheduleServiceClient.create_schedule`` (the one call that would reach Vertex AI)
records its request and answers like the service, and ``google.auth.default``
returns anonymous credentials.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from google.auth.credentials import AnonymousCredentials

from kfx.errors import ConfigError

BASE = [
    "--project-id",
    "kfx-test-project",
    "--bucket",
    "gs://kfx-test-bucket",
    "--bq-source",
    "bq://kfx-test-project.beans.beans1",
]


@pytest.fixture
def scheduled(monkeypatch):
    """Records create_schedule requests and returns the schedule as Vertex AI would."""
    from google.cloud.aiplatform_v1.services.schedule_service import ScheduleServiceClient
    from google.cloud.aiplatform_v1.types import schedule as gca_schedule

    calls = []

    def create_schedule(self, *, parent, schedule, timeout=None, **kwargs):
        calls.append({"parent": parent, "schedule": schedule})
        response = gca_schedule.Schedule(schedule)
        response.name = f"{parent}/schedules/{4242 + len(calls)}"
        response.state = gca_schedule.Schedule.State.ACTIVE
        return response

    monkeypatch.setattr(ScheduleServiceClient, "create_schedule", create_schedule)
    return calls


def test_schedule_sends_the_cron_names_and_limits(vertex_config, scheduled, tmp_path, fresh_aiplatform):
    from kfx.vertex.schedule import create_schedule, schedule_console_url

    config = dataclasses.replace(
        vertex_config,
        job_id="",
        cron="TZ=Europe/Berlin 0 3 * * MON",
        max_concurrent_runs=2,
        max_runs=10,
        start_time="2026-12-24T04:00:00+01:00",
        end_time="2027-06-30T00:00:00Z",
    )
    schedule = create_schedule(config, package_path=str(tmp_path / "kept.yaml"), credentials=AnonymousCredentials())
    assert len(scheduled) == 1
    call = scheduled[0]
    assert call["parent"] == "projects/kfx-test-project/locations/europe-west4"
    sent = call["schedule"]
    assert sent.cron == "TZ=Europe/Berlin 0 3 * * MON"
    assert sent.display_name == "kfx-beans1"
    assert (sent.max_concurrent_run_count, sent.max_run_count) == (2, 10)
    assert sent.start_time.isoformat() == "2026-12-24T03:00:00+00:00"
    assert sent.end_time.isoformat() == "2027-06-30T00:00:00+00:00"
    job = sent.create_pipeline_job_request.pipeline_job
    assert sent.create_pipeline_job_request.parent == "projects/kfx-test-project/locations/europe-west4"
    assert job.service_account == "kfx-pipelines@kfx-test-project.iam.gserviceaccount.com"
    assert job.network == "projects/123456789/global/networks/kfx-peered"
    assert job.runtime_config.parameter_values["bq_source"] == "bq://kfx-test-project.beans.beans1"
    assert job.runtime_config.gcs_output_directory == "gs://kfx-test-bucket/pipeline_root"
    assert "comp-custom-training-job" in job.pipeline_spec["components"]  # the train pipeline
    assert (tmp_path / "kept.yaml").exists()
    assert schedule_console_url(schedule) == (
        "https://console.cloud.google.com/vertex-ai/locations/europe-west4/pipelines/schedules/4243?project=kfx-test-project"
    )


def test_cli_schedule_prints_the_schedule_its_next_runs_and_link(scheduled, anonymous_auth, capsys):
    from kfx.cli import main

    code = main(["schedule", *BASE, "--cron", "*/30 * * * *", "--pipeline", "predict"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == (
        "schedule projects/kfx-test-project/locations/us-central1/schedules/4243 (kfx-beans1-predict): */30 * * * *"
    )
    runs = [dt.datetime.strptime(t, "%Y-%m-%d %H:%M %Z") for t in out[1].removeprefix("next runs ").split(", ")]
    assert len(runs) == 3 and all(t.minute in (0, 30) for t in runs)
    assert [(b - a).total_seconds() for a, b in zip(runs, runs[1:], strict=False)] == [1800, 1800]
    assert (
        out[2]
        == "https://console.cloud.google.com/vertex-ai/locations/us-central1/pipelines/schedules/4243?project=kfx-test-project"
    )
    sent = scheduled[0]["schedule"]
    assert (sent.cron, sent.max_concurrent_run_count, sent.max_run_count) == ("*/30 * * * *", 1, 0)
    assert sent.display_name == "kfx-beans1-predict"
    assert sorted(sent.create_pipeline_job_request.pipeline_job.pipeline_spec["root"]["dag"]["tasks"]) == [
        "default-vertex-model",
        "find-vertex-model",
        "generate-scoring-statistics",
        "import-scoring-data",
        "model-batch-predict",
        "validate-scoring-statistics",
    ]


BAD_CRONS = [
    (
        "0 3 * *",
        "--cron '0 3 * *' has 4 fields, not 5; write minute hour day-of-month month day-of-week, such as "
        "'TZ=Europe/Berlin 0 3 * * MON' (03:00 every Monday).",
    ),
    ("0 3 * * * 2027", "--cron '0 3 * * * 2027' has 6 fields, not 5"),
    ("@daily", "--cron '@daily' has 1 field, not 5"),
    (
        "60 3 * * *",
        "--cron '60 3 * * *': the minute field '60' is not valid; use 0-59, '*', ranges (1-5), lists (1,15) "
        "and steps (*/15), such as 'TZ=Europe/Berlin 0 3 * * MON' (03:00 every Monday).",
    ),
    ("0 24 * * *", "--cron '0 24 * * *': the hour field '24' is not valid; use 0-23"),
    ("0 3 L * *", "--cron '0 3 L * *': the day-of-month field 'L' is not valid; use 1-31"),
    ("0 3 * 13 *", "--cron '0 3 * 13 *': the month field '13' is not valid; use 1-12 or JAN-DEC"),
    ("0 3 * * MONDAY", "--cron '0 3 * * MONDAY': the day-of-week field 'MONDAY' is not valid; use 0-7 or SUN-SAT"),
    ("0 3 * * 5#2", "--cron '0 3 * * 5#2': the day-of-week field '5#2' is not valid"),
    ("*/0 * * * *", "--cron '*/0 * * * *': the minute field '*/0' is not valid"),
    ("0 0 30 2 *", "--cron '0 0 30 2 *' never fires (no such date comes); check its day-of-month and month."),
    (
        "TZ=Mars/Olympus 0 3 * * *",
        "--cron 'TZ=Mars/Olympus 0 3 * * *' names the time zone 'Mars/Olympus', which is no "
        "IANA time zone; use one such as Europe/Berlin or UTC.",
    ),
    ("UTC 0 3 * * *", "--cron 'UTC 0 3 * * *' has 6 fields, not 5"),
    (
        "",
        "kfx schedule needs --cron; pass five cron fields, such as "
        "'TZ=Europe/Berlin 0 3 * * MON' (03:00 every Monday).",
    ),
]


@pytest.mark.parametrize("cron, message", BAD_CRONS, ids=[c or "empty" for c, _ in BAD_CRONS])
def test_a_bad_cron_is_one_sentence_and_nothing_is_compiled_or_sent(
    cron, message, scheduled, anonymous_auth, monkeypatch, capsys
):
    from kfx.cli import main

    monkeypatch.setattr("kfx.pipelines.compile_pipeline", lambda *a, **k: pytest.fail("compiled with a bad cron"))
    monkeypatch.setattr("kfx.vertex.build.build_images", lambda *a, **k: pytest.fail("built with a bad cron"))
    code = main(["schedule", *BASE, f"--cron={cron}", "--build-pipeline-container"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"kfx: error: {message}")
    assert err.count("\n") == 1 and err.rstrip().endswith(".") and "Traceback" not in err
    assert scheduled == []


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--start-time", "2026-12-24"],
            "--start-time '2026-12-24' is not a time with its UTC offset; write it like "
            "2026-12-24T03:00:00Z or 2026-12-24T04:00:00+01:00.",
        ),
        (["--end-time", "tomorrow"], "--end-time 'tomorrow' is not a time with its UTC offset"),
        (
            ["--start-time", "2027-01-02T00:00:00Z", "--end-time", "2027-01-01T00:00:00Z"],
            "--end-time '2027-01-01T00:00:00Z' is not after the schedule's start; pass a later time or none.",
        ),
        (["--max-concurrent-runs", "0"], "max_concurrent_runs is 0 and max_runs 0; pass at least 1 concurrent run"),
        (["--pipeline", "serve"], "Unknown pipeline 'serve'; use one of: train, predict."),
    ],
)
def test_bad_schedule_options_are_one_sentence_and_nothing_is_sent(
    options, message, scheduled, anonymous_auth, monkeypatch, capsys
):
    from kfx.cli import main

    monkeypatch.setattr("kfx.pipelines.compile_pipeline", lambda *a, **k: pytest.fail("compiled with a bad option"))
    code = main(["schedule", *BASE, "--cron", "0 3 * * *", *options])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"kfx: error: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert scheduled == []


def test_an_experiment_is_refused_for_a_schedule_before_anything_is_compiled(vertex_config, scheduled, monkeypatch):
    """aiplatform adds a run to an experiment from the client after creating it; a schedule's runs are created
    by Vertex AI, so kfx schedule has no --experiment and the function refuses one."""
    from kfx.vertex.schedule import create_schedule

    monkeypatch.setattr("kfx.pipelines.compile_pipeline", lambda *a, **k: pytest.fail("compiled with an experiment"))
    with pytest.raises(ConfigError, match="^--experiment applies to one submitted run, not a schedule's runs"):
        create_schedule(dataclasses.replace(vertex_config, cron="0 3 * * *", experiment="beans-tuning"))
    assert scheduled == []


def test_parse_cron_keeps_the_expression_and_runs_in_its_time_zone():
    from kfx.vertex.schedule import parse_cron

    after = dt.datetime(2026, 12, 4, 20, 0, tzinfo=dt.UTC)  # a Friday
    berlin = parse_cron("TZ=Europe/Berlin 0 3 * * MON")
    assert (berlin.timezone, berlin.fields) == ("Europe/Berlin", ("0", "3", "*", "*", "MON"))
    assert [t.isoformat() for t in berlin.next_runs(2, after)] == [
        "2026-12-07T03:00:00+01:00",
        "2026-12-14T03:00:00+01:00",
    ]
    new_york = parse_cron("CRON_TZ=America/New_York 15 9-17/4 * jan,JUL 1-5")
    assert [t.isoformat() for t in new_york.next_runs(2, after)] == [
        "2027-01-01T09:15:00-05:00",
        "2027-01-01T13:15:00-05:00",
    ]
    utc = parse_cron("  0 0 29 2 *  ")
    assert (utc.expression, utc.timezone) == ("0 0 29 2 *", "UTC")
    assert [t.isoformat() for t in utc.next_runs(1, after)] == ["2028-02-29T00:00:00+00:00"]


def test_rfc3339_sends_utc():
    from kfx.vertex.schedule import parse_time, rfc3339

    assert rfc3339(parse_time("2026-12-24T04:00:00+01:00", "--start-time")) == "2026-12-24T03:00:00Z"
    assert rfc3339(parse_time("", "--start-time")) is None
    with pytest.raises(ConfigError):
        parse_time("2026-12-24T04:00:00", "--start-time")


def test_schedule_arguments_are_what_create_schedule_sends_and_need_no_project(vertex_config):
    from kfx.vertex.schedule import parse_cron, schedule_arguments

    config = dataclasses.replace(vertex_config, cron="0 6 * * 1", max_runs=10, start_time="2027-01-04T00:00:00+01:00")
    assert schedule_arguments(config) == {
        "cron": "0 6 * * 1",
        "display_name": "kfx-beans1",
        "start_time": "2027-01-03T23:00:00Z",
        "end_time": None,
        "max_run_count": 10,
        "max_concurrent_run_count": 1,
        "service_account": vertex_config.service_account,
        "network": "projects/123456789/global/networks/kfx-peered",
    }
    # Mondays at 06:00 UTC from a fixed start: the same three times on every machine.
    start = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert [t.isoformat() for t in parse_cron("0 6 * * 1").next_runs(3, after=start)] == [
        "2027-01-04T06:00:00+00:00",
        "2027-01-11T06:00:00+00:00",
        "2027-01-18T06:00:00+00:00",
    ]
    with pytest.raises(ConfigError, match="kfx schedule needs --cron"):
        schedule_arguments(vertex_config)
