#!/usr/bin/env bash
# Installs the browser libraries of package-lock.json; brings Debian's npm first when it is
# missing and we are root.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    echo "installing Debian's npm for the web assets"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  else
    echo "npm missing: run 'sudo apt-get install npm'" >&2
    exit 1
  fi
fi
npm ci --no-audit --no-fund --loglevel=error
