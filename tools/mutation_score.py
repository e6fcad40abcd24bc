"""Prints the mutation score of the last ``mutmut run``, per module and in total.

Reads mutmut's own records (``mutants/<path>.meta``). A mutant counts as killed when
a test failed on it or it ran past mutmut's time limit (an endless loop the tests
stopped); every other state (survived, no tests, not checked, suspicious) does not.
The last line is ``mutation score: K/N killed``.
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections import Counter

KILLED = {1, 3, 36, 37, -24, 24, 152, 255}
NAMES = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked", 36: "timeout"}


def main(root: str = "mutants") -> int:
    metas = sorted(pathlib.Path(root).rglob("*.py.meta"))
    if not metas:
        print(f"no mutmut results under {root}/; run `make mutation` first", file=sys.stderr)
        return 1
    total_killed = total = 0
    other: Counter = Counter()
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        killed = sum(code in KILLED for code in codes.values())
        states = Counter(
            NAMES.get(code, "killed" if code in KILLED else f"exit {code}")
            for code in codes.values()
            if code not in KILLED
        )
        module = str(meta.relative_to(root))[: -len(".meta")]
        share = f"{100 * killed / len(codes):5.1f} %" if codes else "    - "
        detail = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        print(f"{module:<22} {killed:>4}/{len(codes):<4} {share}  {detail}")
        total_killed += killed
        total += len(codes)
        other.update(states)
    print(f"mutation score: {total_killed}/{total} killed")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
