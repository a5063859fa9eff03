//! Policy build + render time and output size against the number of VPN
//! endpoints, for both renderers. Endpoints live in a pf table / nft set,
//! so the promise is linear growth in bytes and time with a small slope;
//! this prints the numbers that show it (or do not).
//!
//! `cargo bench -p airlock-shared --bench render`. Run without `--bench`
//! (as `cargo test --all-targets` does) it makes one pass per case, as a
//! smoke test, and prints the same table without timing claims.

use std::hint::black_box;
use std::time::{Duration, Instant};

use airlock_shared::platform::Platform;
use airlock_shared::policy;
use airlock_shared::render::{nft, pf};

#[path = "../tests/common/mod.rs"]
mod common;

const SIZES: [usize; 3] = [1, 100, 10_000];
const WARM_UP: usize = 3;
const RUNS: usize = 31;

struct Sample {
    endpoints: usize,
    bytes: usize,
    median: Duration,
}

fn main() {
    let timing = std::env::args().any(|a| a == "--bench");
    let (warm_up, runs) = if timing { (WARM_UP, RUNS) } else { (0, 1) };
    for platform in [Platform::Linux, Platform::Macos] {
        let name = match platform {
            Platform::Linux => "nft",
            Platform::Macos => "pf",
        };
        let snapshot = common::laptop(platform, &[]);
        let mut samples = Vec::new();
        for &n in &SIZES {
            let settings = common::many_endpoints(n);
            let once = || {
                let policy = policy::build(&settings, &snapshot, platform, common::NOW);
                match platform {
                    Platform::Linux => nft::render(black_box(&policy)),
                    Platform::Macos => pf::render(black_box(&policy)),
                }
            };
            for _ in 0..warm_up {
                black_box(once());
            }
            let mut times = Vec::with_capacity(runs);
            let mut bytes = 0;
            for _ in 0..runs {
                let start = Instant::now();
                let text = black_box(once());
                times.push(start.elapsed());
                bytes = text.len();
            }
            times.sort();
            samples.push(Sample {
                endpoints: n,
                bytes,
                median: times[times.len() / 2],
            });
        }
        report(name, &samples, timing);
    }
}

fn report(renderer: &str, samples: &[Sample], timing: bool) {
    println!("{renderer}: policy build + render, median of {RUNS} after {WARM_UP} warm-up runs");
    println!(
        "  {:>9}  {:>12}  {:>14}",
        "endpoints", "bytes", "time/render"
    );
    for s in samples {
        println!("  {:>9}  {:>12}  {:>14?}", s.endpoints, s.bytes, s.median);
    }
    // Slopes between consecutive sizes: equal slopes mean linear growth.
    for pair in samples.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let dn = (b.endpoints - a.endpoints) as f64;
        let bytes = (b.bytes as f64 - a.bytes as f64) / dn;
        let ns = (b.median.as_nanos() as f64 - a.median.as_nanos() as f64) / dn;
        println!(
            "  per endpoint {:>5} -> {:<5}: {bytes:>8.1} bytes, {ns:>10.1} ns",
            a.endpoints, b.endpoints
        );
    }
    if !timing {
        println!("  (smoke run: one pass, times not meaningful; use `cargo bench`)");
    }
    println!();
}
