#!/usr/bin/env bash
# The packaging check (CI, after scripts/test.sh): builds the .deb once, installs it with
# `dpkg --root` into a throwaway root (maintainer scripts run chrootless with DPKG_ROOT, so the
# machine's own users, units and dpkg database are never touched), runs the installed
# `nomad-kubelet --version` and `nomad-kubelet check` against the simulators (started by the
# dev-only nomad-kubelet-sandbox), verifies the unit with systemd-analyze, runs lintian, purges,
# and proves by a listing of the root before and after that nothing of the package is left.
#
#   scripts/package-check.sh [--skip-build]   # --skip-build: package the existing release build
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "package-check: run as root (dpkg --root installs files owned by root and a system user)" >&2; exit 1; }

scripts/install-package-deps.sh
scripts/build-deb.sh "$@"
arch=$(dpkg --print-architecture)
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/Agent/AgentVersion.swift)
package_version=$(sed -n '1s/^nomad-kubelet (\([^)]*\)).*/\1/p' debian/changelog)
deb=".build/deb/nomad-kubelet_${package_version}_${arch}.deb"

work=$(mktemp -d /tmp/nomad-kubelet-package-check.XXXXXX)
root="$work/root"
sandbox_pid=""
cleanup() {
    [ -n "$sandbox_pid" ] && { kill -TERM "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
step() { echo "== package-check: $*"; }

# A minimal host: an empty dpkg database, the base users and groups, and the two systemd
# directories every systemd host has (what deb-systemd-helper creates below them must go again).
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" "$root/etc/systemd/system" "$root/var/lib/systemd"
touch "$root/var/lib/dpkg/status" "$root/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
printf 'root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n' > "$root/etc/shadow"
printf 'root:*::\nnogroup:*::\n' > "$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
# Every path with mode and owner, and every file's checksum; dpkg's own database is left out, and
# so are the backups and lock that the user tools (systemd-sysusers, userdel) keep of passwd and
# friends (passwd-, group-, shadow-, gshadow-, .pwd.lock) on every host.
listing() {
    (cd "$root" && find . \( -path ./var/lib/dpkg -o -path './etc/*-' -o -path ./etc/.pwd.lock \) -prune -o -printf '%M %U %G %p\n' | sort
     find . \( -path ./var/lib/dpkg -o -path './etc/*-' -o -path ./etc/.pwd.lock \) -prune -o -type f -print0 | sort -z | xargs -0 md5sum)
}
listing > "$work/before"

dpkg_root() { dpkg --root="$root" --force-script-chrootless --force-depends --force-unsafe-io "$@"; }

step "dpkg --root $root -i $deb"
dpkg_root -i "$deb"
test -x "$root/usr/bin/nomad-kubelet"
grep -q '^nomad-kubelet:' "$root/etc/passwd" || { echo "package-check: postinst did not create the nomad-kubelet user" >&2; exit 1; }
test -L "$root/etc/systemd/system/multi-user.target.wants/nomad-kubelet.service" || { echo "package-check: the unit is not enabled" >&2; exit 1; }
# Ownership in numeric ids of the root's own passwd/group (the host's names may differ).
uid=$(awk -F: '$1 == "nomad-kubelet" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "nomad-kubelet" { print $3 }' "$root/etc/group")
expect_mode() {
    [ "$(stat -c '%u:%g %a' "$root$1")" = "$2" ] || { echo "package-check: $1 is $(stat -c '%u:%g %a' "$root$1"), expected $2" >&2; exit 1; }
}
expect_mode /var/lib/nomad-kubelet "$uid:$gid 750"
expect_mode /etc/nomad-kubelet "0:$gid 750"
expect_mode /etc/nomad-kubelet/config.yaml "0:$gid 640"

step "nomad-kubelet --version"
installed_version=$("$root/usr/bin/nomad-kubelet" --version)
[ "$installed_version" = "$version" ] || { echo "package-check: --version printed $installed_version, expected $version" >&2; exit 1; }
echo "$installed_version"

step "nomad-kubelet check against the simulators"
swift build --product nomad-kubelet-sandbox ${SWIFT_BUILD_FLAGS:-} >/dev/null
state="$work/sandbox"
"$(swift build --show-bin-path ${SWIFT_BUILD_FLAGS:-})/nomad-kubelet-sandbox" --state-dir "$state" --node-name vk-package-check > "$work/sandbox.log" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 300); do [ -f "$state/ready" ] && break; sleep 0.1; done
[ -f "$state/ready" ] || { cat "$work/sandbox.log"; echo "package-check: the simulators did not start" >&2; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$root/usr/bin/nomad-kubelet" check --config "$state/agent.yaml" --set kubeletServer.address=127.0.0.1 --set "kubeletServer.port=$port" | tee "$work/check.txt"
grep -q '^✓ permissions' "$work/check.txt"
grep -q '^✓ driver raw_exec' "$work/check.txt"
step "check exits 1 and names the fix when Nomad is unreachable"
if "$root/usr/bin/nomad-kubelet" check --config "$state/agent.yaml" --nomad-address http://127.0.0.1:1 --set kubeletServer.port="$port" > "$work/check-failing.txt"; then
    echo "package-check: check passed with an unreachable Nomad" >&2; exit 1
fi
grep -q '^✗ nomad ' "$work/check-failing.txt" && grep -q 'fix: ' "$work/check-failing.txt"
kill -TERM "$sandbox_pid"; wait "$sandbox_pid" 2>/dev/null || true; sandbox_pid=""

step "systemd-analyze verify (the installed unit, its ExecStart and man page, with the host's targets)"
# A copy of the installed root plus the host's units (multi-user.target, ...) the unit refers to.
verify_root="$work/verify-root"
cp -a "$root" "$verify_root"
cp -an /lib/systemd/system/. "$verify_root/lib/systemd/system/"
MANPATH="$verify_root/usr/share/man" systemd-analyze verify --root="$verify_root" /lib/systemd/system/nomad-kubelet.service
systemd-analyze security --root="$verify_root" --offline=true /lib/systemd/system/nomad-kubelet.service | tail -1

step "lintian"
lintian --fail-on error,warning "$deb"

step "dpkg --purge, then nothing of the package is left"
dpkg_root --purge nomad-kubelet
listing > "$work/after"
if ! diff -u "$work/before" "$work/after"; then
    echo "package-check: the purge left the differences above" >&2
    exit 1
fi
step "passed"
