# IPBX — `make run` starts the whole platform, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench services stop-services clean conformance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# Browser libraries from npm (served by the project, never from a CDN)
node_modules/.installed: package.json package-lock.json
	bash scripts/npm_install.sh
	touch $@

run: $(VENV)/.installed node_modules/.installed
	$(BIN)/python -m ipbx_project.run_platform

test: $(VENV)/.installed-dev node_modules/.installed
	bash scripts/test.sh

# The conformance lane (docs/conformance.md): switchsim always; a real FreeSWITCH too when
# IPBX_CONFORMANCE_ESL=host:port:password is set. sipp comes from Debian's sip-tester.
conformance: $(VENV)/.installed-dev
	@command -v sipp >/dev/null || [ "$$(id -u)" != "0" ] || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester >/dev/null
	eval "$$($(BIN)/python -m ipbx_project.devservices up)" && export DATABASE_URL REDIS_URL && \
		$(BIN)/pytest tests/conformance -m conformance -rs

lint: $(VENV)/.installed-dev
	bash scripts/lint.sh

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench --minutes 10  # the soak: 10 minutes here (an hour alone)

services: $(VENV)/.installed
	$(BIN)/python -m ipbx_project.devservices up

stop-services:
	$(BIN)/python -m ipbx_project.devservices stop

clean: stop-services
	rm -rf $(VENV) var/pgdata var/redis staticfiles node_modules
