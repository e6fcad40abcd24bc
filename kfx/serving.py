"""The serving check: does a trained model load, and answer as here, where only the serving image's packages are?

Vertex AI serves kfx models with its prebuilt scikit-learn image (:mod:`kfx.vertex.images`),
whose scikit-learn series is the one kfx trains with (the locked, installed release). That
image has scikit-learn, joblib, NumPy, SciPy and threadpoolctl, and nothing of kfx, the
trainer or pandas: a pickle that needs anything else does not load there.

Locally the check runs :mod:`kfx.serving_check` (a script that imports only the standard
library, NumPy and joblib) in a *serving-only environment*: a virtual environment holding
exactly those packages, at the versions installed here, made once and kept
(:attr:`Config.resolved_serving_env <kfx.config.Config.resolved_serving_env>`). It is made in a
temporary sibling folder and renamed into place, with a marker recording its pins; when the
pins change (another scikit-learn is locked), it is made again.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, Optional

from kfx.errors import ServingError

SERVING_PACKAGES = ("scikit-learn",)
"""What a scikit-learn model needs, with everything it requires (joblib, NumPy, SciPy, threadpoolctl…)."""

MARKER = "kfx-serving-env.json"
"""The file in the environment's folder that records what it was made with."""

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "serving_check.py")
"""The check itself: a self-contained script, run in the serving environment or the serving image."""

REQUEST_ROWS = 5000
"""The most test rows one check sends: all of beans' 1,362; a bounded request on large tables."""

MAKE_TIMEOUT = 900
"""Seconds that making the environment (venv, then pip downloading four wheels) may take."""

CHECK_TIMEOUT = 600
"""Seconds the check may take in the serving environment before the model counts as not serving."""


def pins() -> dict[str, str]:
    """The serving environment's packages at the versions installed here: scikit-learn and what it
    requires, all the way down (joblib, NumPy, SciPy, threadpoolctl, and joblib's cloudpickle).

    scikit-learn is the locked release, whose series names the serving image
    (:func:`kfx.vertex.images.serving_image`); the others are the ones it was tested with.
    """
    from importlib.metadata import distribution

    from packaging.requirements import Requirement

    found: dict[str, str] = {}
    todo = list(SERVING_PACKAGES)
    while todo:
        name = todo.pop(0).lower().replace("_", "-")
        if name in found:
            continue
        dist = distribution(name)
        found[name] = dist.version
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return found


def env_python(folder: str) -> str:
    """The Python of the environment in ``folder``."""
    return os.path.join(os.path.abspath(folder), "bin", "python")


def _wanted() -> dict[str, Any]:
    return {"python": f"{sys.version_info.major}.{sys.version_info.minor}", "pins": pins()}


def _recorded(folder: str) -> Optional[dict[str, Any]]:
    try:
        with open(os.path.join(folder, MARKER)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def is_ready(folder: str) -> bool:
    """Whether ``folder`` holds a serving environment made with today's pins."""
    return _recorded(folder) == _wanted() and os.path.exists(env_python(folder))


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _run(command: Sequence[str], folder: str, what: str, fix: str) -> None:
    try:
        proc = subprocess.run(list(command), capture_output=True, text=True, timeout=MAKE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ServingError(
            f"The serving environment {folder!r} could not be made: {what} took more than {MAKE_TIMEOUT} s; {fix}."
        ) from None
    except OSError as err:
        raise ServingError(
            f"The serving environment {folder!r} could not be made: {what} did not start ({err}); {fix}."
        ) from None
    if proc.returncode != 0:
        raise ServingError(
            f"The serving environment {folder!r} could not be made: {what} failed "
            f"({_last_line(proc.stderr or proc.stdout)}); "
            f"{fix}."
        )


def _make(work: str, folder: str, wanted: dict[str, Any]) -> None:
    _run(
        [sys.executable, "-m", "venv", work],
        folder,
        "python -m venv",
        "install Python's venv module (on Debian: apt-get install python3-venv) and run again",
    )
    requirements = [f"{name}=={v}" for name, v in wanted["pins"].items()]
    # pip compiles the packages' bytecode as it installs them: without it every check would compile
    # scikit-learn again where PYTHONDONTWRITEBYTECODE is set (as `make setup` explains).
    _run(
        [
            env_python(work),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            *requirements,
        ],
        folder,
        f"pip install {' '.join(requirements)}",
        "check that this machine reaches the package index pip is configured with, or pass --serving-env with a "
        "folder that holds such an environment, and run again",
    )
    _run(
        [env_python(work), "-I", "-c", "import joblib, numpy, scipy, sklearn.svm, sklearn.ensemble, threadpoolctl"],
        folder,
        "importing the installed packages",
        "install those pins into a fresh virtual environment by hand to see why",
    )
    with open(os.path.join(work, MARKER), "w") as f:
        json.dump(wanted, f, indent=2)


def ensure_env(folder: str) -> str:
    """The Python of the serving-only environment in ``folder``, made first when it is missing or stale.

    Args:
        folder: Where the environment is kept (``Config.resolved_serving_env``).

    Returns:
        The path of its ``bin/python``.

    Raises:
        ServingError: If it cannot be made; nothing half-made is left in ``folder``.
    """
    folder = os.path.abspath(folder)
    if is_ready(folder):
        return env_python(folder)
    wanted = _wanted()
    parent, name = os.path.split(folder)
    try:
        os.makedirs(parent, exist_ok=True)
        work = tempfile.mkdtemp(prefix=f".{name}-making-", dir=parent)
    except OSError as err:
        why = "a file has that name" if os.path.isfile(parent) else err.strerror or str(err)
        raise ServingError(
            f"The serving environment {folder!r} could not be made: {parent!r} is not a folder kfx may write "
            f"({why}); pass --serving-env with one that is."
        ) from None
    stale = ""
    try:
        _make(work, folder, wanted)
        if is_ready(folder):  # another run made it meanwhile (and may be using it): keep that one
            return env_python(folder)
        if os.path.lexists(folder):
            # Out of the way first: a rename does not replace a folder that has files.
            stale = tempfile.mkdtemp(prefix=f".{name}-stale-", dir=parent)
            os.rename(folder, os.path.join(stale, name))
        try:
            os.rename(work, folder)
        except OSError:
            # Another run put its environment there first: use it when it is as wanted.
            if not is_ready(folder):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if stale:
            shutil.rmtree(stale, ignore_errors=True)
    return env_python(folder)


def json_value(value: Any) -> Any:
    """A matrix cell as JSON holds it in a prediction request: numbers and text as such, a missing value as null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, int):
        return value
    try:
        if value != value:  # NaT
            return None
    except TypeError:  # pandas' NA is neither equal nor unequal to itself
        return None
    return str(value)


def request_body(matrix: Any) -> dict[str, list]:
    """The Vertex AI prediction request body of a 2-D feature matrix: ``{"instances": [[...], ...]}``."""
    return {"instances": [[json_value(v) for v in row] for row in matrix.tolist()]}


def run_check(
    python: str, model_dir: str, request_path: str, expected_path: str, result_path: str, timeout: float = CHECK_TIMEOUT
) -> dict[str, Any]:
    """Runs :mod:`kfx.serving_check` with ``python`` (isolated: no kfx, no user packages) and reads its result.

    A model that does not load or answer, answers otherwise, dies or takes longer than
    ``timeout`` gives a result with ``ok`` false and the reason.

    Raises:
        ServingError: If the script itself cannot run there (a broken environment).
    """
    command = [
        python,
        "-I",
        SCRIPT,
        "--model-dir",
        model_dir,
        "--request",
        request_path,
        "--expected",
        expected_path,
        "--result",
        result_path,
    ]
    failure = ""
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        failure = f"the serving environment did not answer within {timeout:g} s"
    else:
        if proc.returncode < 0:
            failure = f"the serving process ended by signal {-proc.returncode} ({_last_line(proc.stderr)})"
        elif proc.returncode != 0 or not os.path.exists(result_path):
            env = os.path.dirname(os.path.dirname(python))
            raise ServingError(
                f"The serving check could not run with {python!r} (exit {proc.returncode}: {_last_line(proc.stderr)}); "
                f"delete {env!r} so that the next run makes it again."
            )
    if failure:
        result = {
            "ok": False,
            "reason": failure,
            "rows": 0,
            "agreed": 0,
            "mismatches": [],
            "sklearn_version": "",
            "python_version": "",
            "warnings": [],
        }
        with open(result_path, "w") as f:
            json.dump(result, f, indent=2)
        return result
    with open(result_path) as f:
        return json.load(f)
