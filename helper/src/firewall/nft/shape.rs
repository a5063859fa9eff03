//! What the `inet airlock` table looks like, reduced to what tampering
//! changes: chains (hook, policy, rule count), named sets and counters.
//! Parsed from `nft -j list table inet airlock`; counter values and handles
//! are left out so two reads of an untouched table compare equal. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::firewall::Problem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainShape {
    /// `None` for a regular (jump target) chain.
    pub hook: Option<String>,
    pub policy: Option<String>,
    pub rules: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableShape {
    pub chains: BTreeMap<String, ChainShape>,
    pub sets: BTreeSet<String>,
    pub counters: BTreeSet<String>,
}

fn items(json: &str) -> Result<Vec<Value>, String> {
    let root: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    match root.get("nftables") {
        Some(Value::Array(items)) => Ok(items.clone()),
        _ => Err("no top-level \"nftables\" array".into()),
    }
}

fn str_field(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The shape of table `table` in the JSON listing.
pub fn parse(json: &str, table: &str) -> Result<TableShape, String> {
    let mut shape = TableShape::default();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    for item in items(json)? {
        let Some((kind, obj)) = item.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        if obj.get("table").and_then(Value::as_str) != Some(table) {
            continue;
        }
        let name = str_field(obj, "name");
        match (kind.as_str(), name) {
            ("chain", Some(name)) => {
                shape.chains.insert(
                    name,
                    ChainShape {
                        hook: str_field(obj, "hook"),
                        policy: str_field(obj, "policy"),
                        rules: 0,
                    },
                );
            }
            ("set", Some(name)) | ("map", Some(name)) => {
                shape.sets.insert(name);
            }
            ("counter", Some(name)) => {
                shape.counters.insert(name);
            }
            ("rule", _) => {
                let chain = str_field(obj, "chain").ok_or("a rule without a chain")?;
                *rules.entry(chain).or_default() += 1;
            }
            _ => {}
        }
    }
    for (chain, n) in rules {
        if let Some(c) = shape.chains.get_mut(&chain) {
            c.rules = n;
        }
    }
    Ok(shape)
}

/// Sum of the packets of the named counters that exist in the listing
/// (`nft -j list counters table inet airlock`), or `None` if none does.
pub fn counter_packets(json: &str, names: &[&str]) -> Result<Option<u64>, String> {
    let mut total = None;
    for item in items(json)? {
        let Some(c) = item.get("counter") else {
            continue;
        };
        let Some(name) = c.get("name").and_then(Value::as_str) else {
            continue;
        };
        if names.contains(&name) {
            let packets = c
                .get("packets")
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("counter {name} has no packet count"))?;
            total = Some(total.unwrap_or(0u64).saturating_add(packets));
        }
    }
    Ok(total)
}

/// Names a script declares (`chain NAME {`, `set NAME {`, `map NAME {`,
/// `counter NAME {`): what the kernel must hold after loading it.
pub fn declared(script: &str) -> TableShape {
    let mut shape = TableShape::default();
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [kind, name, open, ..] = words.as_slice() {
            if !open.starts_with('{') {
                continue;
            }
            let name = name.trim_matches('"').to_string();
            match *kind {
                "chain" => {
                    shape.chains.insert(
                        name,
                        ChainShape {
                            hook: None,
                            policy: None,
                            rules: 0,
                        },
                    );
                }
                "set" | "map" => {
                    shape.sets.insert(name);
                }
                "counter" => {
                    shape.counters.insert(name);
                }
                _ => {}
            }
        }
    }
    shape
}

/// What differs in `found` from what was `loaded`. Only losses count:
/// the kill switch is weakened by rules going away, and a reload puts any
/// additions right anyway.
pub fn compare(loaded: &TableShape, found: &TableShape) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (name, want) in &loaded.chains {
        match found.chains.get(name) {
            None => problems.push(Problem::ChainMissing {
                chain: name.clone(),
            }),
            Some(have) => {
                if have.rules != want.rules {
                    problems.push(Problem::ChainChanged {
                        chain: name.clone(),
                        loaded: want.rules,
                        found: have.rules,
                    });
                }
                if have.policy != want.policy {
                    problems.push(Problem::ChainPolicyChanged {
                        chain: name.clone(),
                        loaded: want.policy.clone().unwrap_or_else(|| "none".into()),
                        found: have.policy.clone().unwrap_or_else(|| "none".into()),
                    });
                }
            }
        }
    }
    for (kind, want, have) in [
        ("set", &loaded.sets, &found.sets),
        ("counter", &loaded.counters, &found.counters),
    ] {
        for name in want.difference(have) {
            problems.push(Problem::ObjectMissing {
                kind: kind.to_string(),
                name: name.clone(),
            });
        }
    }
    problems
}

/// Problems visible without knowing what was loaded (the helper restarted
/// and found the table from before): base chains that hold no rules.
pub fn empty_base_chains(found: &TableShape) -> Vec<Problem> {
    found
        .chains
        .iter()
        .filter(|(_, c)| c.hook.is_some() && c.rules == 0)
        .map(|(name, _)| Problem::ChainEmpty {
            chain: name.clone(),
        })
        .collect()
}

/// What `declared` names that `found` lacks, as "chain output", "set x":
/// a load that exits 0 but leaves any of these out did not work.
pub fn missing(declared: &TableShape, found: &TableShape) -> Vec<String> {
    let chains = declared
        .chains
        .keys()
        .filter(|n| !found.chains.contains_key(*n))
        .map(|n| format!("chain {n}"));
    let sets = declared
        .sets
        .difference(&found.sets)
        .map(|n| format!("set {n}"));
    let counters = declared
        .counters
        .difference(&found.counters)
        .map(|n| format!("counter {n}"));
    chains.chain(sets).chain(counters).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nft -j list table inet airlock` from nft 1.0.6, trimmed.
    const LOADED: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "airlock", "handle": 3}}, {"counter": {"family": "inet", "name": "blocked_in", "table": "airlock", "handle": 4, "packets": 7, "bytes": 420}}, {"counter": {"family": "inet", "name": "blocked_out", "table": "airlock", "handle": 5, "packets": 3, "bytes": 180}}, {"set": {"family": "inet", "name": "endpoints4", "table": "airlock", "type": ["ipv4_addr", "inet_proto", "inet_service"], "handle": 6}}, {"chain": {"family": "inet", "table": "airlock", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"chain": {"family": "inet", "table": "airlock", "name": "input", "handle": 2, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "airlock", "chain": "output", "handle": 7, "comment": "loopback", "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "airlock", "chain": "output", "handle": 8, "expr": [{"counter": "blocked_out"}, {"reject": {"type": "icmpx", "expr": "port-unreachable"}}]}}, {"rule": {"family": "inet", "table": "airlock", "chain": "input", "handle": 11, "expr": [{"counter": "blocked_in"}, {"drop": null}]}}]}"#;

    const SCRIPT: &str = "table inet airlock\ndelete table inet airlock\ntable inet airlock {\n  counter blocked_in {}\n  counter blocked_out {}\n  set endpoints4 { type ipv4_addr . inet_proto . inet_service; }\n  chain output {\n    type filter hook output priority 0; policy drop;\n    counter name blocked_out reject\n  }\n  chain input {\n    type filter hook input priority 0; policy drop;\n  }\n}\n";

    #[test]
    fn shape_of_a_listing() {
        let shape = parse(LOADED, "airlock").unwrap();
        assert_eq!(shape.chains["output"].rules, 2);
        assert_eq!(shape.chains["input"].rules, 1);
        assert_eq!(shape.chains["output"].hook.as_deref(), Some("output"));
        assert_eq!(shape.chains["input"].policy.as_deref(), Some("drop"));
        assert!(shape.sets.contains("endpoints4"));
        assert_eq!(shape.counters.len(), 2);
        assert!(parse(LOADED, "other").unwrap().chains.is_empty());
        assert!(parse("{}", "airlock").is_err());
    }

    #[test]
    fn flushed_chain_and_lost_objects_are_reported() {
        let loaded = parse(LOADED, "airlock").unwrap();
        assert_eq!(compare(&loaded, &loaded), vec![]);
        let mut flushed = loaded.clone();
        flushed.chains.get_mut("output").unwrap().rules = 0;
        flushed.chains.get_mut("input").unwrap().policy = Some("accept".into());
        flushed.chains.remove("input");
        flushed.sets.clear();
        let problems = compare(&loaded, &flushed);
        assert_eq!(
            problems,
            vec![
                Problem::ChainMissing {
                    chain: "input".into()
                },
                Problem::ChainChanged {
                    chain: "output".into(),
                    loaded: 2,
                    found: 0
                },
                Problem::ObjectMissing {
                    kind: "set".into(),
                    name: "endpoints4".into()
                },
            ]
        );
        assert_eq!(
            empty_base_chains(&flushed),
            vec![Problem::ChainEmpty {
                chain: "output".into()
            }]
        );
    }

    #[test]
    fn script_declarations_must_all_be_there() {
        let declared = declared(SCRIPT);
        assert_eq!(
            declared.chains.keys().collect::<Vec<_>>(),
            ["input", "output"]
        );
        assert_eq!(
            declared.counters.len(),
            2,
            "`counter name X` in a rule is no declaration"
        );
        let found = parse(LOADED, "airlock").unwrap();
        assert_eq!(missing(&declared, &found), Vec::<String>::new());
        let mut partial = found.clone();
        partial.chains.remove("input");
        partial.counters.remove("blocked_in");
        assert_eq!(
            missing(&declared, &partial),
            ["chain input", "counter blocked_in"]
        );
    }

    #[test]
    fn counters_sum_packets() {
        assert_eq!(
            counter_packets(LOADED, &["blocked_in", "blocked_out"]),
            Ok(Some(10))
        );
        assert_eq!(counter_packets(LOADED, &["nope"]), Ok(None));
    }
}
