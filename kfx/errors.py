"""The errors a user can cause, each carrying one sentence that names the input and the fix."""


class KfxError(Exception):
    """An error caused by user input; its message is one sentence naming the input and the fix.

    The CLI prints the message without a traceback and exits with ``exit_code``.
    """

    exit_code = 2


class SourceError(KfxError):
    """A data source that cannot be found, parsed or read."""


class DataError(KfxError):
    """A table that was read but cannot be used (no rows, missing label, bad values)."""


class ConfigError(KfxError):
    """An option or parameter with a value kfx cannot use."""


class ModelNotFound(KfxError):
    """A model or model version that the registry does not hold."""


class ModelMismatch(KfxError):
    """A table that does not fit the registry model it is compared with or scored by."""


class TrainerError(KfxError):
    """A team's trainer (``--trainer``) that cannot be found, fails, or writes no model."""


class AnomaliesFound(KfxError):
    """TFDV found anomalies and ``fail_on_anomalies`` is set."""

    exit_code = 3


class StepFailed(KfxError):
    """A pipeline step failed; the message is the step's own error sentence."""

    exit_code = 1


class ServingError(KfxError):
    """The serving-only environment cannot be made, or the serving check cannot run in it."""


class DiskError(KfxError):
    """A folder or file kfx must write that cannot be written: a file in the way, a read-only or full disk."""


class RegistryError(KfxError):
    """A registry version whose files are missing, changed since the push, or unreadable."""
