//! Accepting connections with bounded resources: a cap on open connections,
//! a deadline for each request head, an inactivity timeout, and backoff
//! when `accept` itself fails (out of file descriptors).
//!
//! `axum::serve` exposes none of these, so the accept loop is ours and each
//! connection is served by hyper-util's HTTP/1 + HTTP/2 builder.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

/// Largest buffer hyper keeps per HTTP/1 connection, for reading a request
/// head and for response bytes the client has not taken yet (hyper's own
/// default is ~400 KiB; a reader that stops must not pin that much each).
pub const CONNECTION_BUFFER: usize = 64 << 10;

/// Longest pause between accept retries while accepting fails.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// How long connections may finish their responses once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Limits on connections and on heavy requests; see the `serve` flags.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// A connection must deliver a complete request head this soon after it
    /// opens, and after each response on a kept-alive HTTP/1 connection
    /// (which makes it the HTTP/1 keep-alive idle timeout too).
    pub header_timeout: Duration,
    /// A connection on which no byte moves either way for this long is
    /// closed (HTTP/2 idle connections, readers that stopped reading).
    pub idle_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Heavy requests (querybatch, change scans, watch registration) run at once.
    pub heavy_workers: usize,
    /// Heavy requests that may wait for a worker; beyond, 503 + Retry-After.
    pub heavy_queue: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            heavy_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            heavy_queue: 128,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then gives open
/// connections [`SHUTDOWN_GRACE`] to finish.
pub(super) async fn run(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut backoff = Duration::ZERO;
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => {
                backoff = Duration::ZERO;
                tcp
            }
            // The peer gave up before we took it: nothing wrong with us.
            Err(e) if is_peer_error(&e) => continue,
            // Out of descriptors or memory: retrying at once would spin;
            // wait (longer each time) for connections to close.
            Err(e) => {
                backoff = (backoff * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_BACKOFF);
                tracing::warn!(error = %e, ?backoff, "accept failed; backing off");
                drop(slot);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        // Small JSON answers must not wait for Nagle's algorithm (40 ms
        // stalls per request with delayed ACKs on keep-alive connections).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let limits = limits.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            connection(tcp, app, &limits, stopping).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every slot back means every connection has ended.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(all)).await;
    Ok(())
}

/// Accept errors that concern one connection, not the listener.
fn is_peer_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// Serves one connection within `limits`, until it closes, times out, or
/// `stopping` turns true (then it is shut down gracefully).
async fn connection(
    tcp: TcpStream,
    app: Router,
    limits: &ServerLimits,
    mut stopping: watch::Receiver<bool>,
) {
    // Telling HTTP/1 from HTTP/2 reads the first bytes with no deadline of
    // its own: a client that connects and sends nothing is closed here.
    let mut first = [0u8; 1];
    match tokio::time::timeout(limits.header_timeout, tcp.peek(&mut first)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => return,
    }
    let activity = Activity::new();
    let io = TokioIo::new(Tracked {
        inner: tcp,
        activity: activity.clone(),
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(CONNECTION_BUFFER);
    builder.http2().timer(TokioTimer::new());
    let conn = builder.serve_connection(io, TowerToHyperService::new(app));
    let mut conn = pin!(conn);
    let mut closing: Option<Instant> = None;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.idle_for(limits.idle_timeout), if closing.is_none() => {
                tracing::debug!("closing an inactive connection");
                conn.as_mut().graceful_shutdown();
                // A response nobody reads never finishes: cut it after a grace.
                closing = Some(Instant::now() + limits.header_timeout);
            }
            _ = stopping.wait_for(|stop| *stop), if closing.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing = Some(Instant::now() + SHUTDOWN_GRACE);
            }
            () = tokio::time::sleep_until(closing.unwrap_or_else(Instant::now)), if closing.is_some() => return,
        }
    }
}

/// When bytes last moved on a connection (milliseconds since it opened).
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            opened: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Resolves once no byte has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.opened + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A socket that records in [`Activity`] every read or write that moved bytes.
struct Tracked<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
