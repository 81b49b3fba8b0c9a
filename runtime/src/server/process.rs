//! The process's own gauges under Prometheus' standard names (`process_*`,
//! what every exporter's client library reports, so dashboards and alerts
//! written for them work unchanged), read from `/proc` on Linux; elsewhere
//! there are none.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

/// The `process_*` series, read at each scrape (none where `/proc` is absent).
#[derive(Debug)]
pub(super) struct Process;

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let Some(stat) = std::fs::read_to_string("/proc/self/stat").ok() else { return Ok(()) };
        // The command name may hold spaces and parentheses: fields start after the last `)`.
        let Some((_, fields)) = stat.rsplit_once(')') else { return Ok(()) };
        let fields: Vec<&str> = fields.split_whitespace().collect();
        // `stat` field n (1-based, proc(5)) is fields[n - 3].
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok());
        let ticks = clock_ticks_per_second();
        if let (Some(user), Some(system)) = (field(14), field(15)) {
            encoder
                .encode_descriptor(
                    "process_cpu_seconds",
                    "User and system CPU time spent, in seconds.",
                    None,
                    MetricType::Counter,
                )?
                .encode_counter::<NoLabelSet, _, f64>(&((user + system) / ticks), None)?;
        }
        let mut gauge = |name: &str, help: &str, value: f64| {
            encoder.encode_descriptor(name, help, None, MetricType::Gauge)?.encode_gauge(&value)
        };
        if let Some(virtual_bytes) = field(23) {
            gauge("process_virtual_memory_bytes", "Virtual memory size, in bytes.", virtual_bytes)?;
        }
        if let Some(pages) = field(24) {
            gauge("process_resident_memory_bytes", "Resident memory size, in bytes.", pages * page_size())?;
        }
        if let (Some(started), Some(boot)) = (field(22), boot_time()) {
            let help = "Start time of the process since the Unix epoch, in seconds.";
            gauge("process_start_time_seconds", help, boot + started / ticks)?;
        }
        if let Ok(open) = std::fs::read_dir("/proc/self/fd") {
            gauge("process_open_fds", "Open file descriptors.", open.count() as f64)?;
        }
        if let Some(max) = max_open_files() {
            gauge("process_max_fds", "Most file descriptors the process may open.", max)?;
        }
        Ok(())
    }
}

/// The kernel's clock ticks per second, which `stat`'s times count.
fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the system; it has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

fn page_size() -> f64 {
    // SAFETY: as above.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as f64 } else { 4096.0 }
}

/// When the machine booted, in seconds since the Unix epoch (`btime` of /proc/stat).
fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|line| line.strip_prefix("btime ")).and_then(|b| b.trim().parse().ok())
}

/// The soft limit on open files (`Max open files` of /proc/self/limits).
fn max_open_files() -> Option<f64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn the_process_reports_its_cpu_memory_and_files() {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(super::Process));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("encodes");
        let value = |name: &str| {
            out.lines()
                .find_map(|line| line.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{name} missing from:\n{out}"))
        };
        assert!(value("process_resident_memory_bytes") > 1_000_000.0, "a running test binary holds a megabyte");
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        assert!(value("process_open_fds") >= 3.0, "stdin, stdout, stderr at least");
        assert!(value("process_max_fds") >= value("process_open_fds"));
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let started = value("process_start_time_seconds");
        assert!(started <= now && started > now - 86_400.0, "{started} vs {now}");
        assert!(value("process_cpu_seconds_total") >= 0.0);
    }
}
