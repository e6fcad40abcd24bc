"""Running the compiled pipeline on a schedule: a Vertex AI ``PipelineJobSchedule``.

The cron expression is checked here, offline, before anything is compiled or
sent: Vertex AI takes five fields (minute, hour, day of month, month, day of
week), optionally after ``TZ=`` or ``CRON_TZ=`` and an IANA time zone, and a
schedule it refuses would otherwise surface only after the pipeline was built.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from kfx.errors import ConfigError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from google.cloud.aiplatform import PipelineJobSchedule

    from kfx.config import Config

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
RANGES = {
    "minute": "0-59",
    "hour": "0-23",
    "day-of-month": "1-31",
    "month": "1-12 or JAN-DEC",
    "day-of-week": "0-7 or SUN-SAT",
}
# Numbers, ranges, lists and steps in every field; names (JAN, MON) only where cron has them.
# Quartz's L, W, # and ? and croniter's seconds field are not cron as Vertex AI reads it.
_NUMERIC = re.compile(r"^[0-9*,/-]+$")
_NAMED = re.compile(r"^[0-9A-Za-z*,/-]+$")
_NAMES = {
    "month": {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"},
    "day-of-week": {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"},
}
_TZ = re.compile(r"^(?:CRON_)?TZ=(\S+)$")
EXAMPLE = "'TZ=Europe/Berlin 0 3 * * MON' (03:00 every Monday)"


@dataclass(frozen=True)
class Cron:
    """A checked cron expression.

    Attributes:
        expression: As given (what Vertex AI is sent).
        fields: Its five fields.
        timezone: The IANA time zone it runs in; ``UTC`` when it names none.
    """

    expression: str
    fields: tuple[str, ...]
    timezone: str

    def next_runs(self, count: int = 3, after: Optional[dt.datetime] = None) -> list[dt.datetime]:
        """The next ``count`` times it fires after ``after`` (default now), in its time zone."""
        from zoneinfo import ZoneInfo

        from croniter import croniter

        zone = ZoneInfo(self.timezone)
        start = (after or dt.datetime.now(dt.UTC)).astimezone(zone)
        it = croniter(" ".join(self.fields), start)
        return [it.get_next(dt.datetime) for _ in range(count)]


def parse_cron(expression: str) -> Cron:
    """Checks a cron expression as Vertex AI schedules take it.

    Args:
        expression: Five cron fields, optionally after ``TZ=Area/City`` (or ``CRON_TZ=``).

    Returns:
        The checked expression.

    Raises:
        ConfigError: One sentence naming what is wrong (field count, a field, the time zone, or a
            date that never comes, such as 30 February).
    """
    from zoneinfo import available_timezones

    from croniter import CroniterBadDateError, croniter

    parts = (expression or "").split()
    timezone = "UTC"
    if parts and "=" in parts[0]:
        match = _TZ.match(parts[0])
        if not match:
            raise ConfigError(
                f"--cron {expression!r} starts with {parts[0]!r}; write TZ=Area/City "
                f"before the fields, such as {EXAMPLE}."
            )
        timezone = match[1]
        if timezone not in available_timezones():
            raise ConfigError(
                f"--cron {expression!r} names the time zone {timezone!r}, which is no IANA "
                "time zone; use one such as Europe/Berlin or UTC."
            )
        parts = parts[1:]
    if len(parts) != len(FIELDS):
        raise ConfigError(
            f"--cron {expression!r} has {len(parts)} field{'s' if len(parts) != 1 else ''}, not 5; "
            f"write minute hour day-of-month month day-of-week, such as {EXAMPLE}."
        )
    for name, part in zip(FIELDS, parts, strict=True):
        pattern = _NAMED if name in _NAMES else _NUMERIC
        names = {word.upper() for word in re.findall(r"[A-Za-z]+", part)}
        alone = " ".join(p if i == FIELDS.index(name) else "*" for i, p in enumerate(parts))
        if not pattern.match(part) or not names <= _NAMES.get(name, set()) or not croniter.is_valid(alone):
            raise ConfigError(
                f"--cron {expression!r}: the {name} field {part!r} is not valid; use {RANGES[name]}, '*', "
                f"ranges (1-5), lists (1,15) and steps (*/15), such as {EXAMPLE}."
            )
    cron = Cron(expression.strip(), tuple(parts), timezone)
    try:
        cron.next_runs(1)
    except CroniterBadDateError:
        raise ConfigError(
            f"--cron {expression!r} never fires (no such date comes); check its day-of-month and month."
        ) from None
    return cron


def parse_time(value: str, option: str) -> Optional[dt.datetime]:
    """An ISO 8601 time with a UTC offset (``Z`` counts), or None for an empty value.

    Raises:
        ConfigError: If ``value`` is not such a time.
    """
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ConfigError(
            f"{option} {value!r} is not a time with its UTC offset; write it like "
            "2026-12-24T03:00:00Z or 2026-12-24T04:00:00+01:00."
        )
    return when


def check_schedule(config: Config) -> Cron:
    """Checks the schedule options (cron, start and end), before anything is compiled or sent.

    Raises:
        ConfigError: One sentence naming the first option that is unset or malformed.
    """
    if not config.cron:
        raise ConfigError(f"kfx schedule needs --cron; pass five cron fields, such as {EXAMPLE}.")
    cron = parse_cron(config.cron)
    start = parse_time(config.start_time, "--start-time")
    end = parse_time(config.end_time, "--end-time")
    if end is not None and end <= (start or dt.datetime.now(dt.UTC)):
        raise ConfigError(
            f"--end-time {config.end_time!r} is not after the schedule's start; pass a later time or none."
        )
    return cron


def rfc3339(when: Optional[dt.datetime]) -> Optional[str]:
    """The time as Vertex AI's API writes timestamps (UTC, ``Z``), or None."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def schedule_console_url(schedule: PipelineJobSchedule) -> str:
    """The Cloud console page of a pipeline schedule."""
    parts = schedule.resource_name.split("/")  # projects/P/locations/L/schedules/ID
    return f"https://console.cloud.google.com/vertex-ai/locations/{parts[3]}/pipelines/schedules/{parts[5]}?project={parts[1]}"


def schedule_arguments(config: Config) -> dict[str, Any]:
    """The arguments of ``PipelineJob.create_schedule`` that ``kfx schedule`` sends: what a preview
    without a project shows.

    Raises:
        ConfigError: If a schedule option is unset or malformed (see :func:`check_schedule`).
    """
    from kfx.vertex.submit import display_name

    config = config.replace(target="vertex")
    cron = check_schedule(config)
    return {
        "cron": cron.expression,
        "display_name": display_name(config),
        "start_time": rfc3339(parse_time(config.start_time, "--start-time")),
        "end_time": rfc3339(parse_time(config.end_time, "--end-time")),
        "max_run_count": config.max_runs or None,
        "max_concurrent_run_count": config.max_concurrent_runs,
        "service_account": config.service_account or None,
        "network": config.peering_network or None,
    }


def create_schedule(
    config: Config, package_path: Optional[str] = None, credentials: Optional[Credentials] = None
) -> PipelineJobSchedule:
    """Checks the options, compiles ``config.pipeline`` like ``kfx submit`` and creates its schedule.

    Args:
        config: The configuration: the pipeline's options and ``cron``, ``max_concurrent_runs``,
            ``max_runs``, ``start_time`` and ``end_time``.
        package_path: Where to keep the compiled YAML; defaults to a temporary file.
        credentials: Google credentials; defaults to the application default credentials.

    Returns:
        The created schedule; its display name is the pipeline's.

    Raises:
        ConfigError: If an option is unset or malformed (checked before anything is compiled or sent).
    """
    from kfx.vertex.submit import compiled_job

    config = config.replace(target="vertex")
    if config.experiment:
        # aiplatform adds a run to an experiment from the client, after creating it; a schedule's runs are
        # created by Vertex AI, so an experiment could not be kept: say so rather than drop it.
        raise ConfigError(
            "--experiment applies to one submitted run, not a schedule's runs; leave it out of kfx schedule."
        )
    arguments = schedule_arguments(config)  # checks the schedule before anything is compiled
    job = compiled_job(config, package_path, credentials)
    return job.create_schedule(**arguments)
