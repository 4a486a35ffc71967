//! `experiment list policies|workloads|formats|config`: the registries, as text.

use evictlab_engine::config::PARAMS;
use evictlab_engine::policy::references;
use evictlab_engine::policy::registry::POLICIES;
use evictlab_workloads::TraceFormat;
use evictlab_workloads::registry::{GENERATORS, MIX_PRESETS, OPTIONS};

/// What to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ListWhat {
    /// Eviction policies (the engine's registry).
    Policies,
    /// Workload generators, mix presets and SPEC options.
    Workloads,
    /// Trace formats.
    Formats,
    /// Engine configuration parameters (redis.conf names, defaults, what they accept).
    Config,
}

/// The listing as text.
pub fn render(what: ListWhat) -> String {
    let mut out = String::new();
    match what {
        ListWhat::Policies => {
            out.push_str(&format!("{:<16} {:<9} {}\n", "NAME", "FAMILY", "SUMMARY"));
            for p in POLICIES {
                let mut s = p.summary.to_string();
                if p.needs_next_access {
                    s.push_str(" [needs next access]");
                }
                out.push_str(&format!("{:<16} {:<9} {}\n", p.name, p.family.name(), s));
                // What it reproduces, as the reference test (tests/libcachesim.rs) enforces.
                for r in references(p.name) {
                    let which = match r.variant {
                        None => "defaults".to_string(),
                        Some(v) => format!("variant {v}"),
                    };
                    out.push_str(&format!(
                        "{:<16}   reproduces ({which}): {}, {}\n",
                        "", r.source, r.closeness
                    ));
                }
                // One line per typed parameter: `lab-policy-param NAME VALUE`.
                for spec in p.params {
                    out.push_str(&format!(
                        "{:<16}   {} (default {}; {}): {}\n",
                        "", spec.name, spec.default, spec.ty, spec.doc
                    ));
                }
            }
        }
        ListWhat::Workloads => {
            out.push_str("GENERATORS (SPEC = GENERATOR[,OPTION=VALUE...])\n");
            for g in GENERATORS {
                out.push_str(&format!(
                    "  {:<34} {}\n",
                    format!("{}{}", g.name, g.params),
                    g.doc
                ));
            }
            out.push_str("\nMIX PRESETS (mix=NAME)\n");
            for m in MIX_PRESETS {
                out.push_str(&format!("  {:<34} {}\n", m.name, m.doc));
            }
            out.push_str("\nOPTIONS\n");
            for o in OPTIONS {
                out.push_str(&format!(
                    "  {:<34} {}\n",
                    format!("{}={}", o.name, o.value),
                    o.doc
                ));
            }
        }
        ListWhat::Formats => {
            out.push_str(&format!("{:<16} {}\n", "NAME", "DESCRIPTION"));
            for f in TraceFormat::ALL {
                out.push_str(&format!("{:<16} {}\n", f.name(), f.doc()));
            }
        }
        ListWhat::Config => {
            let defaults = evictlab_engine::Config::default();
            for p in PARAMS {
                let default = defaults.get(p.name).unwrap_or_default();
                out.push_str(&format!(
                    "{} (default: {})\n    {}\n    accepts: {}\n",
                    p.name,
                    if default.is_empty() { "\"\"" } else { &default },
                    p.doc,
                    p.accepts
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_registry_entry() {
        let p = render(ListWhat::Policies);
        for info in POLICIES {
            assert!(p.contains(info.name));
            for spec in info.params {
                assert!(
                    p.contains(spec.name) && p.contains(spec.doc),
                    "{}",
                    spec.name
                );
            }
        }
        assert!(
            p.contains("clock-bits (default 1; an integer in 1..=8)"),
            "{p}"
        );
        let f = render(ListWhat::Formats);
        for name in [
            "csv",
            "oracle-general",
            "vscsi",
            "libcachesim-csv",
            "txt",
            "lirs",
            "cache2k",
            "scarab",
            "corda",
            "cloud-physics",
            "adapt-size",
        ] {
            assert!(f.contains(name), "{name}");
        }
        assert!(render(ListWhat::Workloads).contains("zipf"));
        let c = render(ListWhat::Config);
        for p in PARAMS {
            assert!(c.contains(p.name), "{}", p.name);
        }
        assert!(c.contains("maxmemory-samples (default: 5)"), "{c}");
    }
}
