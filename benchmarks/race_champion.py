"""Race for the champion: three ``kfx run`` at once into one runs folder and one registry, one model clearly worse.

Run with ``.venv/bin/python benchmarks/race_champion.py [--repetitions 20]``. Each repetition starts,
behind one barrier, three ``kfx run --sample-rows 600`` processes into a fresh, empty runs folder
and registry (so every find-model sees no champion): seeds 3 and 4 with the default model, and
seed 5 with ``--svm-c 0.01``, a model far below the others. All use ``--min-accuracy 0.05``, so the
weak one is blessed by its own evaluation. It prints, for each repetition, which run holds each
version and what the weak run's push said, then how many repetitions left the worse model as the
newest version (the champion ``kfx predict`` and the next run use): it must be 0 of N.

The figures are printed and written to ``benchmarks/out/race_champion.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KFX = os.path.join(os.path.dirname(sys.executable), "kfx")
RUNS = {
    "seed 3": ["--seed", "3"],
    "seed 4": ["--seed", "4"],
    "weak (seed 5, --svm-c 0.01)": ["--seed", "5", "--svm-c", "0.01"],
}
WEAK = "weak (seed 5, --svm-c 0.01)"


def _summary(stdout: str) -> dict:
    # The step lines come first; the summary is the JSON that follows them.
    return json.loads(stdout[stdout.index("\n{") + 1 :])


def repetition(folder: str) -> dict:
    """Three runs at once into ``folder``; which run each version came from, and the weak run's push."""
    from kfx.lineage.store import LineageStore

    runs, registry = os.path.join(folder, "runs"), os.path.join(folder, "registry")
    go = os.path.join(folder, "go")
    # The lineage store is made before the race: three processes creating one empty store at once is
    # another problem (MLMD sees a half-made schema), and this benchmark is about the registry.
    os.makedirs(runs)
    LineageStore(os.path.join(runs, "metadata.sqlite"), create=True)
    # The barrier: each process waits for the file, so none starts its run before all three exist.
    wait = (
        "import os, sys, time\n"
        "while not os.path.exists(sys.argv[1]): time.sleep(0.005)\n"
        "os.execv(sys.argv[2], sys.argv[2:])"
    )
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-c",
                wait,
                go,
                KFX,
                "run",
                "--sample-rows",
                "600",
                "--min-accuracy",
                "0.05",
                "--runs-dir",
                runs,
                "--registry-dir",
                registry,
                "--json",
                *options,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name, options in RUNS.items()
    }
    time.sleep(0.5)
    started = time.perf_counter()
    open(go, "w").close()
    results = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=900)
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-2000:]}")
        summary = _summary(out)
        results[name] = {
            "champion_seen": summary["champion"].get("version") or None,
            "seconds": summary.get("seconds"),
            "accuracy": round(summary["model"]["test_accuracy"], 4),
            "pushed": summary["push"].get("pushed"),
            "version": summary["push"].get("version"),
            "reason": summary["push"].get("reason", ""),
        }
    seconds = time.perf_counter() - started
    versions = sorted(int(n[1:]) for n in os.listdir(os.path.join(registry, "beans")) if n[1:].isdigit())
    holder = {r["version"]: name for name, r in results.items() if r["pushed"]}
    newest = holder.get(versions[-1]) if versions else None
    return {
        "seconds": round(seconds, 1),
        "versions": {f"v{v}": holder.get(v) for v in versions},
        "newest": newest,
        "weak_is_newest": newest == WEAK,
        "runs": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=20, help="Repetitions of the three runs (default 20).")
    args = parser.parse_args()
    reports = []
    for n in range(1, args.repetitions + 1):
        with tempfile.TemporaryDirectory(prefix="kfx-race-") as folder:
            report = repetition(folder)
        reports.append(report)
        print(
            f"repetition {n}: {report['seconds']} s; "
            + ", ".join(f"{v} {who} ({report['runs'][who]['accuracy']:.4f})" for v, who in report["versions"].items()),
            flush=True,
        )
        for name, run in report["runs"].items():
            said = f"pushed as v{run['version']}" if run["pushed"] else run["reason"]
            print(f"  {name}: {said}", flush=True)
    bad = sum(r["weak_is_newest"] for r in reports)
    print(f"the worse model was the newest version in {bad} of {len(reports)} repetitions")
    os.makedirs(os.path.join(HERE, "out"), exist_ok=True)
    with open(os.path.join(HERE, "out", "race_champion.json"), "w") as f:
        json.dump({"repetitions": len(reports), "weak_newest": bad, "reports": reports}, f, indent=2)
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
