#!/bin/sh
# Removes Airlock from a Mac and leaves it as it was: the helper's own
# uninstall boots the LaunchDaemon out, empties the com.apple/0.airlock pf
# anchor (and com.apple/airlock, its name before), releases pf's enable
# token, destroys pflog0 if it created it, and deletes its plist and binary;
# then the app, the per-user login item and the settings (--purge).
# Run with sudo. UNVERIFIED on a Mac.
set -eu
label=org.airlock.helper
helper=/Library/PrivilegedHelperTools/$label
bundled=/Applications/Airlock.app/Contents/Library/LaunchServices/$label

if [ "$(id -u)" != 0 ]; then
    echo "uninstall.sh: run it with sudo" >&2
    exit 1
fi
pkill -x airlock 2>/dev/null || true # the menu-bar app, by exact name
if [ -x "$helper" ]; then
    "$helper" uninstall
elif [ -x "$bundled" ]; then
    "$bundled" uninstall
else
    echo "uninstall.sh: no airlockd found; removing the files only"
    launchctl bootout "system/$label" 2>/dev/null || true
    rm -f "/Library/LaunchDaemons/$label.plist"
fi
# The app's login item (app/src/login_item/launch_agent.rs) for the user who ran sudo.
if [ -n "${SUDO_USER:-}" ]; then
    home="$(dscl . -read "/Users/$SUDO_USER" NFSHomeDirectory | awk '{print $2}')"
    uid="$(id -u "$SUDO_USER")"
    launchctl bootout "gui/$uid/org.airlock.app" 2>/dev/null || true
    rm -f "$home/Library/LaunchAgents/org.airlock.app.plist"
fi
rm -rf /Applications/Airlock.app
pkgutil --forget org.airlock.pkg 2>/dev/null || true
if [ "${1:-}" = "--purge" ]; then
    rm -rf "/Library/Application Support/Airlock" /Library/Logs/Airlock
fi
echo "Airlock removed."
