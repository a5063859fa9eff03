//! Putting new endpoints into a saved list, with their record: what the
//! user adds or imports, and what the helper learns or sees again. Pure:
//! the engine passes the time.
//!
//! Matching is by target (address, port, protocol), as it always was: a
//! server already listed is never listed twice.

use super::{Endpoint, Origin};

/// What [`learn`] changed in the list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Learned {
    /// New endpoints, now listed as learned.
    pub added: usize,
    /// Learned ones listed already, seen again now.
    pub seen: usize,
}

impl Learned {
    pub fn changed(self) -> bool {
        self.added + self.seen > 0
    }
}

/// Lists what the helper learned from the routing table at `now`: a new
/// server as [`Origin::Learned`] (added and seen now); a learned one
/// already listed is seen again (its expiry starts over); one the user
/// added or imported is left as it is.
pub fn learn(list: &mut Vec<Endpoint>, learned: &[Endpoint], now: u64) -> Learned {
    let mut out = Learned::default();
    for l in learned {
        match list.iter_mut().find(|e| e.same_target(l)) {
            Some(e) if e.origin == Origin::Learned => {
                if e.last_seen != Some(now) {
                    e.last_seen = Some(now);
                    out.seen += 1;
                }
            }
            Some(_) => {}
            None => {
                let mut e = l.bare().with_origin(Origin::Learned);
                e.added_at = Some(now);
                e.last_seen = Some(now);
                list.push(e);
                out.added += 1;
            }
        }
    }
    out
}

/// Lists what a client asked for at `now`, keeping each one's origin
/// (added by hand unless it says imported; a client cannot make an
/// endpoint expire by calling it learned, that is the helper's word). A
/// server the helper had learned becomes the user's: it takes the new
/// origin and date and never expires. One the user had added or imported
/// already keeps its record.
pub fn add(list: &mut Vec<Endpoint>, new: Vec<Endpoint>, now: u64) {
    for n in new {
        let origin = match n.origin {
            Origin::Imported => Origin::Imported,
            Origin::Added | Origin::Learned => Origin::Added,
        };
        let mut fresh = n.bare().with_origin(origin);
        fresh.added_at = Some(now);
        match list.iter_mut().find(|e| e.same_target(&n)) {
            Some(e) if e.origin == Origin::Learned => {
                // The user's entry replaces the helper's, name and all.
                *e = fresh;
            }
            Some(_) => {}
            None => list.push(fresh),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_800_000_000;

    fn ep(s: &str) -> Endpoint {
        s.parse().unwrap()
    }

    #[test]
    fn learning_lists_new_servers_as_learned_and_sees_known_ones_again() {
        let mut list = vec![ep("203.0.113.1:443/tcp")];
        let got = learn(&mut list, &[ep("198.51.100.7:1194/udp")], T0);
        assert_eq!(got, Learned { added: 1, seen: 0 });
        assert_eq!(list[1].origin, Origin::Learned);
        assert_eq!((list[1].added_at, list[1].last_seen), (Some(T0), Some(T0)));

        // Seen again later: same entry, newer last_seen, same added_at.
        let got = learn(
            &mut list,
            &[ep("198.51.100.7:1194/udp"), ep("203.0.113.1:443/tcp")],
            T0 + 60,
        );
        assert_eq!(got, Learned { added: 0, seen: 1 });
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[1].added_at, list[1].last_seen),
            (Some(T0), Some(T0 + 60))
        );
        // The typed one is not the helper's to date.
        assert_eq!((list[0].origin, list[0].last_seen), (Origin::Added, None));
        assert!(!learn(&mut list, &[ep("198.51.100.7:1194/udp")], T0 + 60).changed());
    }

    #[test]
    fn adding_keeps_the_origin_and_makes_a_learned_server_the_users() {
        let mut list = Vec::new();
        learn(&mut list, &[ep("198.51.100.7:1194/udp")], T0);
        let mut imported = ep("198.51.100.7:1194/udp").with_origin(Origin::Imported);
        imported.host = Some("vpn.example.com".into());
        add(
            &mut list,
            vec![
                imported,
                ep("203.0.113.1:443/tcp").with_origin(Origin::Learned),
            ],
            T0 + 5,
        );
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].origin, Origin::Imported);
        assert_eq!(list[0].host.as_deref(), Some("vpn.example.com"));
        assert_eq!((list[0].added_at, list[0].last_seen), (Some(T0 + 5), None));
        assert_eq!(list[1].origin, Origin::Added, "a client cannot say learned");
        // Added again by hand: the imported record stays.
        add(&mut list, vec![ep("198.51.100.7:1194/udp")], T0 + 9);
        assert_eq!(
            (list[0].origin, list[0].added_at),
            (Origin::Imported, Some(T0 + 5))
        );
    }
}
