"""LFR remote monitoring console."""

import os

# Matching is one small matrix-vector product on the GUI thread: OpenBLAS's thread pool
# makes it slower (0.4 ms single-threaded, p99 20-37 ms threaded on a busy 2-core
# machine; bench/match_watchlist.py) and competes with the analysis workers. dlib's
# encodings run on OpenBLAS too (scripts/dlib-blas.sh): threaded, one encoding took 12.5 ms
# of wall time for 25 ms of CPU, against 14 ms of one core; the pool's workers are the
# parallelism. Set before numpy or dlib is first loaded (workers inherit it).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
