//! A small interpreter for the subset of pf that `render::pf` emits, so the
//! rendered text can be held to `Policy::decides` packet by packet.
//!
//! It parses every line strictly: a token it does not know fails the test,
//! so the renderer cannot emit syntax this model silently ignores. It
//! models what decides a packet in pf for this subset: first matching
//! `quick` rule wins, no match means pass (pf's default), a packet of a
//! connection some `keep state` rule passed is passed by the state table
//! before any rule, the implicit `flags S/SA` of a stateful pass rule
//! (probes stand for every packet of a flow, not only the SYN, so a TCP
//! probe only matches a stateful pass rule that says `flags any`), and IP
//! options (IPv4 IGMP carries Router Alert, which pf drops unless the
//! passing rule says `allow-opts`).

use std::collections::HashMap;
use std::net::IpAddr;

use airlock_shared::policy::{Direction, Family, Packet, PacketPath, Protocol, SentBy, Verdict};
use ipnet::IpNet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pass,
    BlockReturn,
    BlockDrop,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Net(IpNet),
    Table(String),
}

#[derive(Debug, Clone)]
pub struct PfRule {
    pub text: String,
    pub action: Action,
    /// `None`: both directions (only the pause rule).
    pub direction: Option<Direction>,
    pub log: bool,
    pub quick: bool,
    pub interfaces: Option<Vec<String>>,
    pub family: Option<Family>,
    pub protocols: Option<Vec<u8>>,
    /// `None` is `any`.
    pub from: Option<Vec<Host>>,
    pub from_port: Option<u16>,
    pub to: Option<Vec<Host>>,
    pub to_port: Option<u16>,
    /// (protocol number the types belong to, types)
    pub icmp_types: Option<(u8, Vec<u8>)>,
    pub flags_any: bool,
    pub allow_opts: bool,
    pub keep_state: bool,
    pub if_bound: bool,
    /// `user N`: only sockets of that uid. A packet whose sender is not
    /// said is an ordinary program's (uid 0 is not assumed).
    pub user: Option<u32>,
}

#[derive(Debug, Default)]
pub struct Ruleset {
    pub tables: HashMap<String, Vec<IpNet>>,
    pub rules: Vec<PfRule>,
}

/// Parses the rendered anchor text; panics with the line on anything unknown.
pub fn parse(text: &str) -> Ruleset {
    let mut rs = Ruleset::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let spaced = line
            .replace('{', " { ")
            .replace('}', " } ")
            .replace('(', " ( ")
            .replace(')', " ) ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        let mut t = Tokens {
            tokens,
            at: 0,
            line: n + 1,
            text: line,
        };
        match t.next() {
            "table" => {
                let name = table_name(t.next()).unwrap_or_else(|| t.fail("table name"));
                t.expect("persist");
                let items = t.list();
                let nets = items
                    .iter()
                    .map(|a| parse_net(a).unwrap_or_else(|| t.fail("table address")))
                    .collect();
                t.done();
                assert!(
                    rs.tables.insert(name.to_string(), nets).is_none(),
                    "line {}: table {name} defined twice",
                    n + 1
                );
            }
            "pass" | "block" => {
                t.at -= 1;
                rs.rules.push(parse_rule(&mut t));
            }
            _ => t.fail("statement"),
        }
    }
    rs
}

struct Tokens<'a> {
    tokens: Vec<&'a str>,
    at: usize,
    line: usize,
    text: &'a str,
}

impl<'a> Tokens<'a> {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "line {}: expected {what} at token {} in {:?}",
            self.line, self.at, self.text
        )
    }
    fn peek(&self) -> Option<&'a str> {
        self.tokens.get(self.at).copied()
    }
    fn next(&mut self) -> &'a str {
        let tok = self.peek().unwrap_or_else(|| self.fail("more"));
        self.at += 1;
        tok
    }
    fn eat(&mut self, word: &str) -> bool {
        if self.peek() == Some(word) {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, word: &str) {
        if !self.eat(word) {
            self.fail(word)
        }
    }
    fn done(&self) {
        if self.at != self.tokens.len() {
            self.fail("end of line")
        }
    }
    /// `item` or `{ item item ... }` (never empty: pfctl rejects `{ }` in rules).
    fn list(&mut self) -> Vec<&'a str> {
        if !self.eat("{") {
            return vec![self.next()];
        }
        let mut items = Vec::new();
        while !self.eat("}") {
            items.push(self.next());
        }
        if items.is_empty() {
            self.fail("a non-empty list")
        }
        items
    }
    fn port(&mut self) -> Option<u16> {
        if self.eat("port") {
            Some(
                self.next()
                    .parse()
                    .unwrap_or_else(|_| self.fail("port number")),
            )
        } else {
            None
        }
    }
    fn hosts(&mut self) -> Option<Vec<Host>> {
        if self.eat("any") {
            return None;
        }
        let items = self.list();
        Some(
            items
                .iter()
                .map(|s| match table_name(s) {
                    Some(name) => Host::Table(name.to_string()),
                    None => Host::Net(parse_net(s).unwrap_or_else(|| self.fail("address"))),
                })
                .collect(),
        )
    }
}

fn table_name(tok: &str) -> Option<&str> {
    tok.strip_prefix('<')?.strip_suffix('>')
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

fn proto_number(t: &Tokens, name: &str) -> u8 {
    match name {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmp6" => 58,
        "igmp" => 2,
        n => n.parse().unwrap_or_else(|_| t.fail("protocol")),
    }
}

fn parse_rule(t: &mut Tokens) -> PfRule {
    let action = match t.next() {
        "pass" => Action::Pass,
        "block" => match t.next() {
            "return" => Action::BlockReturn,
            "drop" => Action::BlockDrop,
            _ => t.fail("return or drop"),
        },
        _ => t.fail("pass or block"),
    };
    let direction = if t.eat("in") {
        Some(Direction::In)
    } else if t.eat("out") {
        Some(Direction::Out)
    } else {
        None
    };
    let log = t.eat("log");
    // `log (user)`: the record names the sending socket; no verdict changes.
    if log && t.eat("(") {
        if !t.eat("user") {
            t.fail("user");
        }
        if !t.eat(")") {
            t.fail(")");
        }
    }
    let quick = t.eat("quick");
    let interfaces = t
        .eat("on")
        .then(|| t.list().into_iter().map(String::from).collect());
    let family = if t.eat("inet") {
        Some(Family::V4)
    } else if t.eat("inet6") {
        Some(Family::V6)
    } else {
        None
    };
    let protocols = t.eat("proto").then(|| {
        let names = t.list();
        names.iter().map(|n| proto_number(t, n)).collect()
    });
    let mut rule = PfRule {
        text: t.text.to_string(),
        action,
        direction,
        log,
        quick,
        interfaces,
        family,
        protocols,
        from: None,
        from_port: None,
        to: None,
        to_port: None,
        icmp_types: None,
        flags_any: false,
        allow_opts: false,
        keep_state: false,
        if_bound: false,
        user: None,
    };
    if !t.eat("all") {
        if t.eat("from") {
            rule.from = t.hosts();
            rule.from_port = t.port();
        }
        if t.eat("to") {
            rule.to = t.hosts();
            rule.to_port = t.port();
        }
    }
    while let Some(tok) = t.peek() {
        t.at += 1;
        match tok {
            "icmp6-type" | "icmp-type" => {
                let proto = if tok == "icmp6-type" { 58 } else { 1 };
                let types = t.list();
                let types = types
                    .iter()
                    .map(|s| s.parse().unwrap_or_else(|_| t.fail("icmp type number")))
                    .collect();
                rule.icmp_types = Some((proto, types));
            }
            "flags" => {
                t.expect("any");
                rule.flags_any = true;
            }
            "allow-opts" => rule.allow_opts = true,
            "user" => {
                let uid = t.next();
                rule.user = Some(uid.parse().unwrap_or_else(|_| t.fail("a numeric uid")));
            }
            "no" => {
                t.expect("state");
                rule.keep_state = false;
            }
            "keep" => {
                t.expect("state");
                rule.keep_state = true;
                if t.eat("(") {
                    t.expect("if-bound");
                    t.expect(")");
                    rule.if_bound = true;
                }
            }
            _ => {
                t.at -= 1;
                t.fail("a filter option")
            }
        }
    }
    rule
}

impl Ruleset {
    fn hosts_match(&self, hosts: &Option<Vec<Host>>, addr: IpAddr) -> bool {
        let Some(list) = hosts else { return true };
        list.iter().any(|h| match h {
            Host::Net(n) => n.contains(&addr),
            Host::Table(name) => self
                .tables
                .get(name)
                .unwrap_or_else(|| panic!("rule uses undefined table <{name}>"))
                .iter()
                .any(|n| n.contains(&addr)),
        })
    }

    /// Whether `rule` matches `p` seen in `direction` on `interface`.
    pub fn matches(
        &self,
        rule: &PfRule,
        p: &Packet,
        direction: Direction,
        interface: &str,
    ) -> bool {
        let tcp = p.protocol == Protocol::Tcp;
        rule.user.is_none_or(|u| p.sent_by == SentBy::User(u))
            && rule.direction.is_none_or(|d| d == direction)
            && rule
                .interfaces
                .as_ref()
                .is_none_or(|l| l.iter().any(|i| i == interface))
            && rule.family.is_none_or(|f| f == Family::of(&p.dst))
            && rule
                .protocols
                .as_ref()
                .is_none_or(|l| l.contains(&p.protocol.number()))
            && self.hosts_match(&rule.from, p.src)
            && rule.from_port.is_none_or(|port| p.src_port == Some(port))
            && self.hosts_match(&rule.to, p.dst)
            && rule.to_port.is_none_or(|port| p.dst_port == Some(port))
            && rule.icmp_types.as_ref().is_none_or(|(proto, types)| {
                p.protocol.number() == *proto && p.icmp_type.is_some_and(|t| types.contains(&t))
            })
            // pf's implicit `flags S/SA` on stateful pass rules.
            && !(rule.action == Action::Pass && rule.keep_state && tcp && !rule.flags_any)
    }

    /// The index of the first rule matching `p` in one direction.
    pub fn first_match(&self, p: &Packet, direction: Direction, interface: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| self.matches(r, p, direction, interface))
    }

    /// Every pass rule matching `p` in one direction (for overlap checks).
    pub fn pass_matches(&self, p: &Packet, direction: Direction, interface: &str) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|&i| {
                self.rules[i].action == Action::Pass
                    && self.matches(&self.rules[i], p, direction, interface)
            })
            .collect()
    }

    fn hop(&self, p: &Packet, direction: Direction, interface: &str) -> Verdict {
        let Some(i) = self.first_match(p, direction, interface) else {
            return Verdict::Pass; // pf's default when no rule matches
        };
        let rule = &self.rules[i];
        assert!(rule.quick, "every rule is quick: {}", rule.text);
        match rule.action {
            Action::Pass => {
                let has_ip_options = p.protocol == Protocol::Igmp && p.dst.is_ipv4();
                if has_ip_options && !rule.allow_opts {
                    Verdict::Drop
                } else {
                    Verdict::Pass
                }
            }
            Action::BlockReturn => Verdict::Reject,
            Action::BlockDrop => Verdict::Drop,
        }
    }

    /// What pf does with `p`. A reply passes by state if pf passed (and
    /// kept state for) the packet that opened its connection, in either
    /// direction: a state passes both.
    pub fn verdict(&self, p: &Packet) -> Verdict {
        match &p.path {
            PacketPath::In { interface } => {
                if p.reply && self.opened_state(p, Direction::Out, interface) {
                    return Verdict::Pass;
                }
                self.hop(p, Direction::In, interface)
            }
            PacketPath::Out { interface } => {
                if p.reply && self.opened_state(p, Direction::In, interface) {
                    return Verdict::Pass;
                }
                self.hop(p, Direction::Out, interface)
            }
            PacketPath::Forward { from, to } => match self.hop(p, Direction::In, from) {
                Verdict::Pass => self.hop(p, Direction::Out, to),
                blocked => blocked,
            },
        }
    }
}

impl Ruleset {
    /// Whether the packet that opened `reply`'s connection, going
    /// `opened` on `interface`, passed and kept a state.
    fn opened_state(&self, reply: &Packet, opened: Direction, interface: &str) -> bool {
        let opener = reversed(reply, interface);
        self.first_match(&opener, opened, interface)
            .is_some_and(|i| self.rules[i].keep_state)
            && self.hop(&opener, opened, interface) == Verdict::Pass
    }
}

/// The packet that opened the connection `reply` answers: the other way
/// on the same interface.
pub fn reversed(reply: &Packet, interface: &str) -> Packet {
    let interface = interface.to_string();
    Packet {
        path: match reply.path {
            PacketPath::Out { .. } => PacketPath::In { interface },
            _ => PacketPath::Out { interface },
        },
        protocol: reply.protocol,
        src: reply.dst,
        dst: reply.src,
        src_port: reply.dst_port,
        dst_port: reply.src_port,
        icmp_type: reply.icmp_type,
        hop_limit: reply.hop_limit,
        reply: false,
        sent_by: reply.sent_by,
    }
}
