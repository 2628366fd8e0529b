//! The native side of the log bridge: a [`log::Log`] that keeps records in a bounded
//! in-process queue, which Java drains (`NativeBridge.drainLog`) into java.util.logging.
//!
//! Inside a JVM nobody else installs a logger in this library, so without the bridge the
//! core's log lines would go nowhere. The logger is installed by the first drain only,
//! never at load: the C ABI's users and the `consul-connect` tool (env_logger) keep
//! whatever logger they set.
//!
//! Bounds: at most [`CAPACITY`] records wait; when the queue is full the newest record is
//! dropped and counted, and the next drained batch ends with one WARN line saying how many
//! were dropped. Logging never blocks on Java (only a short mutex section) and each
//! message is formatted once, into at most [`MAX_MESSAGE`] bytes.
//!
//! What is forwarded: every record of this crate (targets `consul_connect::…`) up to the
//! level Java sets; records of other crates (rustls, reqwest, hyper…) at WARN and above
//! only, since their debug output is not written with secrets in mind.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// How many records wait for Java at most.
pub(crate) const CAPACITY: usize = 1024;
/// How many records one drain returns at most (plus the drop report).
pub(crate) const BATCH: usize = 256;
/// The longest message kept, in bytes; longer ones are cut (at a character boundary) and
/// end with `…`.
pub(crate) const MAX_MESSAGE: usize = 4096;
/// The longest target kept, in bytes.
const MAX_TARGET: usize = 128;
/// The target of the drop report.
pub(crate) const BRIDGE_TARGET: &str = "consul_connect::log_bridge";
/// This crate's targets start with this.
const OWN_CRATE: &str = "consul_connect";

/// One queued record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The record's level.
    pub(crate) level: log::Level,
    /// Its target (a module path such as `consul_connect::identity::publisher`).
    pub(crate) target: String,
    /// The formatted message, at most [`MAX_MESSAGE`] bytes.
    pub(crate) message: String,
}

impl Line {
    /// The form Java reads: `<level digit>\t<target>\t<message>`, the digit being 1 (error)
    /// to 5 (trace); the message may itself contain tabs, the target never does.
    pub(crate) fn encode(&self) -> String {
        format!("{}\t{}\t{}", self.level as usize, self.target, self.message)
    }
}

#[derive(Default)]
struct Waiting {
    lines: VecDeque<Line>,
    dropped: u64,
}

/// The bounded queue with its level filter.
pub(crate) struct LogQueue {
    capacity: usize,
    /// A [`log::LevelFilter`] as `usize` (0 off … 5 trace).
    max: AtomicUsize,
    waiting: Mutex<Waiting>,
    arrived: Condvar,
}

/// A [`std::fmt::Write`] that keeps at most `cap` bytes and fails past them (which ends
/// the formatting: nothing beyond the cap is ever produced).
struct Capped {
    text: String,
    cap: usize,
    cut: bool,
}

impl std::fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.cap - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.cut = true;
        Err(std::fmt::Error)
    }
}

/// `args` formatted into at most `cap` bytes (plus `…` when cut).
fn capped(args: std::fmt::Arguments<'_>, cap: usize) -> String {
    let mut out = Capped {
        text: String::new(),
        cap,
        cut: false,
    };
    // An error only means the cap was reached (or a Display impl failed): keep what came.
    let _ = out.write_fmt(args);
    if out.cut {
        out.text.push('…');
    }
    out.text
}

fn level_filter(value: usize) -> log::LevelFilter {
    match value {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

impl LogQueue {
    /// An empty queue keeping at most `capacity` records, at level INFO.
    pub(crate) const fn new(capacity: usize) -> Self {
        LogQueue {
            capacity,
            max: AtomicUsize::new(log::LevelFilter::Info as usize),
            waiting: Mutex::new(Waiting {
                lines: VecDeque::new(),
                dropped: 0,
            }),
            arrived: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The most verbose level kept.
    pub(crate) fn level(&self) -> log::LevelFilter {
        level_filter(self.max.load(Ordering::Relaxed))
    }

    /// Sets the most verbose level kept.
    pub(crate) fn set_level(&self, level: log::LevelFilter) {
        self.max.store(level as usize, Ordering::Relaxed);
    }

    /// Whether a record of this level and target would be kept (see the module comment).
    pub(crate) fn enabled(&self, level: log::Level, target: &str) -> bool {
        let own = target == OWN_CRATE
            || target
                .strip_prefix(OWN_CRATE)
                .is_some_and(|rest| rest.starts_with("::"));
        level <= self.level() && (own || level <= log::Level::Warn)
    }

    /// Queues a record (formatted here, once), or counts it as dropped when the queue is
    /// full. Never waits for room.
    pub(crate) fn push(&self, level: log::Level, target: &str, args: std::fmt::Arguments<'_>) {
        if !self.enabled(level, target) {
            return;
        }
        let line = Line {
            level,
            target: target
                .chars()
                .map(|c| if c.is_control() { '_' } else { c })
                .take(MAX_TARGET)
                .collect(),
            message: capped(args, MAX_MESSAGE),
        };
        let mut waiting = self.lock();
        if waiting.lines.len() >= self.capacity {
            waiting.dropped = waiting.dropped.saturating_add(1);
        } else {
            waiting.lines.push_back(line);
        }
        drop(waiting);
        self.arrived.notify_all();
    }

    /// Waits up to `wait` for a record, then takes what is queued: at most `batch` records,
    /// followed by one WARN line with the number of records dropped since the last report,
    /// if any were. Empty when nothing came in time.
    pub(crate) fn drain(&self, wait: Duration, batch: usize) -> Vec<Line> {
        let deadline = Instant::now().checked_add(wait);
        let mut waiting = self.lock();
        while waiting.lines.is_empty() && waiting.dropped == 0 {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => wait,
            };
            if left.is_zero() {
                break;
            }
            waiting = self
                .arrived
                .wait_timeout(waiting, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let n = waiting.lines.len().min(batch);
        let mut lines: Vec<Line> = waiting.lines.drain(..n).collect();
        let dropped = std::mem::take(&mut waiting.dropped);
        drop(waiting);
        if dropped > 0 {
            lines.push(Line {
                level: log::Level::Warn,
                target: BRIDGE_TARGET.to_string(),
                message: format!("consul-connect: {dropped} native log lines dropped (queue full)"),
            });
        }
        lines
    }
}

/// The queue Java drains.
static QUEUE: LogQueue = LogQueue::new(CAPACITY);

/// The installed logger: everything goes to [`QUEUE`].
struct Bridge;

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        QUEUE.enabled(metadata.level(), metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        QUEUE.push(record.level(), record.target(), *record.args());
    }

    fn flush(&self) {}
}

static BRIDGE: Bridge = Bridge;

/// Whether the bridge is this library's logger (false when another was set first).
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// What `NativeBridge.drainLog` does: installs the bridge as the logger on the first call
/// (keeping any logger already set), sets the level to `level`, then drains [`QUEUE`]
/// (see [`LogQueue::drain`], at most [`BATCH`] records).
pub(crate) fn drain_for_java(level: log::LevelFilter, wait: Duration) -> Vec<Line> {
    QUEUE.set_level(level);
    if *INSTALLED.get_or_init(|| log::set_logger(&BRIDGE).is_ok()) {
        log::set_max_level(level);
    }
    QUEUE.drain(wait, BATCH)
}

/// The level Java passes (0 off, 1 error … 5 trace), or `None` out of range.
pub(crate) fn level_from_java(value: i32) -> Option<log::LevelFilter> {
    usize::try_from(value)
        .ok()
        .filter(|v| *v <= log::LevelFilter::Trace as usize)
        .map(level_filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const OWN: &str = "consul_connect::identity::publisher";

    fn push(queue: &LogQueue, level: log::Level, target: &str, text: &str) {
        queue.push(level, target, format_args!("{text}"));
    }

    #[test]
    fn keeps_at_most_capacity_and_reports_drops_once() {
        let queue = LogQueue::new(1024);
        for i in 0..1100 {
            push(&queue, log::Level::Info, OWN, &format!("line {i}"));
        }
        let mut all = Vec::new();
        loop {
            let batch = queue.drain(Duration::ZERO, BATCH);
            if batch.is_empty() {
                break;
            }
            assert!(batch.len() <= BATCH + 1);
            all.extend(batch);
        }
        let reports: Vec<&Line> = all.iter().filter(|l| l.target == BRIDGE_TARGET).collect();
        assert_eq!(reports.len(), 1, "one drop report");
        assert_eq!(reports[0].level, log::Level::Warn);
        assert_eq!(
            reports[0].message,
            "consul-connect: 76 native log lines dropped (queue full)"
        );
        let kept: Vec<&Line> = all.iter().filter(|l| l.target == OWN).collect();
        assert_eq!(kept.len(), 1024);
        // The oldest are kept, in order; the newest were dropped.
        assert_eq!(kept[0].message, "line 0");
        assert_eq!(kept[1023].message, "line 1023");
        // The report came with the first batch.
        assert_eq!(all[BATCH].target, BRIDGE_TARGET);
        // Drained: nothing more, no second report.
        assert!(queue.drain(Duration::ZERO, BATCH).is_empty());
        push(&queue, log::Level::Info, OWN, "after");
        assert_eq!(queue.drain(Duration::ZERO, BATCH).len(), 1);
    }

    #[test]
    fn filters_by_level_and_crate() {
        let queue = LogQueue::new(16);
        assert_eq!(queue.level(), log::LevelFilter::Info, "default");
        push(&queue, log::Level::Debug, OWN, "debug");
        push(&queue, log::Level::Info, OWN, "info");
        queue.set_level(log::LevelFilter::Warn);
        push(&queue, log::Level::Info, OWN, "info at warn");
        push(&queue, log::Level::Error, OWN, "error");
        queue.set_level(log::LevelFilter::Trace);
        push(&queue, log::Level::Trace, "consul_connect", "trace");
        // Other crates: WARN and above only, whatever the level.
        push(&queue, log::Level::Debug, "rustls::conn", "foreign debug");
        push(&queue, log::Level::Warn, "rustls::conn", "foreign warn");
        push(&queue, log::Level::Debug, "consul_connectx::a", "lookalike");
        queue.set_level(log::LevelFilter::Off);
        push(&queue, log::Level::Error, OWN, "off");
        let messages: Vec<String> = queue
            .drain(Duration::ZERO, BATCH)
            .into_iter()
            .map(|l| l.message)
            .collect();
        assert_eq!(messages, ["info", "error", "trace", "foreign warn"]);
    }

    #[test]
    fn drain_waits_for_the_timeout_when_nothing_comes() {
        let queue = LogQueue::new(16);
        let start = Instant::now();
        assert!(queue.drain(Duration::from_millis(300), BATCH).is_empty());
        assert!(start.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn drain_returns_early_when_a_record_arrives() {
        let queue = Arc::new(LogQueue::new(16));
        let writer = Arc::clone(&queue);
        let pusher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            push(&writer, log::Level::Warn, OWN, "arrived");
        });
        let start = Instant::now();
        let lines = queue.drain(Duration::from_secs(20), BATCH);
        let waited = start.elapsed();
        pusher.join().expect("pusher");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].message, "arrived");
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");
    }

    #[test]
    fn long_messages_are_cut_and_lines_encode() {
        let queue = LogQueue::new(4);
        let long = "é".repeat(MAX_MESSAGE);
        push(&queue, log::Level::Error, OWN, &long);
        let line = &queue.drain(Duration::ZERO, BATCH)[0];
        assert!(line.message.len() <= MAX_MESSAGE + '…'.len_utf8());
        assert!(line.message.ends_with('…'));
        let line = Line {
            level: log::Level::Warn,
            target: OWN.into(),
            message: "a\tb".into(),
        };
        assert_eq!(line.encode(), format!("2\t{OWN}\ta\tb"));
    }

    #[test]
    fn java_levels() {
        assert_eq!(level_from_java(0), Some(log::LevelFilter::Off));
        assert_eq!(level_from_java(3), Some(log::LevelFilter::Info));
        assert_eq!(level_from_java(5), Some(log::LevelFilter::Trace));
        assert_eq!(level_from_java(6), None);
        assert_eq!(level_from_java(-1), None);
    }
}
