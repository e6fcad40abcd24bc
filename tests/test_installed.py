"""A task's packages_to_install already installed here: pip is not run and the warm process forks the task;
and ``kfx run`` imports kfp without its cluster client (:mod:`kfx.installed`, :mod:`kfx.kfp_import`).

The commands are the ones kfp itself compiles for real components; the requirements are checked
against this Python's real installed metadata, and a package with a missing dependency is a real
``.dist-info`` folder on ``sys.path``.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from kfp import dsl

from kfx.installed import install_requirements, satisfied, without_satisfied_install
from kfx.kfp_local import python_command_parts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def full_command(component) -> list[str]:
    """The task's command as kfp.local's subprocess runner hands it over (``python3`` made this Python)."""
    container = component.component_spec.implementation.container
    parts = [*container.command, *container.args]
    return [p.replace("python3", sys.executable) for p in parts]


def with_packages(*packages: str, **options):
    @dsl.component(base_image="python:3.11-slim", packages_to_install=list(packages), **options)
    def step(x: int) -> int:
        return x

    return step


def test_the_team_trainers_installs_are_read_and_its_python_command_runs_alone():
    sys.path.insert(0, os.path.join(REPO, "examples"))
    try:
        from team_pipeline import train_forest
    finally:
        sys.path.pop(0)
    command = full_command(train_forest)
    assert install_requirements(command) == [
        (["kfp==2.13.0", 'typing-extensions>=3.7.4,<5; python_version<"3.9"'], False),
        (["pandas", "scikit-learn"], True),
    ]
    alone = without_satisfied_install(command)
    assert alone == command[3:] and alone[:2] == ["sh", "-ec"]
    # The shape the warm process forks: kfp's executor on the component's source.
    parts = python_command_parts(alone)
    assert parts.modules == ("kfp.dsl.executor_main",) and "def train_forest(" in parts.source


@pytest.mark.parametrize(
    "packages, options",
    [
        (("kfx-surely-not-an-installed-package",), {}),
        (("scikit-learn>=999",), {}),
        (("pandas", "git+https://example.invalid/pandas.git"), {}),
        (("./local/package",), {}),
    ],
)
def test_anything_not_installed_as_asked_keeps_pip_in_front(packages, options):
    command = full_command(with_packages(*packages, **options))
    assert without_satisfied_install(command) is command


def test_a_requirement_for_another_python_or_from_another_index_needs_nothing_here():
    command = full_command(
        with_packages("pandas", 'nothing-here; python_version < "3"', pip_index_urls=["https://example.invalid/simple"])
    )
    assert install_requirements(command)[-1][0] == ["pandas", 'nothing-here; python_version < "3"']
    assert without_satisfied_install(command) == command[3:]


def test_pip_of_another_python_installs_elsewhere_so_the_command_stays():
    command = [p.replace(sys.executable, "/usr/bin/python3") for p in full_command(with_packages("pandas"))]
    assert install_requirements(command) is None and without_satisfied_install(command) is command


def test_a_package_whose_dependency_is_missing_is_not_satisfied_unless_no_deps(tmp_path, monkeypatch):
    info = tmp_path / "kfx_fake_trainer-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kfx-fake-trainer\nVersion: 1.0\nRequires-Dist: kfx-missing-dependency\n"
        'Requires-Dist: pandas\nRequires-Dist: other-missing; extra == "gpu"\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert satisfied("kfx-fake-trainer==1.0", deps=False)
    assert not satisfied("kfx-fake-trainer==1.0")
    assert not satisfied("kfx-fake-trainer==2.0", deps=False)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: kfx-fake-trainer\nVersion: 1.0\nRequires-Dist: pandas\n"
        'Requires-Dist: other-missing; extra == "gpu"\n'
    )
    assert satisfied("kfx-fake-trainer")  # the extra's dependency only counts when the extra is asked for
    assert not satisfied("kfx-fake-trainer[gpu]")


def test_kfp_imported_lean_has_no_cluster_client_until_asked_and_leaves_the_environment_alone():
    code = textwrap.dedent("""
        import json, os, sys
        from kfx.kfp_import import import_kfp_lean
        import_kfp_lean()
        import kfp
        from kfp import dsl, local
        lean = "kubernetes" not in sys.modules and "kfp.client" not in sys.modules
        flag = os.environ.get("_KFP_RUNTIME")
        from kfp import Client
        print(json.dumps({"lean": lean, "flag": flag, "client": Client.__name__, "same": kfp.Client is Client,
                          "components": kfp.components.__name__, "pipeline": callable(dsl.pipeline)}))
    """)
    env = {k: v for k, v in os.environ.items() if k != "_KFP_RUNTIME"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "lean": True,
        "flag": None,
        "client": "Client",
        "same": True,
        "components": "kfp.components",
        "pipeline": True,
    }


PIPELINE = '''
from kfp import dsl


@dsl.component(base_image="python:3.11-slim", packages_to_install=["pandas"])
def parent() -> str:
    """The command line of the process that started this task."""
    import os

    with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
        return f.read().replace(b"\\0", b" ").decode()


@dsl.pipeline(name="installed")
def installed():
    parent()
'''


@pytest.mark.e2e
def test_kfx_run_forks_a_task_whose_packages_are_installed_without_pip_or_the_cluster_client(tmp_path):
    (tmp_path / "installed.py").write_text(PIPELINE)
    runs = tmp_path / "runs"
    # The CLI's own main in a child process, which then says which modules it imported.
    code = (
        "import json, sys\nfrom kfx.cli import main\nstatus = main(sys.argv[1:])\n"
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "run",
            "--pipeline",
            f"{tmp_path}/installed.py:installed",
            "--runs-dir",
            str(runs),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    output, last = proc.stdout.rstrip().rsplit("\n", 1)
    summary, imported = json.loads(output[output.index("{") :]), json.loads(last)
    assert imported["status"] == 0
    assert [s["state"] for s in summary["steps"]] == ["complete"]
    assert "-m kfx.warm" in summary["parent"]["Output"]  # forked by the run's warm process, not started fresh
    log = open(summary["log"]).read()
    assert "kfx: packages_to_install already installed in this Python; pip not run" in log
    assert "kfp.local" in imported["modules"] and "kfp.client" not in imported["modules"]
    assert not [m for m in imported["modules"] if m.startswith("kubernetes")]


def test_a_step_whose_packages_are_installed_says_pip_was_not_run(capsys):
    from kfx.stops import Stop

    Stop().run_process(full_command(with_packages("pandas")))  # kfp's placeholders are not filled: the step fails
    said = capsys.readouterr().out
    assert said.startswith("kfx: packages_to_install already installed in this Python; pip not run\n")
