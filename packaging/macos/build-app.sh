#!/usr/bin/env bash
# Builds dist/Airlock.app on a Mac: universal (lipo of x86_64 + arm64)
# binaries, Info.plist and the helper's plists from resources/macos/
# (generated and checked by helper/tests/install.rs), signed and
# notarized when an identity is given.
#
# Environment:
#   AIRLOCK_SIGN_IDENTITY  "Developer ID Application: ..." -> codesign with
#                          hardened runtime; unset -> ad-hoc, unsigned build
#   AIRLOCK_NOTARY_PROFILE notarytool keychain profile -> notarize + staple
#   AIRLOCK_SKIP_BUILD=1   use already built target/{x86_64,aarch64}-apple-darwin/release
#
# UNVERIFIED: written on Linux from Apple's documentation; never run here.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
dist="$repo/dist"
app="$dist/Airlock.app"
label="org.airlock.helper" # helper/src/install/names.rs HELPER_LABEL
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
targets=(x86_64-apple-darwin aarch64-apple-darwin)

fill() { # fill <template> <destination>: the placeholders, via sed (the
    # values are ours, no sed metacharacters but '|' escaped below)
    local helper_req="${HELPER_REQUIREMENT:-identifier \"$label\"}"
    local app_req="${APP_REQUIREMENT:-identifier \"org.airlock.app\"}"
    # Empty unless signed: the helper then skips the client signature check.
    local client_req="${CLIENT_REQUIREMENT:-}"
    sed -e "s|@VERSION@|$version|g" \
        -e "s|@HELPER_REQUIREMENT@|$(printf '%s' "$helper_req" | sed 's/[&|]/\\&/g')|g" \
        -e "s|@APP_REQUIREMENT@|$(printf '%s' "$app_req" | sed 's/[&|]/\\&/g')|g" \
        -e "s|@CLIENT_REQUIREMENT@|$(printf '%s' "$client_req" | sed 's/[&|]/\\&/g')|g" \
        "$1" > "$2"
    plutil -lint "$2"
}

if [ -n "${AIRLOCK_SIGN_IDENTITY:-}" ]; then
    # The designated requirements SMJobBless compares: from the real
    # signature. UNVERIFIED: codesign -d -r- output format ("designated => ...").
    team="$(printf '%s' "$AIRLOCK_SIGN_IDENTITY" | sed -n 's/.*(\([A-Z0-9]*\))$/\1/p')"
    HELPER_REQUIREMENT="identifier \"$label\" and anchor apple generic and certificate leaf[subject.OU] = \"$team\""
    APP_REQUIREMENT="identifier \"org.airlock.app\" and anchor apple generic and certificate leaf[subject.OU] = \"$team\""
    # What the helper demands of a non-root client before a change
    # (`airlockd run --client-requirement`, helper/src/client_signature.rs):
    # the app itself, not airlockctl, whose admin users use sudo instead
    # (a requirement that admitted airlockctl would admit any script
    # driving it, which is what the check is there to stop).
    CLIENT_REQUIREMENT="$APP_REQUIREMENT"
fi
# The helper's own Info.plist and launchd plist must be inside its binary
# for SMJobBless (__TEXT,__info_plist and __TEXT,__launchd_plist):
# helper/build.rs passes them to the linker (-sectcreate) from these
# variables, so they are filled before the build.
mkdir -p "$dist/helper-plists"
fill resources/macos/helper-Info.plist "$dist/helper-plists/Info.plist"
fill resources/macos/helper-launchd.plist "$dist/helper-plists/launchd.plist"
export AIRLOCK_HELPER_INFO_PLIST="$dist/helper-plists/Info.plist"
export AIRLOCK_HELPER_LAUNCHD_PLIST="$dist/helper-plists/launchd.plist"

if [ "${AIRLOCK_SKIP_BUILD:-}" != 1 ]; then
    for t in "${targets[@]}"; do
        cargo build --release --target "$t" -p airlock-helper -p airlock-cli -p airlock-app
    done
fi

rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources" \
    "$app/Contents/Library/LaunchServices" "$app/Contents/Library/LaunchDaemons"

universal() { # universal <binary> <destination>
    lipo -create -output "$2" \
        "target/x86_64-apple-darwin/release/$1" "target/aarch64-apple-darwin/release/$1"
    lipo -info "$2"
}
universal airlock "$app/Contents/MacOS/airlock"
universal airlockctl "$app/Contents/MacOS/airlockctl"
# SMJobBless wants the helper named after its label; the app's own
# "airlockd install" fallback finds it by the same name (see below).
universal airlockd "$app/Contents/Library/LaunchServices/$label"
# The app's development fallback (app/src/helper_install/macos.rs) looks for
# "airlockd" next to its own binary.
ln -s "../Library/LaunchServices/$label" "$app/Contents/MacOS/airlockd"

fill resources/macos/Info.plist "$app/Contents/Info.plist"
fill resources/macos/LaunchDaemons/$label.plist "$app/Contents/Library/LaunchDaemons/$label.plist"
# Check the embedded plists made it in (otool prints the sections).
otool -s __TEXT __info_plist "$app/Contents/Library/LaunchServices/$label" | grep -q Contents
cp -R resources/icons "$app/Contents/Resources/icons"

if [ -n "${AIRLOCK_SIGN_IDENTITY:-}" ]; then
    sign() { codesign --force --options runtime --timestamp --sign "$AIRLOCK_SIGN_IDENTITY" "$@"; }
    # Inside out: nested code first, the bundle last (no --deep).
    sign --identifier "$label" "$app/Contents/Library/LaunchServices/$label"
    sign "$app/Contents/MacOS/airlockctl"
    sign "$app"
    codesign --verify --strict --verbose=2 "$app"
    if [ -n "${AIRLOCK_NOTARY_PROFILE:-}" ]; then
        ditto -c -k --keepParent "$app" "$dist/Airlock-notarize.zip"
        xcrun notarytool submit "$dist/Airlock-notarize.zip" \
            --keychain-profile "$AIRLOCK_NOTARY_PROFILE" --wait
        xcrun stapler staple "$app"
        rm -f "$dist/Airlock-notarize.zip"
    else
        echo "build-app.sh: AIRLOCK_NOTARY_PROFILE not set: signed but NOT notarized"
    fi
else
    # Ad-hoc signature: arm64 binaries must carry one to run at all.
    codesign --force --sign - "$app/Contents/Library/LaunchServices/$label"
    codesign --force --sign - "$app"
    echo "build-app.sh: AIRLOCK_SIGN_IDENTITY not set: ad-hoc signed only, NOT notarized;"
    echo "  SMJobBless/SMAppService need a Developer ID; use 'sudo airlockd install' instead."
fi
echo "$app"
