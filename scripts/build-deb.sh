#!/usr/bin/env bash
# Builds nomad-kubelet_<version>_amd64.deb offline with dpkg-deb.
#
#   scripts/build-deb.sh [--skip-build]
#
# The version comes from Sources/Agent/AgentVersion.swift (the one the binary prints); the package
# version is that plus the Debian revision of debian/changelog's top entry (0.1.0 → 0.1.0-1).
# The release build (`swift build -c release --static-swift-stdlib`) lands in
# .build/release/nomad-kubelet, where the quick benchmarks reuse it; --skip-build packages that
# binary as it is. The .deb is written to .build/deb/.
# SWIFT_BUILD_FLAGS adds flags to the release build.
set -euo pipefail
cd "$(dirname "$0")/.."

skip_build=0
[ "${1:-}" = --skip-build ] && skip_build=1

version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/Agent/AgentVersion.swift)
[ -n "$version" ] || { echo "build-deb: no version in Sources/Agent/AgentVersion.swift" >&2; exit 1; }
# The package version is the agent's version plus the Debian revision of debian/changelog's top entry.
package_version=$(sed -n '1s/^nomad-kubelet (\([^)]*\)).*/\1/p' debian/changelog)
if [ "${package_version%-*}" != "$version" ]; then
    echo "build-deb: debian/changelog's top entry is $package_version but AgentVersion.current is $version; add a changelog entry $version-1" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)

if [ "$skip_build" = 0 ]; then
    start=$(date +%s)
    # shellcheck disable=SC2086  # SWIFT_BUILD_FLAGS is a list of extra flags
    swift build -c release --static-swift-stdlib --product nomad-kubelet ${SWIFT_BUILD_FLAGS:-}
    echo "build-deb: release build took $(( $(date +%s) - start ))s"
fi
binary=.build/release/nomad-kubelet
[ -x "$binary" ] || { echo "build-deb: $binary is missing; run without --skip-build" >&2; exit 1; }
if [ "$("$binary" --version)" != "$version" ]; then
    echo "build-deb: $binary reports $("$binary" --version), not $version; rebuild it" >&2
    exit 1
fi

out=.build/deb
stage="$out/nomad-kubelet_${package_version}_${arch}"
rm -rf "$stage"
umask 022
install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/nomad-kubelet" "$stage/lib/systemd/system" "$stage/usr/lib/sysusers.d" \
    "$stage/usr/share/nomad-kubelet/manifests" "$stage/usr/share/doc/nomad-kubelet" "$stage/usr/share/man/man8" "$stage/usr/share/lintian/overrides"

install -m 0755 "$binary" "$stage/usr/bin/nomad-kubelet"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/nomad-kubelet"
"$stage/usr/bin/nomad-kubelet" config template > "$stage/etc/nomad-kubelet/config.yaml"
install -m 0644 debian/nomad-kubelet.service "$stage/lib/systemd/system/nomad-kubelet.service"
install -m 0644 debian/nomad-kubelet.sysusers "$stage/usr/lib/sysusers.d/nomad-kubelet.conf"
install -m 0644 manifests/*.yaml manifests/*.md "$stage/usr/share/nomad-kubelet/manifests/"
install -m 0644 debian/copyright "$stage/usr/share/doc/nomad-kubelet/copyright"
gzip -9n < debian/changelog > "$stage/usr/share/doc/nomad-kubelet/changelog.Debian.gz"
for doc in README.md docs/install.md docs/operations.md docs/configuration.md docs/architecture.md; do
    [ -f "$doc" ] && install -m 0644 "$doc" "$stage/usr/share/doc/nomad-kubelet/"
done
sed "s/@VERSION@/$version/" debian/nomad-kubelet.8 | gzip -9n > "$stage/usr/share/man/man8/nomad-kubelet.8.gz"
install -m 0644 debian/lintian-overrides "$stage/usr/share/lintian/overrides/nomad-kubelet"

# Depends: the shared libraries the binary links (dpkg-shlibdeps), and CA certificates for TLS.
shlibs_dir=$(mktemp -d)
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir -p "$shlibs_dir/debian"
printf 'Source: nomad-kubelet\n\nPackage: nomad-kubelet\nArchitecture: any\n' > "$shlibs_dir/debian/control"
shlibs=$(cd "$shlibs_dir" && dpkg-shlibdeps -O "$OLDPWD/$stage/usr/bin/nomad-kubelet" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$shlibs, ca-certificates, systemd, passwd"

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$package_version/" -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s/@DEPENDS@/$depends/" -e "s/amd64/$arch/" \
    debian/control.in > "$stage/DEBIAN/control"
echo /etc/nomad-kubelet/config.yaml > "$stage/DEBIAN/conffiles"
install -m 0755 debian/postinst debian/prerm debian/postrm "$stage/DEBIAN/"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums" "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles"

deb="$out/nomad-kubelet_${package_version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "build-deb: $deb ($(du -h "$deb" | cut -f1); Depends: $depends)"
