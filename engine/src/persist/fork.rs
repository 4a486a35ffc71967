//! `fork()` for background children (BGSAVE, BGREWRITEAOF), the child-info pipe, and
//! non-blocking reaping.
//!
//! Mirrors redis `src/server.c` `redisFork` and `src/childinfo.c`:
//!
//! * The parent opens the child-info pipe (read end non-blocking, as `anetPipe(…,
//!   O_NONBLOCK, 0)`), times the `fork()` call in µs (INFO `latest_fork_usec`), and never
//!   waits for the child: [`ForkedChild::poll`] drains the pipe and calls
//!   `waitpid(pid, WNOHANG)`.
//! * The child takes a baseline `Private_Dirty` reading, runs its job, reports COW every
//!   [`CHILD_INFO_PERIOD`] (checked every [`KEYS_PER_CLOCK_CHECK`] keys) under the duty cycle,
//!   sends a final fresh reading, and leaves with `_exit(status)` — never unwinding into the
//!   caller's stack, never running atexit handlers or destructors that belong to the parent.
//! * Optionally (the lab's *handshake*, used by experiments) the child, once its file is
//!   written, tells the parent and blocks until the parent says go: the parent can then stop
//!   its workload and count the pages it dirtied while the child still shares the rest —
//!   a page-level ground truth that needs both processes alive.
//! * A fork failure is a [`ForkError`] naming the errno; failures can be injected
//!   ([`ForkOptions::inject_failure`]) because a real `ENOMEM` cannot be provoked on demand.
//!
//! What the child may do: it is a copy of a possibly multi-threaded process with only the
//! forking thread alive. It must not take locks another thread may have held at the fork
//! (stdout/stderr, a progress bar, a test harness's capture). glibc re-initialises malloc's
//! locks in the child, so allocation is safe; our children allocate little anyway (every
//! heap byte the child writes is a page it copies and would count as COW).

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe2, read, write};

use super::cow::{
    CHILD_COW_DUTY_CYCLE, CHILD_INFO_PERIOD, CowSample, CowStats, DutyCycleSampler,
    KEYS_PER_CLOCK_CHECK, MESSAGE_LEN, Message, MessageKind, read_private_dirty,
};

/// Exit status of a child whose job panicked.
pub const CHILD_PANIC_EXIT: i32 = 101;
/// Exit status of a child that could not write to the child-info pipe (redis: `exitFromChild(1)`
/// after "Child failed reporting info to parent, exiting.").
pub const CHILD_REPORT_FAILED_EXIT: i32 = 1;

/// Which background job a child runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// BGSAVE (`CHILD_TYPE_RDB`).
    Rdb,
    /// BGREWRITEAOF (`CHILD_TYPE_AOF`).
    AofRewrite,
}

impl ChildKind {
    /// The name Redis uses in the COW log line (`RDB`, `AOF rewrite`).
    pub fn cow_name(self) -> &'static str {
        match self {
            ChildKind::Rdb => "RDB",
            ChildKind::AofRewrite => "AOF rewrite",
        }
    }
    fn final_kind(self) -> MessageKind {
        match self {
            ChildKind::Rdb => MessageKind::RdbFinal,
            ChildKind::AofRewrite => MessageKind::AofFinal,
        }
    }
}

/// How a child reports and whether the fork should fail on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForkOptions {
    /// Minimum time between periodic COW reports (Redis: 1000 ms).
    pub report_period: Duration,
    /// Keys between clock checks (Redis: 1024).
    pub keys_per_check: u64,
    /// Duty cycle of periodic `Private_Dirty` readings (Redis: 100; 0 = read every report).
    pub duty_cycle: u64,
    /// Lab handshake: the child waits for [`ForkedChild::release`] after writing.
    pub handshake: bool,
    /// Fail the fork with this errno instead of forking (tests, failure drills).
    pub inject_failure: Option<Errno>,
}

impl Default for ForkOptions {
    fn default() -> Self {
        ForkOptions {
            report_period: CHILD_INFO_PERIOD,
            keys_per_check: KEYS_PER_CLOCK_CHECK,
            duty_cycle: CHILD_COW_DUTY_CYCLE,
            handshake: false,
            inject_failure: None,
        }
    }
}

/// Starting a background child failed. The caller's engine is untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForkError {
    /// `fork()` failed (or a failure was injected).
    #[error("fork: {}{}", strerror(*.errno), if *.injected { " (injected)" } else { "" })]
    Fork {
        /// The errno.
        errno: Errno,
        /// True when [`ForkOptions::inject_failure`] caused it.
        injected: bool,
    },
    /// The child-info pipe could not be created.
    #[error("cannot create the child-info pipe: {}", strerror(*.0))]
    Pipe(Errno),
    /// A child is already running (Redis: "Background save already in progress").
    #[error("a background child (pid {pid}) is already running")]
    ChildRunning {
        /// The running child.
        pid: i32,
    },
}

/// How a child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildOutcome {
    /// Exit status 0.
    Success,
    /// Non-zero exit status; `errno` when the child reported one.
    Failed {
        /// The exit status.
        code: i32,
        /// The error the child reported, if any.
        errno: Option<Errno>,
    },
    /// Killed by a signal.
    Signaled(Signal),
    /// `waitpid` lost track of the child (reaped elsewhere).
    Lost,
}

/// The end of a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildExit {
    /// How it ended.
    pub outcome: ChildOutcome,
    /// Time from the fork to the parent noticing the exit.
    pub duration: Duration,
}

/// Whether the child is still running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildState {
    /// Still running.
    Running,
    /// Ended (also available from [`ForkedChild::exit`]).
    Exited(ChildExit),
}

/// The parent's handle on a background child.
#[derive(Debug)]
pub struct ForkedChild {
    pid: Pid,
    kind: ChildKind,
    rx: OwnedFd,
    go: Option<OwnedFd>,
    started: Instant,
    fork_usec: u64,
    partial: Vec<u8>,
    baseline: Option<u64>,
    samples: Vec<CowSample>,
    final_stats: Option<CowStats>,
    waiting_for_go: bool,
    child_errno: Option<Errno>,
    exit: Option<ChildExit>,
}

impl ForkedChild {
    /// The child's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }
    /// What the child does.
    pub fn kind(&self) -> ChildKind {
        self.kind
    }
    /// Duration of the `fork()` call in the parent, µs (INFO `latest_fork_usec`).
    pub fn fork_usec(&self) -> u64 {
        self.fork_usec
    }
    /// When the fork was called.
    pub fn started(&self) -> Instant {
        self.started
    }
    /// The child's own Private_Dirty right after the fork, once received.
    pub fn baseline(&self) -> Option<u64> {
        self.baseline
    }
    /// COW samples received so far (periodic ones, then the final one).
    pub fn samples(&self) -> &[CowSample] {
        &self.samples
    }
    /// The child's final statistics (raw, as Redis logs them), once received.
    pub fn final_stats(&self) -> Option<CowStats> {
        self.final_stats
    }
    /// True when the child (handshake mode) has written its output and waits for
    /// [`ForkedChild::release`].
    pub fn waiting_for_go(&self) -> bool {
        self.waiting_for_go
    }
    /// The errno the child reported, if it failed.
    pub fn child_errno(&self) -> Option<Errno> {
        self.child_errno
    }
    /// How the child ended, once it has.
    pub fn exit(&self) -> Option<ChildExit> {
        self.exit
    }

    /// Peak COW (baseline subtracted) over the samples so far.
    pub fn cow_peak_bytes(&self) -> u64 {
        self.samples.iter().map(|s| s.cow_bytes).max().unwrap_or(0)
    }

    /// Lets a handshake child go on to its final report and exit.
    pub fn release(&mut self) {
        if let Some(go) = self.go.take() {
            // A failed write means the child is gone; poll will tell.
            let _ = write(go.as_fd(), b"g");
        }
        self.waiting_for_go = false;
    }

    /// Sends `sig` to the child (e.g. SIGKILL to abort a save).
    pub fn kill(&self, sig: Signal) -> Result<(), Errno> {
        if self.exit.is_some() {
            return Ok(());
        }
        kill(self.pid, sig)
    }

    /// Reads every complete message waiting in the pipe (never blocks).
    fn drain(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match read(self.rx.as_fd(), &mut buf) {
                Ok(0) => break,
                Ok(n) => self.partial.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => continue,
                Err(_) => break, // EAGAIN: nothing more for now
            }
        }
        let whole = self.partial.len() / MESSAGE_LEN * MESSAGE_LEN;
        let mut i = 0;
        while i < whole {
            let mut m = [0u8; MESSAGE_LEN];
            m.copy_from_slice(&self.partial[i..i + MESSAGE_LEN]);
            if let Some(msg) = Message::decode(&m) {
                self.on_message(msg);
            }
            i += MESSAGE_LEN;
        }
        self.partial.drain(..whole);
    }

    fn on_message(&mut self, m: Message) {
        let base = self.baseline.unwrap_or(0);
        match m.kind {
            MessageKind::Baseline => self.baseline = Some(m.private_dirty),
            MessageKind::Current | MessageKind::RdbFinal | MessageKind::AofFinal => {
                let is_final = m.kind != MessageKind::Current;
                self.samples.push(CowSample {
                    t_us: m.t_us,
                    private_dirty_bytes: m.private_dirty,
                    cow_bytes: m.private_dirty.saturating_sub(base),
                    fresh: m.fresh,
                    is_final,
                    keys_processed: m.keys,
                    read_cost_us: m.read_cost_us,
                });
                if is_final {
                    // current/peak/average exactly as the child computed them (raw).
                    self.final_stats = Some(CowStats {
                        current: m.private_dirty,
                        peak: m.peak,
                        sum: m.average,
                        count: 1,
                    });
                }
            }
            MessageKind::DoneWriting => self.waiting_for_go = true,
            MessageKind::Error => self.child_errno = Some(Errno::from_raw(m.keys as i32)),
        }
    }

    /// Drains the pipe and reaps the child if it has ended, without blocking.
    pub fn poll(&mut self) -> ChildState {
        if let Some(e) = self.exit {
            return ChildState::Exited(e);
        }
        self.drain();
        let outcome = match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, 0)) => ChildOutcome::Success,
            Ok(WaitStatus::Exited(_, code)) => ChildOutcome::Failed { code, errno: None },
            Ok(WaitStatus::Signaled(_, sig, _)) => ChildOutcome::Signaled(sig),
            Ok(_) | Err(Errno::EINTR) => return ChildState::Running,
            Err(_) => ChildOutcome::Lost,
        };
        // The child is gone: everything it wrote is in the pipe now.
        self.drain();
        let outcome = match outcome {
            ChildOutcome::Failed { code, .. } => ChildOutcome::Failed {
                code,
                errno: self.child_errno,
            },
            o => o,
        };
        let e = ChildExit {
            outcome,
            duration: self.started.elapsed(),
        };
        self.exit = Some(e);
        self.waiting_for_go = false;
        ChildState::Exited(e)
    }

    /// Polls until the child ends, sleeping `interval` between polls (keeps draining the
    /// pipe so the child never blocks on it). A handshake child is released when it asks.
    pub fn wait(&mut self, interval: Duration) -> ChildExit {
        loop {
            if let ChildState::Exited(e) = self.poll() {
                return e;
            }
            if self.waiting_for_go {
                self.release();
            }
            std::thread::sleep(interval);
        }
    }
}

impl Drop for ForkedChild {
    /// A handle dropped while its child runs kills and reaps the child (no zombies, no
    /// orphaned writers).
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = waitpid(self.pid, None);
        }
    }
}

/// The child's side: reports through the pipe. Every method is allocation-free.
#[derive(Debug)]
pub struct ChildReporter {
    tx: OwnedFd,
    go: Option<OwnedFd>,
    started: Instant,
    sampler: DutyCycleSampler,
    period: Duration,
    keys_per_check: u64,
    last_report: Instant,
    kind: ChildKind,
}

impl ChildReporter {
    fn send(&mut self, m: Message) {
        let bytes = m.encode();
        let mut off = 0;
        while off < bytes.len() {
            match write(self.tx.as_fd(), &bytes[off..]) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                // The parent is gone (redis: "Child failed reporting info to parent,
                // exiting.").
                // SAFETY: _exit is async-signal-safe and ends this forked child at once.
                Err(_) => unsafe { libc::_exit(CHILD_REPORT_FAILED_EXIT) },
            }
        }
    }

    fn message(&self, kind: MessageKind, fresh: bool, pd: u64, keys: u64) -> Message {
        let st = &self.sampler.stats;
        Message {
            kind,
            fresh,
            t_us: self.started.elapsed().as_micros() as u64,
            private_dirty: pd,
            peak: st.peak,
            average: st.average(),
            keys,
            read_cost_us: 0,
        }
    }

    /// Time since the parent's fork call.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reads and sends the baseline (call before doing any work).
    pub fn send_baseline(&mut self) {
        let pd = read_private_dirty().unwrap_or(0);
        let m = self.message(MessageKind::Baseline, true, pd, 0);
        self.send(m);
    }

    /// Called after each key: every `keys_per_check` keys, looks at the clock and sends a
    /// periodic report if `report_period` has passed (readings throttled by the duty cycle).
    #[inline]
    pub fn progress(&mut self, keys_done: u64) {
        if keys_done.is_multiple_of(self.keys_per_check.max(1))
            && self.last_report.elapsed() >= self.period
        {
            self.report(keys_done);
        }
    }

    /// Sends a periodic report now (throttled reading).
    pub fn report(&mut self, keys_done: u64) {
        let r = self.sampler.sample(false, read_private_dirty);
        let mut m = self.message(MessageKind::Current, r.fresh, r.bytes, keys_done);
        m.read_cost_us = r.cost.as_micros() as u64;
        self.send(m);
        self.last_report = Instant::now();
    }

    /// Handshake: tells the parent the output is written and blocks until it says go (or
    /// goes away). Does nothing without the handshake.
    pub fn wait_for_go(&mut self, keys_done: u64) {
        let Some(go) = self.go.take() else { return };
        let m = self.message(
            MessageKind::DoneWriting,
            false,
            self.sampler.stats.current,
            keys_done,
        );
        self.send(m);
        let mut b = [0u8; 1];
        while let Err(Errno::EINTR) = read(go.as_fd(), &mut b) {}
    }

    /// Sends the final report with a fresh reading.
    pub fn finish(&mut self, keys_done: u64) {
        let r = self.sampler.sample(true, read_private_dirty);
        let mut m = self.message(self.kind.final_kind(), true, r.bytes, keys_done);
        m.read_cost_us = r.cost.as_micros() as u64;
        self.send(m);
    }

    /// Reports an error before exiting with a failure status.
    pub fn fail(&mut self, errno: Errno) {
        let m = self.message(MessageKind::Error, false, 0, errno as i32 as u64);
        self.send(m);
    }
}

/// The C library's text for `errno` (`strerror`), e.g. "Cannot allocate memory", as Redis
/// prints it in its logs.
pub fn strerror(errno: Errno) -> String {
    let s = io::Error::from_raw_os_error(errno as i32).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The errno inside an I/O error (EIO when there is none).
pub fn errno_of(e: &io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

/// Forks a child that runs `job` and exits with the status it returns.
///
/// `job` runs in the child only; it gets a [`ChildReporter`] whose baseline reading has not
/// been taken yet (call [`ChildReporter::send_baseline`] once the child's own buffers
/// exist). A panic in `job` exits with [`CHILD_PANIC_EXIT`]. The parent gets a
/// [`ForkedChild`] at once and must [`ForkedChild::poll`] it.
pub fn fork_child(
    kind: ChildKind,
    opts: &ForkOptions,
    job: impl FnOnce(&mut ChildReporter) -> i32,
) -> Result<ForkedChild, ForkError> {
    if let Some(errno) = opts.inject_failure {
        return Err(ForkError::Fork {
            errno,
            injected: true,
        });
    }
    let (rx, tx) = pipe2(OFlag::O_CLOEXEC).map_err(ForkError::Pipe)?;
    fcntl(rx.as_fd(), FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map_err(ForkError::Pipe)?;
    let go = if opts.handshake {
        Some(pipe2(OFlag::O_CLOEXEC).map_err(ForkError::Pipe)?)
    } else {
        None
    };
    let started = Instant::now();
    // SAFETY: in the child we only run `job` (documented to avoid locks other threads may
    // hold) and leave with `_exit`, never returning into the caller's frames.
    match unsafe { fork() } {
        Err(errno) => Err(ForkError::Fork {
            errno,
            injected: false,
        }),
        Ok(ForkResult::Child) => {
            drop(rx);
            let go_rx = go.map(|(r, w)| {
                drop(w);
                r
            });
            let mut rep = ChildReporter {
                tx,
                go: go_rx,
                started,
                sampler: DutyCycleSampler::new(opts.duty_cycle),
                period: opts.report_period,
                keys_per_check: opts.keys_per_check,
                last_report: Instant::now(),
                kind,
            };
            let code = catch_unwind(AssertUnwindSafe(|| job(&mut rep))).unwrap_or(CHILD_PANIC_EXIT);
            // SAFETY: _exit ends the child without running the parent's atexit handlers or
            // flushing stdio buffers that belong to the parent.
            unsafe { libc::_exit(code) }
        }
        Ok(ForkResult::Parent { child }) => {
            let fork_usec = started.elapsed().as_micros() as u64;
            drop(tx);
            let go_tx = go.map(|(r, w)| {
                drop(r);
                w
            });
            Ok(ForkedChild {
                pid: child,
                kind,
                rx,
                go: go_tx,
                started,
                fork_usec,
                partial: Vec::with_capacity(MESSAGE_LEN * 4),
                baseline: None,
                samples: Vec::new(),
                final_stats: None,
                waiting_for_go: false,
                child_errno: None,
                exit: None,
            })
        }
    }
}
