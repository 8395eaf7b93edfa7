#!/usr/bin/env bash
# The whole test suite: starts PostgreSQL and Redis when none are configured, installs
# Debian's Chromium for the browser tests when missing, runs the linters, then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium missing: run 'sudo apt-get install chromium' (browser tests need /usr/bin/chromium)" >&2
    exit 1
  fi
fi

eval "$($BIN/python -m ipbx_project.devservices up)"
export DATABASE_URL REDIS_URL
bash scripts/lint.sh
# In parallel (pytest-xdist): IPBX_TEST_WORKERS processes, each test file kept on one worker
# (its module fixtures, switchsim servers included, start once). Each worker has its own
# PostgreSQL and Redis database (ipbx_project/settings/test.py). `-n 0` after these (or
# IPBX_TEST_WORKERS=0) runs serially; `-p no:xdist` drops the plugin and these options.
XDIST=(-n "${IPBX_TEST_WORKERS:-2}" --dist loadfile)
for arg in "$@"; do
  case "$arg" in -pno:xdist | no:xdist) XDIST=() ;; esac
done
exec $BIN/pytest "${XDIST[@]}" "$@"
