//! The endpoints as `airlockctl endpoints list` and the app's menu show
//! them: the saved ones with their record, and the pinned-by-answer ones
//! (memory only, `dns::pins`) beside them in the same shape, so a reader
//! sees every hole the kill switch keeps for VPN servers, and why.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::expiry::{self, LearnedTtl};
use super::{Endpoint, Origin, Transport};
use crate::dns::AnsweredPin;

/// Why an endpoint is let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Why {
    Added,
    Imported,
    Learned,
    /// The network's resolver named it as a VPN server's address while
    /// blocking; until `expires_at`.
    Pinned,
}

impl From<Origin> for Why {
    fn from(o: Origin) -> Why {
        match o {
            Origin::Added => Why::Added,
            Origin::Imported => Why::Imported,
            Origin::Learned => Why::Learned,
        }
    }
}

/// One endpoint as listed (the `--json` row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    pub address: IpAddr,
    pub port: u16,
    pub protocol: Transport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub origin: Why,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<u64>,
    /// When it stops being let through unless seen again: learned ones
    /// (when the TTL is known and not `never`) and pinned ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

impl Listed {
    /// The endpoint itself, with the record it is saved with (a pinned
    /// one has none: it is never saved).
    pub fn endpoint(&self) -> Endpoint {
        let origin = match self.origin {
            Why::Added | Why::Pinned => Origin::Added,
            Why::Imported => Origin::Imported,
            Why::Learned => Origin::Learned,
        };
        Endpoint {
            host: self.host.clone(),
            origin,
            added_at: self.added_at,
            last_seen: self.last_seen,
            ..Endpoint::new(self.address, self.port, self.protocol)
        }
    }

    fn of(e: &Endpoint, origin: Why) -> Listed {
        Listed {
            address: e.address,
            port: e.port,
            protocol: e.protocol,
            host: e.host.clone(),
            origin,
            added_at: None,
            last_seen: None,
            expires_at: None,
        }
    }

    /// `learned 2026-12-01 09:00, last seen 2026-12-03 10:00, expires
    /// 2027-01-02 10:00 unless seen again`: the record in words, `date`
    /// printing the times.
    pub fn record_words(&self, date: impl Fn(u64) -> String) -> String {
        let since = |t: Option<u64>| match t {
            Some(t) => format!(" {}", date(t)),
            None => String::new(),
        };
        match self.origin {
            Why::Added | Why::Imported => {
                let how = if self.origin == Why::Added {
                    "added"
                } else {
                    "imported"
                };
                match self.added_at {
                    Some(t) => format!("{how} {}", date(t)),
                    // Saved before dates were kept.
                    None => format!("{how}, date unknown"),
                }
            }
            Why::Learned => {
                let mut s = format!("learned{}", since(self.added_at));
                if let Some(t) = self.last_seen.filter(|&t| Some(t) != self.added_at) {
                    s.push_str(&format!(", last seen {}", date(t)));
                }
                // Nothing when it never expires (`never`) or the TTL is
                // not known to the caller.
                if let Some(t) = self.expires_at {
                    s.push_str(&format!(", expires {} unless seen again", date(t)));
                }
                s
            }
            Why::Pinned => match self.expires_at {
                Some(t) => format!("pinned by a DNS answer until {}", date(t)),
                None => "pinned by a DNS answer".into(),
            },
        }
    }
}

/// The saved endpoints in their order, then the pinned ones. `ttl` is the
/// settings' `learned_endpoint_ttl` when the caller knows it (the learned
/// ones' `expires_at` is left out otherwise).
pub fn listing(saved: &[Endpoint], ttl: Option<LearnedTtl>, pins: &[AnsweredPin]) -> Vec<Listed> {
    let mut out: Vec<Listed> = saved
        .iter()
        .map(|e| Listed {
            added_at: e.added_at,
            last_seen: e.last_seen,
            expires_at: ttl.and_then(|t| expiry::expires_at(e, t)),
            ..Listed::of(e, e.origin.into())
        })
        .collect();
    out.extend(pins.iter().map(|p| Listed {
        expires_at: Some(p.expires_at),
        ..Listed::of(&p.endpoint, Why::Pinned)
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    #[test]
    fn saved_and_pinned_endpoints_list_alike_with_their_record_in_words() {
        let typed: Endpoint = "203.0.113.1:443/tcp".parse().unwrap();
        let mut imported = typed.clone().with_origin(Origin::Imported);
        imported.address = "203.0.113.2".parse().unwrap();
        imported.added_at = Some(T0);
        let mut learned: Endpoint = "198.51.100.7:1194/udp".parse().unwrap();
        learned = learned.with_origin(Origin::Learned);
        learned.added_at = Some(T0);
        learned.last_seen = Some(T0 + 60);
        let mut pinned: Endpoint = "10.9.0.5:1194/udp".parse().unwrap();
        pinned.host = Some("vpn.lab.test".into());
        let pins = [AnsweredPin {
            endpoint: pinned.clone(),
            expires_at: T0 + 300,
        }];
        let list = listing(
            &[typed, imported, learned.clone()],
            Some(LearnedTtl::from_secs(100)),
            &pins,
        );
        let words: Vec<String> = list
            .iter()
            .map(|l| l.record_words(|t| format!("@{}", t - T0)))
            .collect();
        assert_eq!(
            words,
            [
                "added, date unknown",
                "imported @0",
                "learned @0, last seen @60, expires @160 unless seen again",
                "pinned by a DNS answer until @300",
            ]
        );
        assert_eq!(list[3].endpoint(), pinned);
        let back = list[2].endpoint();
        assert_eq!(
            (back.origin, back.added_at, back.last_seen),
            (Origin::Learned, Some(T0), Some(T0 + 60))
        );
        let json = serde_json::to_value(&list[2]).unwrap();
        assert_eq!(json["origin"], "learned");
        assert_eq!(json["expires_at"], T0 + 160);
        assert_eq!(serde_json::to_value(&list[3]).unwrap()["origin"], "pinned");
        // Without the TTL, or with expiry off, nothing is said to expire.
        let off = listing(&[learned], None, &[]);
        assert_eq!(off[0].expires_at, None);
        assert_eq!(
            off[0].record_words(|t| format!("@{}", t - T0)),
            "learned @0, last seen @60"
        );
    }
}
