"""A task's ``packages_to_install``, checked against what this Python already has.

A KFP component with ``packages_to_install`` (and any plain ``@dsl.component``, for which kfp
adds ``kfp==VERSION``) runs ``sh -c "pip install …" && "$0" "$@"`` before its Python command.
kfp.local's subprocess runner (``use_venv=False``) installs into the Python running the pipeline,
so when every requirement is already installed there, pip only says so, after 1 to 3 s of
start-up and checking per ``pip install`` (about 12 s for the team example's two on a busy 2-core
machine). And a command with an install in front is not one the run's warm process
(:mod:`kfx.warm`) can fork, so such a task also imports pandas and scikit-learn again.

:func:`without_satisfied_install` makes the same check pip would (each requirement's installed
version against its specifier, its marker, and the dependencies pip would resolve), against the
installed metadata each time a task starts: nothing is remembered between tasks or runs. When all
are satisfied, the task runs its Python command alone, as it would after pip had said so; when
anything is missing, different, or not a plain requirement (a path, a URL, an option kfx does not
know), the command is left whole and pip runs as before.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from typing import Optional

_SCRIPT = re.compile(
    r'\s*if ! \[ -x "\$\(command -v pip\)" \]; then\s.*?\sfi\s+'
    r'PIP_DISABLE_PIP_VERSION_CHECK=1 (?P<installs>.+?) && "\$0" "\$@"\s*',
    re.S,
)
"""kfp 2.13's script that installs a component's packages, then runs ``"$0" "$@"`` (the Python command)."""

_INSTALL = re.compile(r"(?P<python>\S+) -m pip install --quiet --no-warn-script-location (?P<parts>.*)")
_WHERE_FROM = ("--index-url", "--extra-index-url", "--trusted-host")
"""Options that only say where pip would download from: nothing is downloaded when all is installed."""


def install_requirements(full_command: list[str]) -> Optional[list[tuple[list[str], bool]]]:
    """The requirements of each ``pip install`` in front of a task's command, with whether it
    installs their dependencies too (no ``--no-deps``); None for another command, or an install
    that does more than name requirements."""
    if len(full_command) < 4 or full_command[:2] != ["sh", "-c"]:
        return None
    match = _SCRIPT.fullmatch(full_command[2])
    if match is None:
        return None
    installs = []
    for command in match["installs"].split(" && "):
        found = _INSTALL.fullmatch(command.strip())
        if found is None or found["python"] != sys.executable:
            return None  # pip of another Python installs elsewhere
        try:
            parts = shlex.split(found["parts"])
        except ValueError:
            return None
        requirements, deps, skip = [], True, False
        for part in parts:
            if skip:
                skip = False
            elif part == "--no-deps":
                deps = False
            elif part in _WHERE_FROM:
                skip = True
            elif part.startswith("-"):
                return None
            else:
                requirements.append(part)
        installs.append((requirements, deps))
    return installs


def satisfied(requirement: str, deps: bool = True, extras: tuple[str, ...] = (), seen: Optional[set] = None) -> bool:
    """Whether ``pip install REQUIREMENT`` would find it already installed in this Python, and with
    ``deps`` every dependency it would resolve too; False whenever pip might do anything."""
    import importlib.metadata

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        wanted = Requirement(requirement)
    except InvalidRequirement:
        return False  # a path or an archive: pip decides
    if wanted.url:
        return False
    if wanted.marker is not None and not any(wanted.marker.evaluate({"extra": e}) for e in ("", *extras)):
        return True  # not for this Python: pip skips it too
    try:
        installed = importlib.metadata.distribution(wanted.name)
    except importlib.metadata.PackageNotFoundError:
        return False
    if not wanted.specifier.contains(installed.version, prereleases=True):
        return False
    if not deps:
        return True
    seen = set() if seen is None else seen
    name = canonicalize_name(wanted.name)
    if name in seen:
        return True
    seen.add(name)
    return all(
        satisfied(dependency, True, tuple(sorted(wanted.extras)), seen) for dependency in installed.requires or ()
    )


def without_satisfied_install(full_command: list[str]) -> list[str]:
    """The task's Python command alone when every package its ``pip install`` names is installed
    here (:func:`satisfied`), else ``full_command`` unchanged."""
    installs = install_requirements(full_command)
    if not installs or shutil.which("pip") is None:
        return full_command  # without pip on PATH the script would install pip first
    try:
        if all(satisfied(r, deps) for requirements, deps in installs for r in requirements):
            return full_command[3:]  # "$0" "$@"
    except Exception:  # noqa: BLE001 - metadata kfx cannot read: pip reads it, as before
        pass
    return full_command
