//! What the `inet airlock` table looks like, reduced to what tampering
//! changes: chains (hook, policy, rule count), named sets and counters.
//! Parsed from `nft -j list table inet airlock`; counter values and handles
//! are left out so two reads of an untouched table compare equal. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Problem;

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
            total = Some(total.unwrap_or(0) + packets);
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
        if let [kind, name, "{", ..] = words.as_slice() {
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
