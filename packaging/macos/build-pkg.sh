#!/usr/bin/env bash
# Builds dist/Airlock-<version>.pkg from dist/Airlock.app (run
# build-app.sh first): installs the app into /Applications and, in
# postinstall, the helper as a LaunchDaemon via `airlockd install`
# (copies it to /Library/PrivilegedHelperTools, writes
# /Library/LaunchDaemons/org.airlock.helper.plist, launchctl bootstrap).
#   AIRLOCK_INSTALLER_IDENTITY "Developer ID Installer: ..." -> signed pkg
# UNVERIFIED: written from pkgbuild(1)/productbuild(1); never run here.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
dist="$repo/dist"
app="$dist/Airlock.app"
label="org.airlock.helper"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)"
[ -d "$app" ] || { echo "build-pkg.sh: $app missing; run build-app.sh" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/Applications" "$work/scripts"
ditto "$app" "$work/root/Applications/Airlock.app"

cat > "$work/scripts/postinstall" <<POSTINSTALL
#!/bin/sh
# \$2 is the install location (/ by default). The helper copies itself to
# /Library/PrivilegedHelperTools and bootstraps the LaunchDaemon.
exec "\$2/Applications/Airlock.app/Contents/Library/LaunchServices/$label" install
POSTINSTALL
chmod 0755 "$work/scripts/postinstall"

# Relocation off: the postinstall expects the app in /Applications.
pkgbuild --analyze --root "$work/root" "$work/components.plist"
plutil -replace 0.BundleIsRelocatable -bool NO "$work/components.plist"
pkgbuild --root "$work/root" --component-plist "$work/components.plist" \
    --scripts "$work/scripts" --identifier org.airlock.pkg \
    --version "$version" --install-location / "$work/airlock-component.pkg"

sign=()
if [ -n "${AIRLOCK_INSTALLER_IDENTITY:-}" ]; then
    sign=(--sign "$AIRLOCK_INSTALLER_IDENTITY")
else
    echo "build-pkg.sh: AIRLOCK_INSTALLER_IDENTITY not set: the .pkg is NOT signed"
fi
out="$dist/Airlock-$version.pkg"
productbuild ${sign[@]+"${sign[@]}"} --package "$work/airlock-component.pkg" "$out"
echo "$out"
