"""Batch prediction on this machine: ``kfx predict``, a second pipeline run through kfp.local like ``kfx run``.

:func:`run_predict` runs :func:`kfx.pipelines.local_predict.batch_predict` with
:func:`kfx.local.run_local`: the same console lines,
``summary.json``, lineage records (pipeline ``kfx-predict-<model>``) and step caching as a
training run. The predictions CSV is an artifact of the run folder; ``output`` also copies
it to a path of the user's, whole or not at all, never over a file unless asked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from typing import TYPE_CHECKING, Any, Optional, TextIO

from kfx.errors import ConfigError
from kfx.events import Listener

if TYPE_CHECKING:
    from kfx.config import Config
    from kfx.local import RunResult

_EXISTS = "--output {output!r} exists already; pass another path, or --force to replace it."


def pipeline_name(model_name: str) -> str:
    """The prediction pipeline's name for a model, and so its runs' (``kfx-predict-beans``)."""
    return f"kfx-predict-{model_name}"


def predict_config(config: Config, model_name: str) -> Config:
    """``config`` for scoring with ``model_name``: the model's name, and the prediction pipeline's name."""
    return config.replace(model_name=model_name, pipeline_name=pipeline_name(model_name))


def check_output(output: str, force: bool) -> str:
    """The absolute path to copy the predictions to ("" for none), once it may be written.

    Raises:
        ConfigError: If it is a folder, or a file that exists and ``force`` is not set.
    """
    if not output:
        return ""
    path = os.path.abspath(output)
    if os.path.isdir(path):
        raise ConfigError(
            f"--output {output!r} is a folder; pass the path of a file to write, such as "
            f"{output.rstrip('/')}/predictions.csv."
        )
    parent = os.path.dirname(path)
    if os.path.exists(parent) and not os.path.isdir(parent):
        raise ConfigError(f"--output {output!r} is inside {parent!r}, which is a file; pass a path in a folder.")
    if os.path.lexists(path) and not force:
        raise ConfigError(_EXISTS.format(output=output))
    from kfx.disk import check_folder

    # Found now, not after the whole run: a read-only, full or foreign folder (nothing is made in it).
    check_folder(parent, "the folder of --output", create=False)
    return path


def copy_output(predictions: str, output: str, force: bool) -> None:
    """Copies the predictions file to ``output`` whole or not at all: written under a hidden name beside
    it, then linked (never over an existing file) or, with ``force``, renamed over it.

    Raises:
        ConfigError: If ``output`` appeared while the run went and ``force`` is not set.
        DiskError: If its folder cannot be written now (the disk filled or turned read-only).
    """
    from kfx.disk import disk_error

    folder = os.path.dirname(output)
    partial = ""
    try:
        os.makedirs(folder, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(output)}.", suffix=".partial")
        with os.fdopen(handle, "wb") as out, open(predictions, "rb") as source:
            shutil.copyfileobj(source, out)
        os.chmod(partial, 0o666 & ~_umask())
        if force:
            os.replace(partial, output)
        else:
            try:
                os.link(partial, output)  # fails when the path exists: nothing is overwritten
            except FileExistsError:
                raise ConfigError(_EXISTS.format(output=output)) from None
    except OSError as err:
        raise disk_error(err, output, ", then run kfx predict again") from None
    finally:
        if partial and os.path.exists(partial):
            with contextlib.suppress(OSError):  # a disk turned read-only keeps it; nothing more to do
                os.unlink(partial)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_predict(
    config: Config,
    reference: str,
    output: str = "",
    force: bool = False,
    out: TextIO = sys.stdout,
    verbose: bool = False,
    listeners: Optional[list[Listener]] = None,
) -> RunResult:
    """Scores ``config.source`` with the registry model ``reference`` through kfp.local.

    Args:
        config: The run's configuration: ``source`` (the table), the registry, runs and lineage folders,
            ``drift_threshold``, ``fail_on_anomalies``, ``enable_caching``.
        reference: ``NAME``, ``NAME@VERSION`` or ``NAME@latest`` (see :func:`kfx.registry.parse_reference`).
        output: A path to copy the predictions CSV to; empty: only in the run folder.
        force: Replace ``output`` when it exists.
        out: Where step lines go.
        verbose: Also stream kfp's own log to ``out``.
        listeners: More task listeners.

    Returns:
        The run; a failed run has ``status == "failed"`` and an ``error()``. A complete run's
        ``summary["predictions"]`` names the file, and ``output`` when it was copied.

    Raises:
        KfxError: Before anything runs, for a malformed reference, an unknown model or version, a
            version whose files are not the ones pushed, a source that cannot be read or an ``output`` that exists.
        Interrupted: As :func:`kfx.local.run_local`.
    """
    from kfx import data, manifest, registry
    from kfx.local import run_local

    name, version = registry.parse_reference(reference)
    if not (config.source or "").strip():
        raise ConfigError("No table to score; pass --source with a .csv or .parquet file, gs:// path or bq:// table.")
    data.parse_source(config.source)
    found = registry.resolve(config.resolved_registry_dir, name, version, required=True)
    manifest.check_version(found["uri"])  # a changed version is refused before any run folder is made
    target = check_output(output, force)
    config = predict_config(config, name)
    copier = [_OutputCopier(target, force)] if target else []
    from kfx.pipelines import arguments, local_values
    from kfx.pipelines.local_predict import batch_predict

    values = {**local_values(config), "model_version": version}
    return run_local(
        config,
        out=out,
        verbose=verbose,
        listeners=[*copier, *(listeners or [])],
        pipeline=batch_predict,
        arguments=arguments(batch_predict, values),
    )


class _OutputCopier(Listener):
    """Copies a complete run's predictions to ``--output`` as the run ends, before the lineage store
    records its end and ``summary.json`` is written: a copy that fails makes the run fail, in both."""

    def __init__(self, target: str, force: bool):
        self.target = target
        self.force = force

    def run_finished(self, run_id: str, summary: dict[str, Any]) -> None:
        """Copies the predictions file, or turns the run into a failed one with the copy's sentence."""
        from kfx.errors import KfxError

        predictions = summary.get("predictions") or {}
        if summary["status"] != "complete" or not predictions.get("file"):
            return
        try:
            copy_output(predictions["file"], self.target, self.force)
        except KfxError as err:
            summary.update(status="failed", error_kind=type(err).__name__, error=str(err))
            return
        predictions["output"] = self.target
