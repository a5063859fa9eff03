//! The servers an OpenVPN client config (also Viscosity's `config.conf` and
//! Tunnelblick's `config.ovpn`) would connect to.
//!
//! The rules follow OpenVPN 2.x's own option parser, because a kill switch
//! that allows a different server than the one OpenVPN dials either blocks
//! the VPN or lets something else through:
//! - `remote HOST [PORT [PROTO]]`: a protocol can only follow a port.
//! - A remote without a port or protocol takes the config's `port`/`rport`
//!   and `proto`, wherever in the file they are (OpenVPN applies them after
//!   reading everything); defaults 1194 and udp.
//! - A `<connection>` block starts from the top-level settings as they stand
//!   where the block begins, and inside it every line applies in order.
//! - When a config has `<connection>` blocks, top-level `remote`s are not
//!   used at all (OpenVPN only turns them into connections when there are no
//!   blocks).
//! - `udp4`/`tcp4` and `udp6`/`tcp6` pin the address family; a remote's own
//!   plain `udp`/`tcp` keeps a family set by `proto`, as in OpenVPN.
//! - `#` or `;` starting a word starts a comment; "double" and 'single'
//!   quotes and backslash escapes group words; inline files (`<ca>`...`</ca>`)
//!   are skipped unread.
//!
//! Unknown directives are ignored: only the few that decide where packets
//! go matter here, and new OpenVPN versions add options all the time.

use crate::endpoint::Transport;
use crate::policy::Family;

use super::error::SyntaxError;
use super::RemoteSpec;

/// OpenVPN's default server port.
pub const DEFAULT_PORT: u16 = 1194;

/// Where a connection would go, as far as it has been read.
#[derive(Debug, Clone)]
struct Connection {
    remote: Option<(String, usize)>,
    port: u16,
    transport: Transport,
    family: Option<Family>,
}

impl Connection {
    fn defaults() -> Self {
        Connection {
            remote: None,
            port: DEFAULT_PORT,
            transport: Transport::Udp,
            family: None,
        }
    }

    fn spec(&self, host: &str, line: usize) -> RemoteSpec {
        RemoteSpec {
            host: host.to_string(),
            port: self.port,
            transport: self.transport,
            family: self.family,
            line,
        }
    }
}

/// A top-level `remote` line: what it said, filled in from the top-level
/// settings only at the end.
#[derive(Debug)]
struct Remote {
    host: String,
    port: Option<u16>,
    proto: Option<Proto>,
    line: usize,
}

#[derive(Debug, Clone, Copy)]
struct Proto {
    transport: Transport,
    family: Option<Family>,
}

impl Remote {
    /// OpenVPN's `connection_entry_load_re`: the remote's own port and
    /// protocol win, but a family-less protocol keeps the inherited family.
    fn apply_to(&self, ce: &mut Connection) {
        if let Some(port) = self.port {
            ce.port = port;
        }
        if let Some(proto) = self.proto {
            ce.transport = proto.transport;
            if proto.family.is_some() {
                ce.family = proto.family;
            }
        }
    }
}

/// The servers the config names, in the order OpenVPN would try them.
pub fn parse(text: &str) -> Result<Vec<RemoteSpec>, SyntaxError> {
    let mut global = Connection::defaults();
    let mut remotes: Vec<Remote> = Vec::new();
    let mut blocks: Vec<RemoteSpec> = Vec::new();
    let mut saw_block = false;
    // The connection block being read, with the line it opened on.
    let mut block: Option<(Connection, usize)> = None;

    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    while let Some((n, raw)) = lines.next() {
        let raw = if n == 1 {
            raw.trim_start_matches('\u{feff}')
        } else {
            raw
        };
        let words = split_words(raw, n)?;
        let Some(first) = words.first() else {
            continue;
        };
        let directive = first.strip_prefix("--").unwrap_or(first);

        if let Some(tag) = tag_name(directive) {
            if words.len() != 1 {
                // OpenVPN only treats a lone `<tag>` as an inline file.
                continue;
            }
            if tag == "connection" {
                if block.is_some() {
                    return Err(SyntaxError::NestedConnection { line: n });
                }
                saw_block = true;
                let mut ce = global.clone();
                ce.remote = None;
                block = Some((ce, n));
            } else {
                skip_inline(&mut lines, tag, n)?;
            }
            continue;
        }
        if directive == "</connection>" {
            let Some((ce, opened)) = block.take() else {
                return Err(SyntaxError::StrayConnectionEnd { line: n });
            };
            let Some((host, line)) = &ce.remote else {
                return Err(SyntaxError::ConnectionWithoutRemote { line: opened });
            };
            blocks.push(ce.spec(host, *line));
            continue;
        }

        let args = &words[1..];
        match directive {
            "remote" => {
                let remote = parse_remote(args, n)?;
                match &mut block {
                    Some((ce, _)) => {
                        remote.apply_to(ce);
                        ce.remote = Some((remote.host, n));
                    }
                    None => remotes.push(remote),
                }
            }
            "port" | "rport" => {
                let name = if directive == "port" { "port" } else { "rport" };
                let value = one_arg(args, name, "a port number", n)?;
                let port = parse_port(value, n)?;
                current(&mut block, &mut global).port = port;
            }
            "proto" => {
                let value = one_arg(args, "proto", "a protocol", n)?;
                let proto = parse_proto(value, n)?;
                let ce = current(&mut block, &mut global);
                ce.transport = proto.transport;
                ce.family = proto.family;
            }
            _ => {}
        }
    }

    if let Some((_, opened)) = block {
        return Err(SyntaxError::UnclosedBlock {
            line: opened,
            tag: "connection".into(),
        });
    }
    if saw_block {
        return Ok(blocks);
    }
    if remotes.is_empty() {
        return Err(SyntaxError::NoRemote);
    }
    Ok(remotes
        .iter()
        .map(|r| {
            let mut ce = global.clone();
            r.apply_to(&mut ce);
            ce.spec(&r.host, r.line)
        })
        .collect())
}

fn current<'a>(
    block: &'a mut Option<(Connection, usize)>,
    global: &'a mut Connection,
) -> &'a mut Connection {
    match block {
        Some((ce, _)) => ce,
        None => global,
    }
}

fn tag_name(word: &str) -> Option<&str> {
    let inner = word.strip_prefix('<')?.strip_suffix('>')?;
    // `</tag>` closes; it never opens an inline file.
    (!inner.is_empty() && !inner.starts_with('/')).then_some(inner)
}

/// Skips an inline file up to its closing tag, which OpenVPN looks for at
/// the start of a line after any indentation.
fn skip_inline<'a>(
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
    tag: &str,
    opened: usize,
) -> Result<(), SyntaxError> {
    let close = format!("</{tag}>");
    for (_, line) in lines.by_ref() {
        if line.trim_start().starts_with(&close) {
            return Ok(());
        }
    }
    Err(SyntaxError::UnclosedBlock {
        line: opened,
        tag: tag.to_string(),
    })
}

fn one_arg<'a>(
    args: &'a [String],
    directive: &'static str,
    what: &'static str,
    line: usize,
) -> Result<&'a str, SyntaxError> {
    match args {
        [] => Err(SyntaxError::MissingArgument {
            line,
            directive,
            what,
        }),
        [one] => Ok(one),
        _ => Err(SyntaxError::TooManyArguments { line, directive }),
    }
}

fn parse_remote(args: &[String], line: usize) -> Result<Remote, SyntaxError> {
    let (host, port, proto) = match args {
        [] => {
            return Err(SyntaxError::MissingArgument {
                line,
                directive: "remote",
                what: "a server name or address",
            })
        }
        [h] => (h, None, None),
        [h, p] => (h, Some(p), None),
        [h, p, t] => (h, Some(p), Some(t)),
        _ => {
            return Err(SyntaxError::TooManyArguments {
                line,
                directive: "remote",
            })
        }
    };
    Ok(Remote {
        host: host.clone(),
        port: port.map(|p| parse_port(p, line)).transpose()?,
        proto: proto.map(|t| parse_proto(t, line)).transpose()?,
        line,
    })
}

fn parse_port(value: &str, line: usize) -> Result<u16, SyntaxError> {
    match value.parse::<u16>() {
        Ok(port) if port != 0 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(SyntaxError::BadPort {
            line,
            value: value.to_string(),
        }),
    }
}

/// OpenVPN's protocol names as a client uses them. `tcp-server` is left out
/// on purpose: a config that listens names no server to connect to.
fn parse_proto(value: &str, line: usize) -> Result<Proto, SyntaxError> {
    let (transport, family) = match value.to_ascii_lowercase().as_str() {
        "udp" => (Transport::Udp, None),
        "udp4" => (Transport::Udp, Some(Family::V4)),
        "udp6" => (Transport::Udp, Some(Family::V6)),
        "tcp" | "tcp-client" => (Transport::Tcp, None),
        "tcp4" | "tcp4-client" => (Transport::Tcp, Some(Family::V4)),
        "tcp6" | "tcp6-client" => (Transport::Tcp, Some(Family::V6)),
        _ => {
            return Err(SyntaxError::UnknownProto {
                line,
                value: value.to_string(),
            })
        }
    };
    Ok(Proto { transport, family })
}

/// Splits one line into words the way OpenVPN's `parse_line` does.
fn split_words(line: &str, n: usize) -> Result<Vec<String>, SyntaxError> {
    #[derive(PartialEq)]
    enum State {
        Between,
        Plain,
        Double,
        Single,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            escaped = false;
            word.push(c);
            if state == State::Between {
                state = State::Plain;
            }
            continue;
        }
        match state {
            State::Between => match c {
                c if c.is_whitespace() => {}
                '#' | ';' => break,
                '"' => state = State::Double,
                '\'' => state = State::Single,
                '\\' => escaped = true,
                c => {
                    word.push(c);
                    state = State::Plain;
                }
            },
            State::Plain => match c {
                c if c.is_whitespace() => {
                    words.push(std::mem::take(&mut word));
                    state = State::Between;
                }
                '\\' => escaped = true,
                c => word.push(c),
            },
            State::Double => match c {
                '"' => {
                    words.push(std::mem::take(&mut word));
                    state = State::Between;
                }
                '\\' => escaped = true,
                c => word.push(c),
            },
            State::Single => match c {
                '\'' => {
                    words.push(std::mem::take(&mut word));
                    state = State::Between;
                }
                c => word.push(c),
            },
        }
    }
    match state {
        State::Double | State::Single => Err(SyntaxError::UnterminatedQuote { line: n }),
        State::Plain => {
            words.push(word);
            Ok(words)
        }
        // A lone trailing backslash adds nothing, as in OpenVPN.
        State::Between => Ok(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_openvpn_quoting() {
        let w = split_words(r#"  remote "a b" 'c\d' e\ f # note"#, 1).unwrap();
        assert_eq!(w, ["remote", "a b", r"c\d", "e f"]);
        let w = split_words("remote x#y ;z", 1).unwrap();
        assert_eq!(w, ["remote", "x#y"]);
        assert_eq!(
            split_words(r#"remote "open"#, 7),
            Err(SyntaxError::UnterminatedQuote { line: 7 })
        );
        assert!(split_words("   ; all comment", 1).unwrap().is_empty());
    }

    #[test]
    fn port_must_be_plain_decimal() {
        assert_eq!(parse_port("443", 1), Ok(443));
        for bad in ["0", "+443", "65536", "https", "", "44 3"] {
            assert!(parse_port(bad, 1).is_err(), "{bad:?}");
        }
    }
}
