//! `mru`: most-recently-used — evicts the key touched last. The README's "Adding a policy"
//! example: this file plus the line `#[cfg(test)] mru::Mru,` in the `policies!` list register
//! it (in test builds only), and the tests below run it through the engine by name; the
//! conformance tests check it like every other policy.
//!
//! Source: Chou & DeWitt, "An Evaluation of Buffer Management Strategies for Relational
//! Database Systems", VLDB 1985 (MRU for looping sequential scans). Deviations: none.
//! Metadata: 8 bytes per slot (two `u32` links). Suits loops slightly larger than the cache,
//! where LRU misses every request; fails on anything with recency locality.

// README example: begin
use super::list::{SlotLinks, SlotList};
use super::params::ParamSpec;
use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

/// Registry entry: name, summary, parameters, builder.
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "mru",
    "most recently used: evict the key touched last (Chou & DeWitt VLDB'85)",
    &[ParamSpec::flag("spare-newest", false, "evict the second most recent key")],
    |b| Mru::new(b.params.flag("spare-newest")).into(),
)];

/// MRU over a recency list (front = most recent).
#[derive(Debug, Default)]
pub struct Mru {
    links: SlotLinks,
    list: SlotList,
    spare_newest: bool,
}

impl Mru {
    /// MRU; with `spare_newest` the victim is the second most recent key.
    pub fn new(spare_newest: bool) -> Mru {
        Mru {
            spare_newest,
            ..Mru::default()
        }
    }
}

impl Policy for Mru {
    fn on_insert(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        self.links.push_front(&mut self.list, slot);
    }
    fn on_access(&mut self, slot: Slot, _: &Keyspace, _: &mut PolicyCtx<'_>) {
        self.links.move_to_front(&mut self.list, slot);
    }
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        self.links.unlink(&mut self.list, slot);
    }
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        let front = self.list.front()?;
        match self.links.next(front) {
            Some(second) if self.spare_newest => Some(second),
            _ => Some(front),
        }
    }
}
// README example: end

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn registered_by_one_line_and_run_through_the_engine_by_name() {
        let info = crate::policy::find("mru").expect("mru is registered");
        assert_eq!(info.params[0].name, "spare-newest");
        let mut e = engine("mru", 3);
        for id in [1, 2, 3] {
            set(&mut e, id);
        }
        assert!(hit(&mut e, 1));
        set(&mut e, 4); // evicts 1, the most recently used
        assert_eq!(keys(&e), vec![2, 3, 4]);
        // The cache-aside fast path the hit-rate runner uses goes through the same policy.
        assert!(matches!(
            e.get_or_fill_id(5, 8, 0),
            crate::FillOutcome::Filled
        ));
        assert_eq!(keys(&e), vec![2, 3, 5]);
    }

    #[test]
    fn its_parameter_is_typed_and_range_checked() {
        let mut e = engine_with("mru", 3, &[("lab-policy-param", "spare-newest yes")]);
        for id in [1, 2, 3] {
            set(&mut e, id);
        }
        set(&mut e, 4); // spares 3, the newest; evicts 2
        assert_eq!(keys(&e), vec![1, 3, 4]);
        let mut c = crate::Config::default();
        let err = c
            .set("lab-policy-param", &["spare-newest", "2"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("'2'") && err.contains("yes or no"), "{err}");
    }

    #[test]
    fn the_readme_shows_this_file() {
        let src = include_str!("mru.rs");
        let begin = "// README example: begin\n";
        let code = &src[src.find(begin).unwrap() + begin.len()..src.find("// README example: end").unwrap()];
        let readme = include_str!("../../../README.md");
        let start = readme
            .find("## Adding a policy")
            .expect("README has an 'Adding a policy' section");
        let section = &readme[start..];
        // Every line of the README's code block is a line of this file, in order.
        let block = section
            .split("```rust\n")
            .nth(1)
            .and_then(|b| b.split("```").next())
            .expect("a rust code block in the section");
        let mut rest = code;
        for line in block.lines().filter(|l| !l.trim().is_empty() && !l.trim().starts_with("// …")) {
            let at = rest
                .find(line)
                .unwrap_or_else(|| panic!("README line not in mru.rs (in order): {line:?}"));
            rest = &rest[at + line.len()..];
        }
    }
}
