"""A pipeline task's entry point: kfp's executor inside kfx's handler of a user's errors.

kfp runs a Python component as ``python3 -m kfp.dsl.executor_main ARGS…``. Every kfx
component (:func:`kfx.component.component`) runs ``python3 -m kfx.executor -m
kfp.dsl.executor_main ARGS…`` instead: the same executor, run as ``python -m`` would
run it, so that a :class:`~kfx.errors.KfxError` raised anywhere in the component's body
prints one ``kfx-error: Kind: sentence`` line (the local runner shows that sentence,
:mod:`kfx.local`) and ends the task with the error's exit code, rather than a traceback
and exit 1. Any other error keeps its traceback: that is the useful thing there.

The declaration does it, not each body, so no component can forget it; the same command
runs on kfp.local, in the run's warm process (:mod:`kfx.warm`) and in the kfx image on
Vertex AI. Only :mod:`kfx.errors` is imported before the executor runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

ERROR_PREFIX = "kfx-error: "
"""Starts the line a task prints for a user's error; :mod:`kfx.local` watches for it."""
KFP_EXECUTOR = "kfp.dsl.executor_main"
COMMAND = f"python3 -m kfx.executor -m {KFP_EXECUTOR}"
"""What a kfx component's command runs where kfp's would run ``python3 -m kfp.dsl.executor_main``."""


def run(argv: Sequence[str]) -> None:
    """Runs ``-m MODULE ARGS…`` as ``python -m MODULE ARGS…`` would; a KfxError ends the process.

    Args:
        argv: ``["-m", MODULE, *ARGS]``.

    Raises:
        SystemExit: With the error's exit code after printing its ``kfx-error:`` line, for a
            KfxError; with a usage line for arguments that name no module.
    """
    import runpy

    from kfx.errors import KfxError

    if len(argv) < 2 or argv[0] != "-m":
        raise SystemExit("usage: python -m kfx.executor -m MODULE [ARGS...]")
    module = argv[1]
    sys.argv = [module, *argv[2:]]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except KfxError as err:
        print(f"{ERROR_PREFIX}{type(err).__name__}: {err}", flush=True)
        raise SystemExit(err.exit_code) from None


if __name__ == "__main__":
    run(sys.argv[1:])
