//! The `advisord` binary: parse the command line, set up logging, dispatch.

use tracing_subscriber::EnvFilter;

/// The heap is mimalloc, not glibc malloc. A sync parses and writes a
/// whole feed in bursts of short-lived buffers; glibc keeps much of what
/// they freed in its arenas, so in the soak bench (README, "Soak": feed
/// re-synced back to back under mixed load) the server held 2.1 GiB and
/// climbed +12.5% after warm-up (64 MiB page cache; +28..60% with the
/// then default 1 GiB, +38% with `MALLOC_ARENA_MAX=2`). mimalloc (v3) returns
/// pages that stay free for `MIMALLOC_PURGE_DELAY` ms (default 1,000) to
/// the OS (`MADV_DONTNEED`), and its defaults need no tuning here: the same
/// soak held 0.7-0.9 GiB, +5..13% after warm-up with no steady climb.
#[global_allocator]
static HEAP: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = advisord::cli::Cli::parse_checked();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match cli.log_format {
        advisord::cli::LogFormat::Text => logs.init(),
        // Event fields at the top level; the current span (a request's id
        // and route) under "span".
        advisord::cli::LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    match advisord::commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output went away (`advisord get ... | head`):
        // stop quietly with success, as ripgrep and coreutils-style tools do.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        // The answer was printed; it may be incomplete (`--fail-on-stale`).
        Err(e)
            if e.downcast_ref::<advisord::commands::StaleAnswer>()
                .is_some() =>
        {
            eprintln!("error: {e}");
            std::process::ExitCode::from(advisord::commands::EXIT_STALE)
        }
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            std::process::ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line; a cause whose text the message
/// already contains (library errors embed their source) is not repeated.
fn describe(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
    }
    message
}

/// Whether `error` comes from writing to a pipe whose reader has closed it
/// (EPIPE; Rust ignores SIGPIPE, so the write fails instead of killing us).
/// A socket the other side closed (an upload cut off by the server) also
/// reads EPIPE, but it is a failure: an error through the HTTP client
/// never counts.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let over_network = error.chain().any(|cause| cause.is::<reqwest::Error>());
    !over_network
        && error.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        })
}
