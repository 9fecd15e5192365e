"""What the record's integrity costs: an audit entry written (a decision is one), and
`audit verify` over a record of many entries; and, for sealing, how long the key takes
to catch up after the console was closed for a long time.

Runs against whichever console is first on PYTHONPATH, so the same script measures two
branches side by side (alternate runs, one load):

    PYTHONPATH=. .venv/bin/python bench/audit_cost.py --entries 5000
    PYTHONPATH=/path/to/main .venv/bin/python bench/audit_cost.py --entries 5000

Prints medians and the load average beside them (figures taken on a loaded machine are
provisional). Writes nothing outside a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--verifies", type=int, default=3)
    args = parser.parse_args()

    from console.storage import Store

    try:
        from console.storage.verification import verify_folder
    except ImportError:  # a console from before sealing
        from console.storage.audit import verify_folder

    folder = Path(tempfile.mkdtemp(prefix="audit-cost-"))
    store = Store.in_dir(folder)
    vk = getattr(store, "verification_key", None)
    times = []
    for n in range(args.entries):
        started = time.perf_counter()
        store.audit.record("PC 1", "alert adjudicated", {"alert_id": f"a{n}", "decision": "x"})
        times.append(time.perf_counter() - started)
    store.close()
    verify_s, keyed_s = [], []
    for _ in range(args.verifies):
        started = time.perf_counter()
        report = verify_folder(folder)
        verify_s.append(time.perf_counter() - started)
        assert report.intact, report.first_problem
        if vk is not None:
            started = time.perf_counter()
            assert verify_folder(folder, verify_key=vk).verified
            keyed_s.append(time.perf_counter() - started)
    result = {
        "console": "sealed" if vk is not None else "keyed (before sealing)",
        "entries": args.entries,
        "append_median_ms": round(statistics.median(times) * 1000, 3),
        "append_p95_ms": round(statistics.quantiles(times, n=20)[18] * 1000, 3),
        "verify_median_s": round(statistics.median(verify_s), 3),
        "verify_with_key_median_s": round(statistics.median(keyed_s), 3) if keyed_s else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if vk is not None:
        from console.storage.sealing import evolve

        key, started = b"\0" * 32, time.perf_counter()
        for _ in range(525_600):  # a year of one-minute epochs, closed
            key = evolve(key)
        result["catch_up_a_year_closed_s"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
