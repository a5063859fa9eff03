//! The leak meter: tcpdump on the inet side of the client's wire, writing a
//! pcap stream to a pipe that a thread here parses packet by packet. A pipe
//! instead of a file means no privilege drop (`-Z`) or AppArmor questions
//! about where tcpdump may write, and packets are seen as they arrive, so a
//! scenario can wait for "the VPN packet showed up" instead of sleeping.
//!
//! A capture ends with a marker: an mDNS packet (plumbing every kill switch
//! lets through) sent from the client's eth0 after the last probe. Once the
//! meter has seen it, every earlier packet on that wire has been seen too.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::ChildStdout;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::socket::{setsockopt, sockopt};

use crate::classify::{Class, Classifier, PacketSummary};
use crate::error::{LabError, Result};
use crate::netns::{enter_by_name, Netns, Proc};

/// Payload prefix of the end-of-capture marker.
pub const MARKER: &[u8] = b"airlock-lab-marker";

/// Where the meter listens and where its marker comes from.
#[derive(Debug, Clone)]
pub struct MeterConfig {
    /// Interface (in the capturing namespace) facing the client.
    pub capture_iface: String,
    /// Namespace the marker is sent from (the client's).
    pub marker_ns: String,
    /// Interface the marker leaves by (the client's eth0).
    pub marker_dev: String,
    pub classifier: Classifier,
}

/// One captured frame and what the meter made of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Captured {
    pub class: Class,
    /// `None` for non-IP frames.
    pub summary: Option<PacketSummary>,
}

/// Everything the client put on the wire during a capture.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    pub packets: Vec<Captured>,
    /// IP packets that were not plumbing, in capture order.
    pub leaks: Vec<PacketSummary>,
    /// Count of allowed packets by class (the marker included).
    pub allowed: BTreeMap<Class, usize>,
    /// The frames themselves (capture time, first 256 bytes), only in the
    /// capture [`Meter::stop`] returns: kept so a failing run can leave a
    /// pcap behind for Wireshark.
    pub frames: Vec<(f64, Vec<u8>)>,
}

impl Capture {
    fn from_packets(packets: Vec<Captured>) -> Self {
        let mut leaks = Vec::new();
        let mut allowed = BTreeMap::new();
        for p in &packets {
            if p.class == Class::Leak {
                // Unparseable IP is still a leak; give it an empty summary
                // rather than dropping it from the list.
                leaks.push(p.summary.clone().unwrap_or_else(unparsed));
            } else {
                *allowed.entry(p.class).or_insert(0) += 1;
            }
        }
        Capture {
            packets,
            leaks,
            allowed,
            frames: Vec::new(),
        }
    }

    /// Writes [`Capture::frames`] as a classic pcap file (Ethernet).
    pub fn write_pcap(&self, path: &std::path::Path) -> io::Result<()> {
        std::fs::write(path, pcap_bytes(&self.frames))
    }

    /// Allowed packets of `class`.
    pub fn count(&self, class: Class) -> usize {
        self.allowed.get(&class).copied().unwrap_or(0)
    }

    /// Leaks for which `pred` holds.
    pub fn leaks_where(&self, pred: impl Fn(&PacketSummary) -> bool) -> Vec<&PacketSummary> {
        self.leaks.iter().filter(|p| pred(p)).collect()
    }

    /// A few lines for a test's output: counts by class and every leak.
    pub fn report(&self) -> String {
        let counts: Vec<String> = self
            .allowed
            .iter()
            .map(|(c, n)| format!("{}={n}", c.name()))
            .collect();
        let mut out = format!(
            "{} packets; allowed: {}; leaks: {}",
            self.packets.len(),
            if counts.is_empty() {
                "none".into()
            } else {
                counts.join(" ")
            },
            self.leaks.len()
        );
        for leak in &self.leaks {
            out.push_str(&format!("\n  LEAK {leak}"));
        }
        out
    }
}

fn unparsed() -> PacketSummary {
    PacketSummary {
        time: 0.0,
        src: Ipv4Addr::UNSPECIFIED.into(),
        dst: Ipv4Addr::UNSPECIFIED.into(),
        proto: crate::classify::Proto::Other(0),
        sport: None,
        dport: None,
        icmp_type: None,
        tcp_flags: None,
        len: 0,
    }
}

#[derive(Debug, Default)]
struct State {
    packets: Vec<Captured>,
    frames: Vec<(f64, Vec<u8>)>,
    /// Why the stream ended early, if it did.
    error: Option<String>,
    ended: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// A running capture; dropping it kills tcpdump (by PID).
#[derive(Debug)]
pub struct Meter {
    tcpdump: Option<Proc>,
    reader: Option<JoinHandle<()>>,
    state: Shared,
    config: MeterConfig,
    markers_sent: u32,
}

impl Meter {
    /// Starts tcpdump in `ns` and returns once it is listening.
    pub fn start(ns: &Netns, config: MeterConfig) -> Result<Meter> {
        let snaplen = "256";
        let cmd = ns.command(&[
            "tcpdump",
            "-i",
            &config.capture_iface,
            "-Q",
            "in",
            "-n",
            "--immediate-mode",
            "-U",
            "-s",
            snaplen,
            "-w",
            "-",
        ]);
        let (tcpdump, stdout) = Proc::spawn_with_stdout("tcpdump", cmd)?;
        let state: Shared = Arc::default();
        let classifier = config.classifier.clone();
        let reader_state = Arc::clone(&state);
        let reader = thread::spawn(move || read_stream(stdout, &classifier, &reader_state));
        tcpdump.wait_for_line("listening on", Duration::from_secs(5))?;
        Ok(Meter {
            tcpdump: Some(tcpdump),
            reader: Some(reader),
            state,
            config,
            markers_sent: 0,
        })
    }

    /// What has been captured so far (the capture keeps running).
    pub fn snapshot(&self) -> Capture {
        let state = self.state.0.lock().unwrap_or_else(|p| p.into_inner());
        Capture::from_packets(state.packets.clone())
    }

    /// Waits until `pred` holds for the capture so far; returns that capture.
    pub fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Capture) -> bool,
    ) -> Result<Capture> {
        let start = Instant::now();
        let (lock, cvar) = &*self.state;
        let mut state = lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let capture = Capture::from_packets(state.packets.clone());
            if pred(&capture) {
                return Ok(capture);
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() || state.ended {
                let why = state.error.clone().unwrap_or_default();
                return Err(LabError::Timeout {
                    what: format!("meter: {what}"),
                    waited: start.elapsed(),
                    log: format!(
                        "; capture ended: {}{why}\n{}",
                        state.ended,
                        capture.report()
                    ),
                });
            }
            state = cvar
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Sends the marker and waits until the meter has seen it, so every
    /// packet sent before this call is in the capture. Resends a few times
    /// in case the first one was lost.
    pub fn sync(&mut self) -> Result<()> {
        let before = self.snapshot().count(Class::Marker);
        let mut last = None;
        for _ in 0..5 {
            self.markers_sent += 1;
            self.send_marker()?;
            match self.wait_until(
                "end-of-capture marker (mDNS from the client's eth0)",
                Duration::from_millis(400),
                |c| c.count(Class::Marker) > before,
            ) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| LabError::Exited {
            what: "meter".into(),
            log: String::new(),
        }))
    }

    fn send_marker(&self) -> Result<()> {
        let payload = format!(
            "{} {} {}",
            String::from_utf8_lossy(MARKER),
            std::process::id(),
            self.markers_sent
        );
        let dev = self.config.marker_dev.clone();
        enter_by_name(&self.config.marker_ns, move || -> io::Result<()> {
            let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
            // The tunnel's def1 routes cover 224.0.0.0/4; bind to the wire.
            setsockopt(&sock, sockopt::BindToDevice, &dev.into())?;
            sock.send_to(
                payload.as_bytes(),
                SocketAddrV4::new(Ipv4Addr::new(224, 0, 0, 251), 5353),
            )?;
            Ok(())
        })?
        .map_err(LabError::io("sending the meter's marker"))
    }

    /// Syncs on the marker, stops tcpdump and returns the whole capture.
    pub fn stop(mut self) -> Result<Capture> {
        let synced = self.sync();
        self.shutdown();
        synced?;
        let mut state = self.state.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut capture = Capture::from_packets(state.packets.clone());
        capture.frames = std::mem::take(&mut state.frames);
        Ok(capture)
    }

    fn shutdown(&mut self) {
        if let Some(tcpdump) = self.tcpdump.take() {
            tcpdump.stop(Signal::SIGTERM, Duration::from_secs(2));
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn read_stream(mut input: ChildStdout, classifier: &Classifier, state: &Shared) {
    let result = read_pcap(&mut input, |time, frame| {
        let (class, summary) = classifier.classify(frame);
        let summary = summary.map(|mut s| {
            s.time = time;
            s
        });
        let (lock, cvar) = &**state;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        st.packets.push(Captured { class, summary });
        st.frames.push((time, frame.to_vec()));
        drop(st);
        cvar.notify_all();
    });
    let (lock, cvar) = &**state;
    let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
    st.ended = true;
    if let Err(e) = result {
        st.error = Some(format!(" ({e})"));
    }
    cvar.notify_all();
}

/// Reads a classic pcap stream (either byte order, micro- or nanosecond
/// timestamps, Ethernet link type) and calls `each(time, frame)` per packet
/// until EOF. A truncated last record (tcpdump killed mid-write) ends the
/// stream quietly.
pub fn read_pcap(input: &mut impl Read, mut each: impl FnMut(f64, &[u8])) -> io::Result<()> {
    let mut header = [0u8; 24];
    if let Err(e) = input.read_exact(&mut header) {
        return if e.kind() == io::ErrorKind::UnexpectedEof {
            Ok(())
        } else {
            Err(e)
        };
    }
    let magic_le = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let (little, nanos) = match magic_le {
        0xa1b2_c3d4 => (true, false),
        0xa1b2_3c4d => (true, true),
        0xd4c3_b2a1 => (false, false),
        0x4d3c_b2a1 => (false, true),
        other => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not a pcap stream (magic {other:#x})"),
            ))
        }
    };
    let word = |b: &[u8]| {
        let b = [b[0], b[1], b[2], b[3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = word(&header[20..24]);
    if linktype != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("link type {linktype}, expected Ethernet (1)"),
        ));
    }
    let mut rec = [0u8; 16];
    let mut frame = Vec::new();
    loop {
        if input.read_exact(&mut rec).is_err() {
            return Ok(());
        }
        let secs = f64::from(word(&rec[0..4]));
        let frac = f64::from(word(&rec[4..8]));
        let time = secs + frac / if nanos { 1e9 } else { 1e6 };
        let incl = usize::try_from(word(&rec[8..12])).unwrap_or(usize::MAX);
        if incl > 1 << 18 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("pcap record of {incl} bytes"),
            ));
        }
        frame.resize(incl, 0);
        if input.read_exact(&mut frame).is_err() {
            return Ok(());
        }
        each(time, &frame);
    }
}

/// A classic little-endian microsecond pcap stream of Ethernet frames.
pub fn pcap_bytes(frames: &[(f64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (time, frame) in frames {
        let secs = time.trunc();
        let usecs = ((time - secs) * 1e6).round().min(999_999.0);
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        // Timestamps fit u32 until 2106; frames are at most the snaplen.
        for word in [secs as u32, usecs as u32, len, len] {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(le: bool, secs: u32, usecs: u32, frame: &[u8]) -> Vec<u8> {
        let w = |v: u32| {
            if le {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let n = u32::try_from(frame.len()).unwrap();
        let mut out = Vec::new();
        for v in [secs, usecs, n, n] {
            out.extend_from_slice(&w(v));
        }
        out.extend_from_slice(frame);
        out
    }

    fn header(le: bool, magic: u32, linktype: u32) -> Vec<u8> {
        let w = |v: u32| {
            if le {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut h = w(magic).to_vec();
        h.extend_from_slice(&[2, 0, 4, 0]);
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&w(256));
        h.extend_from_slice(&w(linktype));
        h
    }

    fn collect(bytes: &[u8]) -> io::Result<Vec<(f64, Vec<u8>)>> {
        let mut got = Vec::new();
        read_pcap(&mut &bytes[..], |t, f| got.push((t, f.to_vec())))?;
        Ok(got)
    }

    #[test]
    fn reads_both_byte_orders_and_stops_at_a_truncated_record() {
        for le in [true, false] {
            let mut s = header(le, 0xa1b2_c3d4, 1);
            s.extend(record(le, 10, 500_000, b"abc"));
            s.extend(record(le, 11, 0, b"defg"));
            let mut cut = record(le, 12, 0, b"hijkl");
            cut.truncate(18);
            s.extend(cut);
            let got = collect(&s).unwrap();
            assert_eq!(got.len(), 2, "little endian: {le}");
            assert_eq!(got[0], (10.5, b"abc".to_vec()));
            assert_eq!(got[1].1, b"defg".to_vec());
        }
    }

    #[test]
    fn written_pcap_reads_back() {
        let frames = vec![(10.25, b"abc".to_vec()), (11.0, b"defgh".to_vec())];
        let got = collect(&pcap_bytes(&frames)).unwrap();
        assert_eq!(got, frames);
    }

    #[test]
    fn nanosecond_timestamps() {
        let mut s = header(true, 0xa1b2_3c4d, 1);
        s.extend(record(true, 1, 250_000_000, b"x"));
        assert_eq!(collect(&s).unwrap()[0].0, 1.25);
    }

    #[test]
    fn rejects_other_link_types_and_non_pcap() {
        assert!(collect(&header(true, 0xa1b2_c3d4, 113)).is_err());
        assert!(collect(b"tcpdump: listening on eth0, link-type").is_err());
        assert!(collect(b"").unwrap().is_empty());
    }

    #[test]
    fn capture_splits_leaks_from_allowed_counts() {
        let leak = PacketSummary {
            dport: Some(80),
            ..unparsed()
        };
        let c = Capture::from_packets(vec![
            Captured {
                class: Class::Vpn,
                summary: None,
            },
            Captured {
                class: Class::Vpn,
                summary: None,
            },
            Captured {
                class: Class::Leak,
                summary: Some(leak.clone()),
            },
            Captured {
                class: Class::Leak,
                summary: None,
            },
        ]);
        assert_eq!(c.count(Class::Vpn), 2);
        assert_eq!(c.count(Class::Leak), 0);
        assert_eq!(c.leaks.len(), 2);
        assert_eq!(c.leaks_where(|p| p.dport == Some(80)), vec![&leak]);
    }
}
