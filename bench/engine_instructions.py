"""Instructions the alarm engine spends per sample, counted by valgrind's
callgrind rather than timed, so two versions compare on a busy machine.

Run it twice per version, with K and 2K batches, and subtract: the
difference is K batches' evaluation without start-up and imports.

    valgrind --tool=callgrind --callgrind-out-file=cg.K .venv/bin/python \\
        bench/engine_instructions.py ROOT SESSIONS SAMPLES_PER_BATCH K
    callgrind_annotate cg.K | head -20        # "PROGRAM TOTALS"

ROOT is the checkout whose engine is counted (its `src/` and `bench/`).
"""

from __future__ import annotations

import sys


def main() -> None:
    root, sessions, size, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    sys.path[:0] = [root + "/src", root]
    import numpy as np  # imported here: after ROOT is first on the path

    from bench.engine import make_batches, make_engine

    rng = np.random.default_rng(sessions * 7 + size)
    engine = make_engine(sessions)
    batches = make_batches(sessions, size, 1 + k, rng)
    engine.evaluate(batches[0])  # first batch: windows filled, not counted apart
    for batch in batches[1 : 1 + k]:
        engine.evaluate(batch)


if __name__ == "__main__":
    main()
