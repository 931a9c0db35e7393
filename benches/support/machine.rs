//! The machine a benchmark ran on, printed beside its figures: CPU model, cores, memory and
//! the load average when it started (figures taken while other work runs are not comparable).

/// "CPU model, N cores, M GiB RAM, load L".
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()))
        .unwrap_or(0);
    format!(
        "{cpu}, {} cores, {} GiB RAM, load {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        mem_kib / 1024 / 1024,
        load()
    )
}

/// The 1-minute load average now.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}
