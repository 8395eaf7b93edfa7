#!/usr/bin/env bash
# Static checks: ruff (lint + format), import-linter contracts, migrations up to date, the
# OpenAPI schema valid.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
$BIN/ruff check .
$BIN/ruff format --check .
$BIN/lint-imports
DJANGO_SETTINGS_MODULE=ipbx_project.settings.test $BIN/python manage.py makemigrations --check --dry-run
# The REST API's OpenAPI schema describes every operation without a warning.
DJANGO_SETTINGS_MODULE=ipbx_project.settings.test $BIN/python manage.py spectacular --validate \
  --fail-on-warn --file /dev/null
# The pure core is type-checked strictly.
$BIN/mypy --strict icm/domain icm/daemon/freeswitch/translator.py icm/daemon/freeswitch/render.py ivr/engine stats/erlang.py stats/erlang_a.py stats/forecast.py stats/tariffs.py outbound/domain
