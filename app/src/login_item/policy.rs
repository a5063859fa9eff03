//! "Start at Login" on macOS, decided here so the Linux tests reach it;
//! `macos.rs` only observes the system and carries out the
//! steps.
//!
//! Two mechanisms exist. On macOS 13+ an app running from its (signed)
//! bundle registers itself with `SMAppService.mainAppService`: the system
//! lists it under System Settings → General → Login Items, and the user
//! can switch it off there, so the check mark must follow that status.
//! Older systems and unsigned development builds use a per-user
//! LaunchAgent (`launch_agent.rs`). The two must never both be active,
//! or the app starts twice at login; when SMAppService works, a
//! LaunchAgent left from an older version is removed.

use crate::smappservice::{
    ServiceStatus, SmError, APPROVE_LOGIN_ITEM, SM_ERROR_ALREADY_REGISTERED,
    SM_ERROR_JOB_NOT_FOUND, SM_ERROR_LAUNCH_DENIED_BY_USER,
};
use crate::ui::model::LoginItem;

/// What the system looks like now, as the shim observed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    /// `SMAppService.mainAppService.status`, when SMAppService is
    /// available ([`smappservice_available`]); `None` otherwise.
    /// `Some(None)` is an unknown status value.
    pub service: Option<Option<ServiceStatus>>,
    /// `~/Library/LaunchAgents/org.airlock.app.plist` exists.
    pub legacy_agent: bool,
}

/// What the check mark shows: whatever will really start Airlock at the
/// next login. A LaunchAgent does, whatever SMAppService says; otherwise
/// SMAppService's status decides, and "requires approval" is not on.
pub fn shown(s: &Situation) -> LoginItem {
    if s.legacy_agent {
        return LoginItem::Enabled;
    }
    match s.service {
        Some(Some(ServiceStatus::Enabled)) => LoginItem::Enabled,
        Some(Some(ServiceStatus::RequiresApproval)) => LoginItem::RequiresApproval,
        _ => LoginItem::Disabled,
    }
}

/// Whether a LaunchAgent left by an older Airlock should go at startup:
/// only when SMAppService already starts the app (so removing it never
/// turns "start at login" off).
pub fn stale_agent(s: &Situation) -> bool {
    s.legacy_agent && s.service == Some(Some(ServiceStatus::Enabled))
}

/// The operations [`set`] combines; the shim does them for real, tests
/// record them.
pub trait Mechanisms {
    fn register(&mut self) -> Result<(), SmError>;
    fn unregister(&mut self) -> Result<(), SmError>;
    fn write_agent(&mut self) -> Result<(), String>;
    fn remove_agent(&mut self) -> Result<(), String>;
    fn open_login_items_settings(&mut self);
}

/// Turns start at login on or off. `Ok(None)`: done, nothing to say;
/// `Ok(Some(note))`: done, but the user should know something (the
/// LaunchAgent fallback, an approval to give); `Err`: not done, why.
/// Afterwards the caller reads the situation again for the check mark.
pub fn set(enabled: bool, s: &Situation, m: &mut dyn Mechanisms) -> Result<Option<String>, String> {
    if enabled {
        enable(s, m)
    } else {
        disable(s, m)
    }
}

fn enable(s: &Situation, m: &mut dyn Mechanisms) -> Result<Option<String>, String> {
    let Some(status) = s.service else {
        // macOS 12 or older, or not a bundle: the LaunchAgent it is.
        return m.write_agent().map(|()| None);
    };
    match status {
        Some(ServiceStatus::Enabled) => {}
        Some(ServiceStatus::RequiresApproval) => {
            // Registered already; only the user can approve it.
            m.open_login_items_settings();
            return Ok(Some(APPROVE_LOGIN_ITEM.into()));
        }
        Some(ServiceStatus::NotRegistered | ServiceStatus::NotFound) | None => {
            match m.register() {
                Ok(()) => {}
                Err(e) if e.code == SM_ERROR_ALREADY_REGISTERED => {}
                Err(e) if e.code == SM_ERROR_LAUNCH_DENIED_BY_USER => {
                    // The user switched Airlock off in System Settings; a
                    // LaunchAgent behind their back would overrule them.
                    m.open_login_items_settings();
                    return Ok(Some(APPROVE_LOGIN_ITEM.into()));
                }
                Err(e) => {
                    // Typically an unsigned build (invalid signature).
                    // The LaunchAgent works without a signature.
                    if s.legacy_agent {
                        return Ok(Some(fallback_note(&e)));
                    }
                    return match m.write_agent() {
                        Ok(()) => Ok(Some(fallback_note(&e))),
                        Err(agent) => Err(format!(
                            "SMAppService refused ({e}) and the LaunchAgent could not be written: {agent}"
                        )),
                    };
                }
            }
        }
    }
    // SMAppService starts the app now: an old LaunchAgent would start it
    // a second time.
    if s.legacy_agent {
        m.remove_agent().map_err(|e| {
            format!("Airlock is registered as a login item, but the old LaunchAgent could not be removed, so it may start twice: {e}")
        })?;
    }
    Ok(None)
}

fn fallback_note(e: &SmError) -> String {
    format!("Starting at login through a LaunchAgent: the system login item was refused ({e})")
}

fn disable(s: &Situation, m: &mut dyn Mechanisms) -> Result<Option<String>, String> {
    // Both, whichever exist: either alone would still start the app.
    let mut problems = Vec::new();
    if s.service
        .flatten()
        .is_some_and(ServiceStatus::is_registered)
    {
        match m.unregister() {
            Ok(()) => {}
            Err(e) if e.code == SM_ERROR_JOB_NOT_FOUND => {}
            Err(e) => problems.push(format!("the login item could not be removed: {e}")),
        }
    }
    if s.legacy_agent {
        if let Err(e) = m.remove_agent() {
            problems.push(format!("the LaunchAgent could not be removed: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(None)
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smappservice::{parse_version, smappservice_available, MacVersion};
    use ServiceStatus::*;

    #[test]
    fn versions_parse_strictly() {
        let v = |major, minor, patch| MacVersion {
            major,
            minor,
            patch,
        };
        for (text, want) in [
            ("14.4.1", Some(v(14, 4, 1))),
            ("13.0", Some(v(13, 0, 0))),
            ("26", Some(v(26, 0, 0))),
            ("12.7.6\0", Some(v(12, 7, 6))),
            (" 15.1\n", Some(v(15, 1, 0))),
            ("", None),
            ("13.", None),
            (".13", None),
            ("13.4.1.2", None),
            ("13.x", None),
            ("-13", None),
            ("Version 13.4", None),
        ] {
            assert_eq!(parse_version(text), want, "{text:?}");
        }
    }

    #[test]
    fn smappservice_needs_13_and_a_bundle() {
        let v = |major| parse_version(&format!("{major}.1"));
        assert!(smappservice_available(v(13), true));
        assert!(smappservice_available(v(26), true));
        assert!(!smappservice_available(v(12), true));
        assert!(!smappservice_available(v(13), false));
        assert!(!smappservice_available(None, true));
    }

    #[test]
    fn raw_statuses_mirror_smappservicestatus() {
        let all: Vec<_> = (0..4).map(ServiceStatus::from_raw).collect();
        assert_eq!(
            all,
            [
                Some(NotRegistered),
                Some(Enabled),
                Some(RequiresApproval),
                Some(NotFound)
            ]
        );
        assert_eq!(ServiceStatus::from_raw(4), None);
        assert_eq!(ServiceStatus::from_raw(-1), None);
    }

    fn sit(service: Option<Option<ServiceStatus>>, legacy_agent: bool) -> Situation {
        Situation {
            service,
            legacy_agent,
        }
    }

    #[test]
    fn the_check_mark_shows_what_will_start_the_app() {
        use LoginItem as L;
        #[rustfmt::skip]
        let table = [
            (None,                         false, L::Disabled),
            (None,                         true,  L::Enabled),
            (Some(Some(NotRegistered)),    false, L::Disabled),
            (Some(Some(Enabled)),          false, L::Enabled),
            (Some(Some(RequiresApproval)), false, L::RequiresApproval),
            (Some(Some(NotFound)),         false, L::Disabled),
            (Some(None),                   false, L::Disabled),
            // the agent starts the app, whatever SMAppService says
            (Some(Some(NotRegistered)),    true,  L::Enabled),
            (Some(Some(RequiresApproval)), true,  L::Enabled),
            (Some(Some(NotFound)),         true,  L::Enabled),
            (Some(Some(Enabled)),          true,  L::Enabled),
        ];
        for (service, agent, want) in table {
            assert_eq!(shown(&sit(service, agent)), want, "{service:?} {agent}");
        }
    }

    #[test]
    fn an_agent_is_stale_only_when_smappservice_starts_the_app() {
        assert!(stale_agent(&sit(Some(Some(Enabled)), true)));
        for service in [
            None,
            Some(None),
            Some(Some(NotRegistered)),
            Some(Some(RequiresApproval)),
            Some(Some(NotFound)),
        ] {
            assert!(!stale_agent(&sit(service, true)), "{service:?}");
        }
        assert!(!stale_agent(&sit(Some(Some(Enabled)), false)));
    }

    /// Records every call; each mechanism answers as told.
    #[derive(Default)]
    struct Fake {
        calls: Vec<&'static str>,
        register: Option<SmError>,
        unregister: Option<SmError>,
        agent_fails: bool,
    }

    impl Mechanisms for Fake {
        fn register(&mut self) -> Result<(), SmError> {
            self.calls.push("register");
            self.register.clone().map_or(Ok(()), Err)
        }
        fn unregister(&mut self) -> Result<(), SmError> {
            self.calls.push("unregister");
            self.unregister.clone().map_or(Ok(()), Err)
        }
        fn write_agent(&mut self) -> Result<(), String> {
            self.calls.push("write_agent");
            if self.agent_fails {
                Err("read-only home".into())
            } else {
                Ok(())
            }
        }
        fn remove_agent(&mut self) -> Result<(), String> {
            self.calls.push("remove_agent");
            if self.agent_fails {
                Err("read-only home".into())
            } else {
                Ok(())
            }
        }
        fn open_login_items_settings(&mut self) {
            self.calls.push("open_settings");
        }
    }

    fn sm(code: i64) -> SmError {
        SmError {
            code,
            message: "The operation couldn't be completed.".into(),
        }
    }

    fn run(enabled: bool, s: Situation, fake: &mut Fake) -> Result<Option<String>, String> {
        set(enabled, &s, fake)
    }

    #[test]
    fn enabling_prefers_smappservice_and_removes_an_old_agent() {
        // (situation, calls)
        let table: [(Situation, &[&str]); 7] = [
            (sit(None, false), &["write_agent"]),
            (sit(Some(Some(NotRegistered)), false), &["register"]),
            (sit(Some(Some(NotFound)), false), &["register"]),
            (sit(Some(None), false), &["register"]),
            (
                sit(Some(Some(NotRegistered)), true),
                &["register", "remove_agent"],
            ),
            // already registered: just tidy up
            (sit(Some(Some(Enabled)), true), &["remove_agent"]),
            (sit(Some(Some(Enabled)), false), &[]),
        ];
        for (s, calls) in table {
            let mut fake = Fake::default();
            assert_eq!(run(true, s, &mut fake), Ok(None), "{s:?}");
            assert_eq!(fake.calls, calls, "{s:?}");
        }
    }

    #[test]
    fn already_registered_counts_as_success() {
        let mut fake = Fake {
            register: Some(sm(SM_ERROR_ALREADY_REGISTERED)),
            ..Fake::default()
        };
        let r = run(true, sit(Some(Some(NotRegistered)), true), &mut fake);
        assert_eq!(r, Ok(None));
        assert_eq!(fake.calls, ["register", "remove_agent"]);
    }

    #[test]
    fn a_refused_registration_falls_back_to_the_agent_and_says_so() {
        let mut fake = Fake {
            register: Some(sm(3)), // kSMErrorInvalidSignature
            ..Fake::default()
        };
        let note = run(true, sit(Some(Some(NotFound)), false), &mut fake)
            .unwrap()
            .unwrap();
        assert_eq!(fake.calls, ["register", "write_agent"]);
        assert!(
            note.contains("LaunchAgent") && note.contains("error 3"),
            "{note}"
        );

        // The agent that is already there is kept, not removed.
        let mut fake = Fake {
            register: Some(sm(3)),
            ..Fake::default()
        };
        let r = run(true, sit(Some(Some(NotRegistered)), true), &mut fake);
        assert!(matches!(r, Ok(Some(_))), "{r:?}");
        assert_eq!(fake.calls, ["register"]);

        // Both failing is an error naming both.
        let mut fake = Fake {
            register: Some(sm(3)),
            agent_fails: true,
            ..Fake::default()
        };
        let err = run(true, sit(Some(Some(NotFound)), false), &mut fake).unwrap_err();
        assert!(
            err.contains("error 3") && err.contains("read-only home"),
            "{err}"
        );
    }

    #[test]
    fn the_users_no_in_system_settings_is_not_overruled() {
        for (s, register) in [
            (sit(Some(Some(RequiresApproval)), false), None),
            (
                sit(Some(Some(NotRegistered)), false),
                Some(sm(SM_ERROR_LAUNCH_DENIED_BY_USER)),
            ),
        ] {
            let mut fake = Fake {
                register,
                ..Fake::default()
            };
            let r = run(true, s, &mut fake);
            assert_eq!(r, Ok(Some(APPROVE_LOGIN_ITEM.into())), "{s:?}");
            assert!(
                !fake.calls.contains(&"write_agent"),
                "{s:?}: {:?}",
                fake.calls
            );
            assert_eq!(fake.calls.last(), Some(&"open_settings"), "{s:?}");
        }
    }

    #[test]
    fn a_stale_agent_that_cannot_be_removed_is_reported() {
        let mut fake = Fake {
            agent_fails: true,
            ..Fake::default()
        };
        let err = run(true, sit(Some(Some(Enabled)), true), &mut fake).unwrap_err();
        assert!(err.contains("start twice"), "{err}");
    }

    #[test]
    fn disabling_removes_every_mechanism_that_would_start_the_app() {
        let table: [(Situation, &[&str]); 7] = [
            (sit(None, false), &[]),
            (sit(None, true), &["remove_agent"]),
            (sit(Some(Some(Enabled)), false), &["unregister"]),
            (sit(Some(Some(RequiresApproval)), false), &["unregister"]),
            (sit(Some(Some(NotRegistered)), false), &[]),
            (sit(Some(Some(NotFound)), true), &["remove_agent"]),
            (
                sit(Some(Some(Enabled)), true),
                &["unregister", "remove_agent"],
            ),
        ];
        for (s, calls) in table {
            let mut fake = Fake::default();
            assert_eq!(run(false, s, &mut fake), Ok(None), "{s:?}");
            assert_eq!(fake.calls, calls, "{s:?}");
        }
    }

    #[test]
    fn disabling_reports_what_could_not_be_removed() {
        let mut fake = Fake {
            unregister: Some(sm(SM_ERROR_JOB_NOT_FOUND)),
            ..Fake::default()
        };
        assert_eq!(
            run(false, sit(Some(Some(Enabled)), false), &mut fake),
            Ok(None)
        );

        let mut fake = Fake {
            unregister: Some(sm(2)),
            agent_fails: true,
            ..Fake::default()
        };
        let err = run(false, sit(Some(Some(Enabled)), true), &mut fake).unwrap_err();
        // The agent is still removed after the unregister failed.
        assert_eq!(fake.calls, ["unregister", "remove_agent"]);
        assert!(
            err.contains("error 2") && err.contains("read-only home"),
            "{err}"
        );
    }
}
