# Homebrew cask for Airlock. The url/sha256 are filled in per release
# (the .dmg from packaging/macos/build-dmg.sh). UNVERIFIED: written from
# the Cask Cookbook; `brew audit --cask` has not been run on it.
cask "airlock" do
  version "0.1.0"
  sha256 :no_check # replace with the release .dmg's sha256

  url "https://github.com/airlock/airlock/releases/download/v#{version}/Airlock-#{version}.dmg"
  name "Airlock"
  desc "VPN kill switch for any VPN client"
  homepage "https://github.com/airlock/airlock"

  depends_on macos: ">= :big_sur"

  app "Airlock.app"
  binary "#{appdir}/Airlock.app/Contents/MacOS/airlockctl"

  # The helper removes its LaunchDaemon, pf anchor and pf token itself.
  uninstall early_script: {
              executable: "#{appdir}/Airlock.app/Contents/Library/LaunchServices/org.airlock.helper",
              args:       ["uninstall"],
              sudo:       true,
              must_succeed: false,
            },
            launchctl:    ["org.airlock.helper", "org.airlock.app"],
            quit:         "org.airlock.app",
            delete:       [
              "/Library/LaunchDaemons/org.airlock.helper.plist",
              "/Library/PrivilegedHelperTools/org.airlock.helper",
            ]

  zap trash: [
    "/Library/Application Support/Airlock",
    "/Library/Logs/Airlock",
    "~/Library/LaunchAgents/org.airlock.app.plist",
  ]
end
