#!/usr/bin/env bash
# dlib's face encodings run five times faster on OpenBLAS (about 15 ms a face against 75 ms
# on a 2-core machine; docs/performance.md "Crowds"). dlib's build uses OpenBLAS when it finds it
# (system-deps.sh installs libopenblas-dev), but a dlib wheel built before that, kept in
# pip's cache, would be reinstalled without it: rebuild it once (7-9 minutes), and let
# pip cache the new wheel.
#   usage: dlib-blas.sh PYTHON   (the virtual environment's python)
set -euo pipefail
py="$1"
uses_blas() { "$py" -c "import dlib, sys; sys.exit(0 if dlib.DLIB_USE_BLAS else 1)"; }

uses_blas && exit 0
# What dlib's build links against: the unversioned libopenblas.so of libopenblas-dev (the
# runtime's libopenblas.so.0, or numpy's bundled copy, cannot be linked to).
if [ -z "$(find /usr/lib /usr/lib64 /usr/local/lib -name 'libopenblas.so' -print -quit 2>/dev/null)" ]; then
  echo "warning: no OpenBLAS found; dlib runs without BLAS (face encodings ~5x slower)." >&2
  echo "  On Debian: sudo apt-get install libopenblas-dev, then make clean and make again." >&2
  exit 0
fi
version=$("$py" -c "import importlib.metadata as m; print(m.version('dlib'))")
echo "Rebuilding dlib $version against OpenBLAS (the wheel in pip's cache was built without it)"
"$py" -m pip cache remove dlib >/dev/null 2>&1 || true
"$py" -m pip install --quiet --force-reinstall --no-deps --no-binary dlib "dlib==$version"
uses_blas || { echo "error: dlib $version still built without BLAS" >&2; exit 1; }
