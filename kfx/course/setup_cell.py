# Setup, the same in every notebook (source: kfx/course/setup_cell.py). kfx needs Python 3.11.
# - Python 3.11 with kfx: prints one line, and the notebook goes on.
# - Python 3.11 without kfx: installs it (from this repository, else from KFX_REPOSITORY at KFX_TAG; the
#   lock's versions as constraints), then asks you to restart the kernel.
# - Another Python: finds or makes a "Python 3.11 (kfx)" kernel, then asks you to switch to it.
import glob, importlib.util, json, os, platform, shutil, subprocess, sys

KFX_REPOSITORY = "https://github.com/kfx-course/kfx"
KFX_TAG = "v0.1.0"
KERNEL, KERNEL_DISPLAY = "kfx", "Python 3.11 (kfx)"
IS_311 = "import sys; sys.exit(sys.version_info[:2] != (3, 11))"

class KfxSetupStop(Exception):
    def _render_traceback_(self):  # Jupyter shows the message alone, not a traceback
        return str(self).splitlines()

def run(*command, stderr=subprocess.STDOUT):
    try:
        return subprocess.run(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    except OSError as error:  # no such program
        return subprocess.CompletedProcess(command, 127, str(error), "")

def check(done, what):
    if done.returncode:
        tail = "\n".join(done.stdout.rstrip().splitlines()[-15:])
        raise KfxSetupStop(f"{what} failed (exit {done.returncode}); the last lines of its output say why:\n{tail}")

def install_command(python, extra=()):
    """pip's command that installs kfx into python: from the checkout around this folder, else from the tag."""
    if os.path.isfile("../setup.py") and os.path.isfile("../kfx/__init__.py"):
        lock, kfx = os.path.abspath("../requirements.txt"), ["-e", os.path.abspath("..")]
    else:
        lock = KFX_REPOSITORY.replace("//github.com/", "//raw.githubusercontent.com/") + f"/{KFX_TAG}/requirements.txt"
        kfx = [f"kfx @ git+{KFX_REPOSITORY}@{KFX_TAG}"]
    return [python, "-m", "pip", "install", "--constraint", lock, *kfx, *extra]

def install(python, extra=()):
    print(f"Installing kfx into {python} (pip takes a few minutes)...", flush=True)
    check(run(*install_command(python, extra)), f"pip install of kfx into {python}")

def kernel_specs():
    """The kernel.json of each kernel named kfx: Jupyter's own list where it is here, else its folders."""
    if importlib.util.find_spec("jupyter_client"):
        found = run(sys.executable, "-m", "jupyter", "kernelspec", "list", "--json", stderr=subprocess.DEVNULL)
        if found.returncode == 0:
            return [s["spec"] for name, s in json.loads(found.stdout)["kernelspecs"].items() if name == KERNEL]
    files = [os.path.join(folder, "kernels", KERNEL, "kernel.json") for folder in jupyter_data_folders()]
    return [json.load(open(file)) for file in files if os.path.isfile(file)]

def jupyter_data_folders():
    paths = run("jupyter", "--paths", "--json", stderr=subprocess.DEVNULL)
    if paths.returncode == 0:
        return json.loads(paths.stdout)["data"]
    user = os.environ.get("JUPYTER_DATA_DIR") or os.path.expanduser("~/.local/share/jupyter")
    return [user, sys.prefix + "/share/jupyter", "/usr/local/share/jupyter", "/usr/share/jupyter"]

def kfx_kernel_python():
    """The python of a kfx kernel that runs Python 3.11 and imports kfx (-P: from its own packages), or None."""
    pythons = [spec["argv"][0] for spec in kernel_specs()]
    return next((p for p in pythons if run(p, "-P", "-c", IS_311 + "; import kfx").returncode == 0), None)

def python311_candidates():  # KFX_PYTHON if set, else python3.11 on PATH, in pyenv and in conda environments
    if os.environ.get("KFX_PYTHON"):
        return [os.environ["KFX_PYTHON"]]
    conda = os.path.expanduser("~/.conda/environments.txt")
    roots = [os.environ.get("PYENV_ROOT", "~/.pyenv") + "/versions/3.11*", "/opt/conda*", "/opt/conda/envs/*",
             "~/*conda*/envs/*"] + (open(conda).read().split() if os.path.isfile(conda) else [])
    found = [p for root in roots for p in sorted(glob.glob(os.path.expanduser(root) + "/bin/python3.11"))]
    return [shutil.which("python3.11")] + found

def find_python311():
    found = next((p for p in python311_candidates() if p and run(p, "-c", IS_311).returncode == 0), None)
    if found is None:
        where = "none on PATH, in pyenv or in conda"
        where = f"KFX_PYTHON={os.environ['KFX_PYTHON']} is not one" if os.environ.get("KFX_PYTHON") else where
        raise KfxSetupStop(f"No Python 3.11 here ({where}): make one, e.g. `conda create -n py311 python=3.11` "
                           "in a Vertex AI Workbench terminal (KFX_PYTHON, if set, must name it), and run this cell again.")
    return found

def make_kernel():  # a Python 3.11 virtual environment with kfx, registered as the kfx kernel
    base, home = find_python311(), os.path.expanduser(os.environ.get("KFX_KERNEL_HOME", "~/.kfx/kernel"))
    python = os.path.join(home, "bin", "python")
    check(run(base, "-m", "venv", home), f"Making a virtual environment in {home} with {base}")
    install(python, ["ipykernel"])
    register = [python, "-m", "ipykernel", "install", "--user", "--name", KERNEL, "--display-name", KERNEL_DISPLAY]
    check(run(*register), f"Registering {python} as the kernel {KERNEL_DISPLAY!r}")
    return python

def switch_kernel():
    python = kfx_kernel_python() or make_kernel()
    raise KfxSetupStop(f"This kernel runs Python {platform.python_version()} and kfx needs 3.11: switch to the kernel "
                       f'"{KERNEL_DISPLAY}" ({python}) with Kernel → Change Kernel…, and run the notebook again.')

def main():
    if sys.version_info[:2] != (3, 11):
        switch_kernel()
    if importlib.util.find_spec("kfx") is None:
        install(sys.executable)
        raise KfxSetupStop("kfx is installed: restart the kernel (Kernel → Restart Kernel) "
                           "and run the notebook again.")
    print(f"kfx {importlib.import_module('kfx').__version__} ready on Python {platform.python_version()}")

if __name__ == "__main__":  # in a notebook too
    main()
