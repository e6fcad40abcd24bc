"""kfp's package imported for a local run without its cluster client, which a local run never uses.

``import kfp`` imports ``kfp.Client``, and with it the Kubernetes client library: about 0.25 s
of start-up on an idle 2-core machine and over 1 s on a busy one, a quarter of a ``kfx run``
whose steps are all reused. kfp's own ``__init__`` leaves the client (and its ``components`` and
``dsl`` shortcuts) out when ``_KFP_RUNTIME`` is ``true``, as every task's process has it.
:func:`import_kfp_lean` imports the top package that way, then puts the variable back as it
was, so no task and no other module sees it changed; ``kfp.dsl``, ``kfp.local`` and the rest
import as usual, and ``kfp.Client`` or ``kfp.components`` still work: the package gets a module
``__getattr__`` that imports them the first time they are asked for.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

_FLAG = "_KFP_RUNTIME"


def _lazy(name: str) -> Any:
    """``kfp.<name>`` for a name kfp's ``__init__`` would have imported: ``Client`` or a subpackage."""
    if name == "Client":
        from kfp.client import Client

        return Client
    if name.startswith("_"):
        raise AttributeError(f"module 'kfp' has no attribute {name!r}")
    try:
        return importlib.import_module(f"kfp.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"module 'kfp' has no attribute {name!r}") from None


def import_kfp_lean() -> None:
    """Imports the ``kfp`` package without its cluster client, unless something imported kfp already.

    Call it before the first ``import kfp`` of a process that only runs pipelines locally.
    """
    if "kfp" in sys.modules:
        return
    before = os.environ.get(_FLAG)
    os.environ[_FLAG] = "true"
    try:
        kfp = importlib.import_module("kfp")
    finally:
        if before is None:
            del os.environ[_FLAG]
        else:
            os.environ[_FLAG] = before
    if not hasattr(kfp, "__getattr__"):
        kfp.__getattr__ = _lazy  # type: ignore[method-assign]  # a module-level __getattr__ (PEP 562)
