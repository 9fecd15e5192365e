"""LFR remote monitoring console."""

import os

# Matching is one small matrix-vector product on the GUI thread: OpenBLAS's thread pool
# makes it slower (0.4 ms single-threaded, p99 20-37 ms threaded on a busy 2-core
# machine; bench/match_watchlist.py) and competes with the analysis workers. Set before
# numpy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
