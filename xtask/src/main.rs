//! Project chores that are code, not shell: `cargo run -p xtask -- check-layers`.
//!
//! `check-layers` reads `cargo metadata` and fails when any of our crates depends (normally or at
//! build time; dev-dependencies are exempt, since tests may drive a crate through a higher one) on
//! a crate of ours at its own layer or above. The layers are DESIGN.md §2's, listed in `LAYERS`.

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// Bottom first. A crate may depend only on crates in strictly lower layers.
const LAYERS: &[(&str, &[&str])] = &[
    ("bottom", &["types"]),
    ("mime", &["message"]),
    (
        "protocol",
        &[
            "imap-proto",
            "pop3-proto",
            "lmtp-proto",
            "managesieve-proto",
            "mupdate-proto",
            "sasl",
            "sieve",
            "config",
        ],
    ),
    ("net", &["net"]),
    ("storage", &["mailstore", "etcd"]),
    // migrate: readers of other servers' stores, writing only through mailstore's import
    // primitive (the IMAP server reads a Cyrus XFER's files with them).
    ("service", &["mailservice", "auth", "migrate"]),
    (
        "servers",
        &[
            "imap-server",
            "pop3-server",
            "lmtp-server",
            "managesieve-server",
            "notify",
            "murder",
            "news",
        ],
    ),
    ("binaries", &["darius", "darius-bench", "xtask"]),
];

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let result = match task.as_deref() {
        Some("check-layers") => check_layers(),
        _ => {
            eprintln!("usage: cargo run -p xtask -- check-layers");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn layer_of() -> BTreeMap<&'static str, (usize, &'static str)> {
    let mut map = BTreeMap::new();
    for (level, (layer, crates)) in LAYERS.iter().enumerate() {
        for name in *crates {
            map.insert(*name, (level, *layer));
        }
    }
    map
}

/// Every dependency edge (normal or build) between our crates that does not point to a
/// strictly lower layer, and every crate that is in no layer.
fn violations(packages: &[Value]) -> Vec<String> {
    let layers = layer_of();
    let mut violations = Vec::new();
    for pkg in packages {
        let name = pkg["name"].as_str().unwrap_or_default();
        let Some(&(level, layer)) = layers.get(name) else {
            violations.push(format!(
                "crate `{name}` is in no layer: add it to xtask's LAYERS"
            ));
            continue;
        };
        for dep in pkg["dependencies"].as_array().into_iter().flatten() {
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep_name = dep["name"].as_str().unwrap_or_default();
            if let Some(&(dep_level, dep_layer)) = layers.get(dep_name) {
                if dep_level >= level {
                    violations.push(format!(
                        "`{name}` ({layer}) depends on `{dep_name}` ({dep_layer}): \
                         dependencies must point to a lower layer"
                    ));
                }
            }
        }
    }
    violations
}

fn check_layers() -> Result<()> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let packages = meta["packages"]
        .as_array()
        .context("no packages in metadata")?;
    let violations = violations(packages);
    if violations.is_empty() {
        println!(
            "check-layers: {} crates, every dependency points down",
            packages.len()
        );
        Ok(())
    } else {
        for v in &violations {
            eprintln!("check-layers: {v}");
        }
        bail!("{} layering violation(s)", violations.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
        let deps: Vec<Value> = deps
            .iter()
            .map(|(d, kind)| serde_json::json!({"name": d, "kind": kind}))
            .collect();
        serde_json::json!({"name": name, "dependencies": deps})
    }

    #[test]
    fn downward_edges_pass() {
        let packages = [
            pkg("mailstore", &[("types", None), ("message", None)]),
            pkg("types", &[]),
        ];
        assert!(violations(&packages).is_empty());
    }

    #[test]
    fn sideways_and_upward_edges_fail() {
        let packages = [
            pkg("sieve", &[("config", None)]),
            pkg("mailstore", &[("mailservice", Some("build"))]),
        ];
        let found = violations(&packages);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("`sieve` (protocol) depends on `config` (protocol)"));
        assert!(found[1].contains("`mailstore` (storage) depends on `mailservice` (service)"));
    }

    #[test]
    fn dev_dependencies_are_exempt_and_unknown_crates_are_reported() {
        let packages = [
            pkg("types", &[("mailstore", Some("dev"))]),
            pkg("stray", &[]),
        ];
        let found = violations(&packages);
        assert_eq!(
            found,
            vec!["crate `stray` is in no layer: add it to xtask's LAYERS".to_string()]
        );
    }
}
