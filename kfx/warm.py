"""A warm process for a local run's steps: the libraries steps share, imported once, a fork per step.

Every kfp.local task is a new Python process, and a step that loads a model pays
for importing scikit-learn, pandas and SciPy (about a second here) before it does
anything; a run whose earlier steps are cached is mostly that. As PySpark's worker
daemon and gunicorn's preload do, a run starts one *warm* process beside it, which
imports those libraries while kfx starts up, then forks one child per step. The
child runs exactly what kfp.local's command would (the component's source written
to a file, ``python -m kfp.dsl.executor_main`` with the same arguments and
environment, through :mod:`kfx.executor` when the command says so, as every kfx
component's does), in a session of its own, its output on a pipe to kfx.

The warm process imports one module at a time and forks a step as soon as it is
asked, between two imports: a step starts with whatever is imported by then and
imports the rest itself, so it never starts later than a fresh process would. If
the warm process has gone, or for a command that is not kfp's Python-component
command, the step starts as a fresh process as before
(:func:`kfx.processes.start_in_own_group`).
TensorFlow is not imported ahead: forking a process whose threads TensorFlow has
started is not safe, so the statistics step imports it in its own child.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
from typing import Any, Optional

PRELOAD = (
    "kfp.dsl.executor",
    "numpy",
    "pandas",
    "pyarrow",
    "pyarrow.csv",
    "scipy",
    "scipy.sparse",
    "scipy.special",
    "scipy.optimize",
    "scipy.stats",
    "joblib",
    "sklearn",
    "sklearn.utils",
    "sklearn.base",
    "sklearn.pipeline",
    "sklearn.compose",
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.svm",
    "sklearn.ensemble",
    "sklearn.metrics",
)
"""What the warm process imports before it takes steps: what the train and evaluate steps load."""

_MESSAGE = 1 << 20


def step_arguments(full_command: list[str]) -> Optional[list[str]]:
    """The component source and executor arguments of kfp.local's Python-component command, else None.

    kfp.local runs ``sh -ec SCRIPT SOURCE ARGS…``, where the script writes SOURCE to a file and runs
    ``python -m kfp.dsl.executor_main --component_module_path FILE ARGS…`` (a kfx component:
    ``python -m kfx.executor -m kfp.dsl.executor_main …``, see :func:`through_kfx`); the script's
    shape is :func:`kfx.kfp_local.python_command_parts`'s to know. Any other command (or a script
    running some other module) starts as a fresh process.
    """
    from kfx.executor import KFP_EXECUTOR
    from kfx.kfp_local import python_command_parts

    parts = python_command_parts(full_command)
    if parts is None or parts.modules[-1:] != (KFP_EXECUTOR,):
        return None
    return [parts.source, *parts.arguments]


def through_kfx(full_command: list[str]) -> bool:
    """Whether the command runs kfp's executor through :mod:`kfx.executor` (a kfx component's does)."""
    from kfx.executor import KFP_EXECUTOR
    from kfx.kfp_local import python_command_parts

    parts = python_command_parts(full_command)
    return parts is not None and parts.modules == ("kfx.executor", KFP_EXECUTOR)


class WarmProcess:
    """A step forked by the warm process: what kfx needs of a ``subprocess.Popen``.

    Its pid leads a session and process group of its own; the warm process collects
    its exit only when :meth:`wait` says so, so until then the pid cannot be reused.
    """

    def __init__(self, server: WarmServer, pid: int, stdout: Any):
        self.server = server
        self.pid = pid
        self.stdout = stdout
        self.returncode: Optional[int] = None
        self._status: Optional[int] = None

    def exited(self) -> bool:
        """Whether the step has ended (without collecting it)."""
        if self._status is None and self.server.readable(0):
            self._status = self.server.receive()["status"]
        return self._status is not None

    def wait(self) -> int:
        """Waits for the step to end, lets the warm process collect it, and returns its exit status."""
        if self.returncode is None:
            if self._status is None:
                self._status = self.server.receive()["status"]
            self.server.send({"collect": self.pid})
            self.returncode = self._status
        return self.returncode


class WarmServer:
    """The warm process of one run, seen from kfx. ``close()`` ends it."""

    def __init__(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {**os.environ, "_KFP_RUNTIME": "true"}
        # As the trainer sets it before scikit-learn loads OpenMP: threads wait without spinning.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self.socket = ours
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kfx.warm", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        theirs.close()

    def readable(self, timeout: float) -> bool:
        return bool(select.select([self.socket], [], [], timeout)[0])

    def send(self, message: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
        socket.send_fds(self.socket, [json.dumps(message).encode()], list(fds))

    def receive(self) -> dict[str, Any]:
        data = self.socket.recv(_MESSAGE)
        if not data:
            raise OSError("the warm process has ended")
        return json.loads(data)

    def start(self, full_command: list[str]) -> Optional[WarmProcess]:
        """Forks the step ``full_command`` describes; None when it should start as a fresh process."""
        arguments = step_arguments(full_command)
        if arguments is None or self.process.poll() is not None:
            return None
        read, write = os.pipe()
        try:
            request = {
                "arguments": arguments,
                "kfx": through_kfx(full_command),
                "env": dict(os.environ),
                "cwd": os.getcwd(),
            }
            self.send(request, (write,))
            pid = self.receive()["pid"]
        except (OSError, ValueError, KeyError):
            os.close(read)
            return None
        finally:
            os.close(write)
        return WarmProcess(self, pid, os.fdopen(read, "r", buffering=1))

    def close(self) -> None:
        """Ends the warm process: no step runs by then, and it may still be importing."""
        self.socket.close()
        self.process.kill()
        self.process.wait()


# -- the warm process itself -----------------------------------------------------------------------


def _serve(fd: int) -> None:
    """Imports :data:`PRELOAD` one module at a time; between two, forks the step kfx asks for.

    One step runs at a time: its pid goes back at once, its exit status when it ends, and
    it is collected once kfx says it has seen the status.
    """
    import importlib

    sock = socket.socket(fileno=fd)
    pending = list(PRELOAD)
    step: Optional[int] = None
    while True:
        if step is not None and step > 0:  # a step reported already (negative) waits to be collected
            info = os.waitid(os.P_PID, step, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            if info is not None:
                status = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
                sock.send(json.dumps({"pid": step, "status": status}).encode())
                step = -step  # reported; collected when kfx says so
        waiting = 0.0 if pending else (0.01 if step is not None and step > 0 else None)
        if select.select([sock], [], [], waiting)[0]:
            try:
                data, fds, _, _ = socket.recv_fds(sock, _MESSAGE, 1)
            except OSError:
                return
            if not data:
                return  # kfx closed its end: the run is over
            request = json.loads(data)
            if "collect" in request:
                os.waitpid(request["collect"], 0)
                step = None
                continue
            pid = os.fork()
            if pid == 0:
                sock.close()
                _run_step(request, fds[0])
            for descriptor in fds:
                os.close(descriptor)
            sock.send(json.dumps({"pid": pid}).encode())
            step = pid
        elif pending:
            try:
                importlib.import_module(pending.pop(0))
            except Exception:  # noqa: BLE001 - a library missing here is imported by the step, as before
                pass


def _run_step(request: dict[str, Any], output: int) -> None:
    """In the forked child: what kfp.local's ``sh -ec`` command does, then exit. Never returns."""
    code = 1
    try:
        import runpy
        import tempfile

        os.setsid()
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ["_KFP_RUNTIME"] = "true"
        os.chdir(request["cwd"])
        source, *arguments = request["arguments"]
        path = os.path.join(tempfile.mkdtemp(), "ephemeral_component.py")
        with open(path, "w") as f:
            f.write(source)
        if request.get("kfx"):
            from kfx import executor

            executor.run(["-m", executor.KFP_EXECUTOR, "--component_module_path", path, *arguments])
        else:
            sys.argv = ["kfp.dsl.executor_main", "--component_module_path", path, *arguments]
            runpy.run_module("kfp.dsl.executor_main", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            code = done.code or 0
        else:
            print(done.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the step's error, printed as Python would
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
