//! When Redis saves and when it refuses writes: save points, `stop-writes-on-bgsave-error`,
//! the automatic AOF rewrite trigger, and the overcommit check. Pure decisions, tested in
//! isolation; [`super::Persistence`] applies them.

use crate::command::ErrorReply;
use crate::config::SaveRule;

/// `CONFIG_BGSAVE_RETRY_DELAY` (redis `src/server.h`): after a failed BGSAVE, save points
/// wait 5 s before trying again.
pub const CONFIG_BGSAVE_RETRY_DELAY_SECS: u64 = 5;
/// `AOF_REWRITE_LIMITE_THRESHOLD` (redis `src/aof.c`): consecutive failed automatic rewrites
/// before rewrites are delayed.
pub const AOF_REWRITE_LIMIT_THRESHOLD: u32 = 3;
/// `AOF_REWRITE_LIMITE_MAX_MINUTES` (redis `src/aof.c`): the delay doubles up to 60 minutes.
pub const AOF_REWRITE_LIMIT_MAX_MINUTES: u64 = 60;

/// What the save-point check needs to know (Redis's `server.*` fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SaveState {
    /// Changes since the last successful save (`server.dirty`).
    pub dirty: u64,
    /// Now, unix seconds (`server.unixtime`).
    pub now_s: u64,
    /// Time of the last successful save (`server.lastsave`).
    pub lastsave_s: u64,
    /// Time of the last BGSAVE attempt (`server.lastbgsave_try`).
    pub lastbgsave_try_s: u64,
    /// Whether the last BGSAVE succeeded (`server.lastbgsave_status == C_OK`).
    pub last_bgsave_ok: bool,
}

/// The first save point that fires, exactly as serverCron checks them (redis
/// `src/server.c`): `dirty >= changes && now - lastsave > seconds` (strictly greater) and
/// either the last BGSAVE succeeded or `now - lastbgsave_try > CONFIG_BGSAVE_RETRY_DELAY`.
/// The caller also requires that no child is running.
pub fn due_save_point(rules: &[SaveRule], s: &SaveState) -> Option<SaveRule> {
    rules.iter().copied().find(|r| {
        s.dirty >= r.changes
            && s.now_s.saturating_sub(s.lastsave_s) > r.seconds
            && (s.last_bgsave_ok
                || s.now_s.saturating_sub(s.lastbgsave_try_s) > CONFIG_BGSAVE_RETRY_DELAY_SECS)
    })
}

/// Redis's log line for a firing save point: `"%d changes in %d seconds. Saving..."`.
pub fn save_point_log(rule: &SaveRule) -> String {
    format!(
        "{} changes in {} seconds. Saving...",
        rule.changes, rule.seconds
    )
}

/// The MISCONF error writes get, if any (redis `src/server.c` `writeCommandsDeniedByDiskError`):
/// RDB when `stop-writes-on-bgsave-error yes`, at least one save point, and the last BGSAVE
/// failed; otherwise AOF when the last AOF write failed (with its strerror).
pub fn write_block(
    stop_writes_on_bgsave_error: bool,
    has_save_points: bool,
    last_bgsave_ok: bool,
    aof_write_error: Option<&str>,
) -> Option<ErrorReply> {
    if stop_writes_on_bgsave_error && has_save_points && !last_bgsave_ok {
        Some(ErrorReply::MisconfRdb)
    } else {
        aof_write_error.map(|e| ErrorReply::MisconfAof(e.to_string()))
    }
}

/// Whether an automatic AOF rewrite is due (redis `src/server.c` serverCron):
/// `current > min_size` and `current*100/base - 100 >= percentage` (base = size after the
/// last rewrite; 1 when 0, as Redis does). `percentage == 0` disables it.
pub fn aof_rewrite_due(current: u64, base: u64, percentage: u32, min_size: u64) -> Option<u64> {
    if percentage == 0 || current <= min_size {
        return None;
    }
    let base = base.max(1);
    let growth = (current as u128 * 100 / base as u128) as i128 - 100;
    (growth >= percentage as i128).then_some(growth as u64)
}

/// Redis's log line: `Starting automatic rewriting of AOF on %lld%% growth`.
pub fn aof_rewrite_log(growth: u64) -> String {
    format!("Starting automatic rewriting of AOF on {growth}% growth")
}

/// Minutes to wait before the next automatic rewrite after `failures` consecutive failed
/// ones (redis `aofRewriteLimited`): nothing below the threshold, then 1, 2, 4, … capped at
/// 60.
pub fn aof_rewrite_delay_minutes(failures: u32) -> u64 {
    if failures < AOF_REWRITE_LIMIT_THRESHOLD {
        return 0;
    }
    let exp = (failures - AOF_REWRITE_LIMIT_THRESHOLD).min(16);
    (1u64 << exp).min(AOF_REWRITE_LIMIT_MAX_MINUTES)
}

/// `/proc/sys/vm/overcommit_memory` (0 heuristic, 1 always, 2 never), if readable.
pub fn overcommit_memory() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Redis's start-up warning when `overcommit_memory` is not 1 (redis `src/syscheck.c`,
/// 7.2+); the jemalloc sentence appears only on jemalloc builds.
pub fn overcommit_warning(mode: u32, jemalloc: bool) -> Option<String> {
    if mode == 1 {
        return None;
    }
    let jemalloc_part = if jemalloc {
        " Being disabled, it can also cause failures without low memory condition, see https://github.com/jemalloc/jemalloc/issues/1328."
    } else {
        ""
    };
    Some(format!(
        "WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition.{jemalloc_part} To fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_SAVE_RULES;

    fn st(dirty: u64, now: u64, last: u64) -> SaveState {
        SaveState {
            dirty,
            now_s: now,
            lastsave_s: last,
            lastbgsave_try_s: last,
            last_bgsave_ok: true,
        }
    }

    #[test]
    fn redis7_default_points_fire_as_redis_does() {
        let r = &DEFAULT_SAVE_RULES; // 3600 1, 300 100, 60 10000
        // One change: only after more than an hour.
        assert_eq!(
            due_save_point(r, &st(1, 3600, 0)),
            None,
            "strictly greater than 3600 s"
        );
        assert_eq!(due_save_point(r, &st(1, 3601, 0)).unwrap().seconds, 3600);
        // 100 changes: after 301 s, via the second point.
        assert_eq!(due_save_point(r, &st(100, 300, 0)), None);
        assert_eq!(due_save_point(r, &st(100, 301, 0)).unwrap().changes, 100);
        assert_eq!(due_save_point(r, &st(99, 301, 0)), None);
        // 10000 changes: after 61 s.
        assert_eq!(
            due_save_point(r, &st(10_000, 61, 0)).unwrap().changes,
            10_000
        );
        assert_eq!(due_save_point(r, &st(9_999, 61, 0)), None);
        assert_eq!(
            save_point_log(&r[2]),
            "10000 changes in 60 seconds. Saving..."
        );
    }

    #[test]
    fn failed_bgsave_retries_only_after_five_seconds() {
        let r = &DEFAULT_SAVE_RULES;
        let mut s = st(10_000, 100, 0);
        s.last_bgsave_ok = false;
        s.lastbgsave_try_s = 96;
        assert_eq!(due_save_point(r, &s), None, "4 s after the failed try");
        s.now_s = 101;
        assert_eq!(due_save_point(r, &s), None, "5 s is not more than 5 s");
        s.now_s = 102;
        assert!(due_save_point(r, &s).is_some());
        assert_eq!(due_save_point(&[], &s), None, "save \"\" disables");
    }

    #[test]
    fn misconf_only_under_stop_writes_with_save_points_after_a_failure() {
        assert_eq!(
            write_block(true, true, false, None),
            Some(ErrorReply::MisconfRdb)
        );
        assert_eq!(write_block(false, true, false, None), None);
        assert_eq!(write_block(true, false, false, None), None);
        assert_eq!(write_block(true, true, true, None), None);
        assert_eq!(
            write_block(true, true, true, Some("No space left on device")),
            Some(ErrorReply::MisconfAof("No space left on device".into()))
        );
        assert_eq!(
            ErrorReply::MisconfAof("No space left on device".into()).message(),
            "MISCONF Errors writing to the AOF file: No space left on device"
        );
    }

    #[test]
    fn aof_rewrite_trigger_and_backoff() {
        let mb = 1 << 20;
        // Below the minimum size nothing happens, whatever the growth.
        assert_eq!(aof_rewrite_due(64 * mb, 1, 100, 64 * mb), None);
        // 65 MB over a 32 MB base: growth 103 % ≥ 100 %.
        assert_eq!(aof_rewrite_due(65 * mb, 32 * mb, 100, 64 * mb), Some(103));
        // 65 MB over a 40 MB base: 62 %.
        assert_eq!(aof_rewrite_due(65 * mb, 40 * mb, 100, 64 * mb), None);
        assert_eq!(
            aof_rewrite_due(65 * mb, 1, 0, 64 * mb),
            None,
            "0 % disables"
        );
        assert_eq!(
            aof_rewrite_log(103),
            "Starting automatic rewriting of AOF on 103% growth"
        );
        let d: Vec<u64> = (0..12).map(aof_rewrite_delay_minutes).collect();
        assert_eq!(d, [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    #[test]
    fn overcommit_warning_text() {
        assert_eq!(overcommit_warning(1, false), None);
        let w = overcommit_warning(0, false).unwrap();
        assert!(w.starts_with("WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition. To fix"));
        assert!(
            overcommit_warning(2, true)
                .unwrap()
                .contains("jemalloc/issues/1328")
        );
    }
}
