"""Session fixtures that a mutation run makes once (see :func:`shared_by_mutants`)."""

import os


def shared_by_mutants(name: str, make, tmp_path_factory):
    """``make(folder)``: a session fixture's value, made in a fresh folder; under ``make mutation``, made once
    for the whole mutation run and shared by every mutant's test session.

    mutmut runs each mutant in a new pytest session, so a session fixture that trains a model or computes
    statistics would be made again for each of some 2,700 mutants. mutmut first runs the whole selection
    without a mutant (``MUTANT_UNDER_TEST`` is ``stats`` or empty): the value made then, with the code as
    written, is pickled under ``.mutation-fixtures/`` of its copy of the repository (its working folder) and
    read back by the mutants' sessions. A mutant in a function only such a fixture calls is therefore left to
    the tests that call that function themselves. The fixture's files are read, never changed, by its tests.
    """
    mutant = os.environ.get("MUTANT_UNDER_TEST")
    if mutant is None:
        return make(tmp_path_factory.mktemp(name))
    import fcntl
    import pickle
    import shutil
    from pathlib import Path

    root = Path(".mutation-fixtures").resolve()
    folder, made = root / name, root / f"{name}.pickle"
    if made.exists():
        return pickle.loads(made.read_bytes())
    if mutant not in ("stats", ""):
        return make(tmp_path_factory.mktemp(name))  # never shared: a value made under a mutant
    root.mkdir(exist_ok=True)
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if made.exists():
            return pickle.loads(made.read_bytes())
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        value = make(folder)
        made.with_suffix(".partial").write_bytes(pickle.dumps(value))
        os.replace(made.with_suffix(".partial"), made)
        return value
