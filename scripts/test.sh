#!/usr/bin/env bash
# The project's test command: installs test dependencies, then builds and runs every test.
# Extra arguments go to `swift test` (e.g. `scripts/test.sh --filter Kubeconfig`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
swift build --build-tests
swift test --skip-build "$@"
