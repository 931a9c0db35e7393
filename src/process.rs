//! What a command needs from its process: the log on stderr and the signal that asks a
//! long-running command (`motcua serve`, `motcua worker`) to stop, and standard output that a
//! closed pipe ends quietly instead of with a panic (`outln!`, `out!`).

/// Logs to stderr with `tracing` (the server's requests, the worker's failures).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Writes to standard output. A reader that went away (`motcua catalog --json | head`) ends the
/// command quietly with status 0, as a closed pipe ends a filter; any other write error is said
/// on standard error and ends the command with status 2.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

/// An error and its causes on one line, `: ` between them, each said once: a cause whose text
/// the line already holds (the store's errors quote their source) is left out.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    let unavailable =
        e.chain().any(|c| c.downcast_ref::<motcua_store::StoreError>().is_some_and(motcua_store::is_unavailable));
    if unavailable {
        line.push_str(" — the database cannot be reached or written (a full or read-only disk, a server away): this command wrote nothing; run it again once that is fixed");
    }
    line
}

/// Flags whose value is a file or folder path, which may be any bytes.
const PATH_FLAGS: [&str; 4] = ["--config", "--output", "--mail-dir", "--print-dir"];

/// Environment variables whose value is a path.
const PATH_VARS: [&str; 3] = ["MOTCUA_CONFIG", "MOTCUA_MAIL_DIR", "MOTCUA_PRINT_DIR"];

/// `s` with the bytes that are not UTF-8 written `\xNN` and control characters escaped.
fn escaped(s: &std::ffi::OsStr) -> String {
    let mut out = String::new();
    for chunk in s.as_encoded_bytes().utf8_chunks() {
        out.extend(chunk.valid().escape_debug());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

/// What to say when an argument (or a `MOTCUA_…` variable) that must be text is not UTF-8:
/// which one, its bytes escaped. Codes, names, instants and URLs are text; only file paths may
/// be other bytes, so a value after a path flag is named only if nothing else is at fault.
pub fn not_utf8_input() -> String {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let bad: Vec<usize> = (1..args.len()).filter(|&i| args[i].to_str().is_none()).collect();
    let after_path = |i: usize| args.get(i - 1).and_then(|a| a.to_str()).is_some_and(|a| PATH_FLAGS.contains(&a));
    let named = |i: usize| match args.get(i - 1).and_then(|a| a.to_str()).filter(|a| a.starts_with("--")) {
        Some(flag) => format!("the value of {flag} \"{}\"", escaped(&args[i])),
        None => format!("the argument \"{}\"", escaped(&args[i])),
    };
    if let Some(&i) = bad.iter().find(|&&i| !after_path(i)).or(bad.first()) {
        return format!("{} is not valid UTF-8 (only file paths may be other bytes)", named(i));
    }
    let var = std::env::vars_os().find(|(k, v)| {
        k.to_str().is_some_and(|k| k.starts_with("MOTCUA_") && !PATH_VARS.contains(&k)) && v.to_str().is_none()
    });
    match var {
        Some((k, v)) => format!("the environment variable {} (\"{}\") is not valid UTF-8", escaped(&k), escaped(&v)),
        None => "an argument is not valid UTF-8".to_string(),
    }
}

/// True if `e` is standard output closed under a writer (a pipe whose reader exited).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}

/// `println!` through [`write_stdout`].
#[macro_export]
macro_rules! outln {
    () => { $crate::process::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::process::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` through [`write_stdout`].
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::process::write_stdout(format_args!($($arg)*)) };
}
