#!/usr/bin/env bash
# Install what the tests drive besides Python: Debian's headless-capable Chromium and a CJK font for the
# browser tests (tests/test_browser.py), and tmux for the terminal tests (tests/test_terminal.py).
# Idempotent: does nothing when all three are already present.
set -euo pipefail

have_font() { fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; }

if [ -x /usr/bin/chromium ] && have_font && command -v tmux >/dev/null; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
$SUDO apt-get install -y -q chromium fonts-noto-cjk tmux </dev/null
