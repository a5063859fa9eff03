#!/usr/bin/env bash
# Builds dist/Airlock-<version>.dmg holding Airlock.app and a link to
# /Applications (drag to install; "Install Helper…" in the menu then asks
# for admin rights). UNVERIFIED: written from hdiutil(1); never run here.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
dist="$repo/dist"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -n1)"
[ -d "$dist/Airlock.app" ] || { echo "build-dmg.sh: run build-app.sh first" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
ditto "$dist/Airlock.app" "$stage/Airlock.app"
ln -s /Applications "$stage/Applications"
out="$dist/Airlock-$version.dmg"
rm -f "$out"
hdiutil create -volname Airlock -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$out"
if [ -n "${AIRLOCK_SIGN_IDENTITY:-}" ]; then
    codesign --sign "$AIRLOCK_SIGN_IDENTITY" --timestamp "$out"
fi
echo "$out"
