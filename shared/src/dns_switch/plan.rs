//! When to switch, what to restore: pure decisions over what `scutil`
//! showed, so every case (first switch, again after a network change, a
//! dictionary someone else rewrote, the next start after a crash) is a
//! unit test.

use std::net::IpAddr;

use super::dict::{DnsDict, OVERRIDE_SERVERS};

/// What a `Setup:` DNS dictionary held before Airlock overrode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Original {
    /// There was no dictionary: restoring removes it.
    Created,
    /// A dictionary without `ServerAddresses` (search domains only).
    NoServers,
    /// The user's own `ServerAddresses` (manual DNS).
    Servers(Vec<String>),
}

impl Original {
    fn of(setup: Option<&DnsDict>) -> Original {
        match setup.and_then(|d| d.servers.clone()) {
            Some(s) => Original::Servers(s),
            None if setup.is_some() => Original::NoServers,
            None => Original::Created,
        }
    }

    /// The backup Airlock left in an overridden dictionary, `None` when
    /// the dictionary carries no (or a damaged) marker: then it is not
    /// Airlock's to touch.
    fn from_marker(d: &DnsDict) -> Option<Original> {
        match (d.original.as_deref()?, &d.original_servers) {
            ("created", _) => Some(Original::Created),
            ("none", _) => Some(Original::NoServers),
            ("servers", Some(s)) => Some(Original::Servers(s.clone())),
            _ => None,
        }
    }
}

/// One network service as the shim read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    /// Has DNS published under `State:` or is the primary service: the
    /// system may send queries through it now.
    pub active: bool,
    /// `Setup:/Network/Service/<id>/DNS` in the dynamic store.
    pub setup: Option<DnsDict>,
    /// `ServerAddresses` of `State:/Network/Service/<id>/DNS` (DHCP's).
    pub state_servers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Point the service at Airlock's resolver; `keep_backup` when the
    /// dictionary already carries Airlock's backup (someone reset only
    /// `ServerAddresses`): the first backup is the user's, keep it.
    Override {
        service: String,
        original: Original,
        keep_backup: bool,
    },
    /// Put back what the marker says was there.
    Restore { service: String, original: Original },
}

/// The steps that bring the services to `blocking`'s state, in service
/// order; empty when they are there already (the shim then runs nothing
/// and flushes nothing).
///
/// - Blocking: every active service without the override gets it; one
///   that has it is left alone (the pass runs on every network change).
///   An inactive service that still carries it is restored: it is not
///   used, and the override should exist only where it is needed.
/// - Not blocking (Blocking ended, or the helper starts after a crash
///   and is not Blocking): every dictionary carrying Airlock's marker is
///   restored, whatever service it belongs to. A dictionary without the
///   marker is never touched, even if it says 127.0.0.1: that is the
///   user's own (a local resolver) or someone else's.
pub fn plan(blocking: bool, services: &[Service]) -> Vec<Step> {
    let mut steps = Vec::new();
    for s in services {
        let backup = s.setup.as_ref().and_then(Original::from_marker);
        match (blocking && s.active, backup) {
            (true, None) => steps.push(Step::Override {
                service: s.id.clone(),
                original: Original::of(s.setup.as_ref()),
                keep_backup: false,
            }),
            (true, Some(original)) => {
                let ours = s.setup.as_ref().and_then(|d| d.servers.as_deref())
                    == Some(
                        &OVERRIDE_SERVERS
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()[..],
                    );
                if !ours {
                    steps.push(Step::Override {
                        service: s.id.clone(),
                        original,
                        keep_backup: true,
                    });
                }
            }
            (false, Some(original)) => steps.push(Step::Restore {
                service: s.id.clone(),
                original,
            }),
            (false, None) => {}
        }
    }
    steps
}

/// The network's own resolvers while the override may be on: the system's
/// view (`scutil --dns`) then names 127.0.0.1, so the filtering resolver
/// takes them from here instead: a service's backed-up manual servers,
/// else its unmarked manual ones, else what DHCP published. Active
/// services only, in order, deduplicated, loopback left out.
pub fn network_resolvers(services: &[Service]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for s in services.iter().filter(|s| s.active) {
        let manual = match s.setup.as_ref() {
            Some(d) => match Original::from_marker(d) {
                Some(Original::Servers(v)) => Some(v),
                Some(_) => None,
                None => d.servers.clone(),
            },
            None => None,
        };
        for a in manual.as_ref().unwrap_or(&s.state_servers) {
            // A scoped IPv6 address (`fe80::1%en0`) is kept without its
            // scope; the helper's upstream socket routes it.
            let Ok(ip) = a.split('%').next().unwrap_or("").parse::<IpAddr>() else {
                continue;
            };
            if !ip.is_loopback() && !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn dhcp(id: &str) -> Service {
        Service {
            id: id.into(),
            active: true,
            setup: None,
            state_servers: strs(&["192.168.1.1"]),
        }
    }

    fn manual(id: &str, servers: &[&str]) -> Service {
        Service {
            setup: Some(DnsDict {
                servers: Some(strs(servers)),
                ..Default::default()
            }),
            ..dhcp(id)
        }
    }

    /// `s` after the override step ran (what the shim would read next).
    fn overridden(s: &Service, original: &str, backup: Option<&[&str]>) -> Service {
        Service {
            setup: Some(DnsDict {
                servers: Some(strs(OVERRIDE_SERVERS)),
                original: Some(original.into()),
                original_servers: backup.map(strs),
            }),
            ..s.clone()
        }
    }

    #[test]
    fn blocking_overrides_each_active_service_once_and_remembers_what_was_there() {
        let services = [
            dhcp("A"),
            manual("B", &["1.1.1.1"]),
            Service {
                setup: Some(DnsDict::default()),
                ..dhcp("C")
            },
            Service {
                active: false,
                ..dhcp("D")
            },
        ];
        assert_eq!(
            plan(true, &services),
            [
                Step::Override {
                    service: "A".into(),
                    original: Original::Created,
                    keep_backup: false
                },
                Step::Override {
                    service: "B".into(),
                    original: Original::Servers(strs(&["1.1.1.1"])),
                    keep_backup: false
                },
                Step::Override {
                    service: "C".into(),
                    original: Original::NoServers,
                    keep_backup: false
                },
            ]
        );
        // The next pass (a network change) finds them switched: nothing.
        let after = [
            overridden(&services[0], "created", None),
            overridden(&services[1], "servers", Some(&["1.1.1.1"])),
            overridden(&services[2], "none", None),
            services[3].clone(),
        ];
        assert!(plan(true, &after).is_empty());
        // While blocking, the network's resolvers are still the real ones.
        assert_eq!(
            network_resolvers(&after),
            [
                "192.168.1.1".parse::<IpAddr>().unwrap(),
                "1.1.1.1".parse().unwrap()
            ]
        );
    }

    #[test]
    fn ending_blocking_restores_exactly_and_only_what_carries_the_marker() {
        let services = [
            overridden(&dhcp("A"), "created", None),
            overridden(&manual("B", &[]), "servers", Some(&["1.1.1.1", "9.9.9.9"])),
            overridden(&dhcp("C"), "none", None),
            // The user's own local resolver: no marker, never touched.
            manual("E", &["127.0.0.1"]),
        ];
        assert_eq!(
            plan(false, &services),
            [
                Step::Restore {
                    service: "A".into(),
                    original: Original::Created
                },
                Step::Restore {
                    service: "B".into(),
                    original: Original::Servers(strs(&["1.1.1.1", "9.9.9.9"]))
                },
                Step::Restore {
                    service: "C".into(),
                    original: Original::NoServers
                },
            ]
        );
        assert!(
            plan(true, std::slice::from_ref(&services[3])).len() == 1,
            "E is overridden like any other"
        );
        assert!(plan(false, &[dhcp("A"), manual("B", &["1.1.1.1"])]).is_empty());
    }

    #[test]
    fn after_a_crash_the_next_start_restores_even_services_that_went_away() {
        // The helper died while blocking; it starts with the kill switch
        // off, and the service it overrode is no longer active.
        let gone = Service {
            active: false,
            state_servers: vec![],
            ..overridden(&manual("B", &[]), "servers", Some(&["1.1.1.1"]))
        };
        assert_eq!(
            plan(false, std::slice::from_ref(&gone)),
            [Step::Restore {
                service: "B".into(),
                original: Original::Servers(strs(&["1.1.1.1"]))
            }]
        );
        // Starting while blocking again: an inactive leftover is restored,
        // nothing else to do.
        assert_eq!(plan(true, &[gone]).len(), 1);
    }

    #[test]
    fn a_dictionary_someone_reset_is_switched_again_keeping_the_first_backup() {
        let mut s = overridden(&manual("B", &[]), "servers", Some(&["1.1.1.1"]));
        if let Some(d) = s.setup.as_mut() {
            d.servers = Some(strs(&["8.8.8.8"]));
        }
        assert_eq!(
            plan(true, &[s]),
            [Step::Override {
                service: "B".into(),
                original: Original::Servers(strs(&["1.1.1.1"])),
                keep_backup: true
            }]
        );
        // A damaged marker is not ours: left alone.
        let damaged = Service {
            setup: Some(DnsDict {
                servers: Some(strs(&["127.0.0.1"])),
                original: Some("servers".into()),
                original_servers: None,
            }),
            ..dhcp("X")
        };
        assert!(plan(false, &[damaged]).is_empty());
    }
}
