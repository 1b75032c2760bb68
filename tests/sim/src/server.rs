//! The hyper accept loop every simulator runs, and the fault behaviours that need the socket.
//!
//! Each accepted connection is served by `hyper::server::conn::http1` in its own task.
//! To drop a connection without an answer, the request handler signals the connection
//! task and never completes; the task then drops the hyper connection, which closes the
//! TCP socket with nothing written.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::fault::Fault;
use crate::record::RecordedRequest;
use crate::reply::Reply;

/// Request bodies above this size get the backend's "too large" answer.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// One simulated API: how it answers requests and how its faults look on the wire.
pub(crate) trait Backend: Send + Sync + 'static {
    /// The simulator's name in log lines, for example `"keycrm sim"`.
    const NAME: &'static str;

    /// Records an arriving request and takes the fault that applies to it, if any.
    fn arrive(&self, request: &RecordedRequest) -> Option<Fault>;

    /// Answers one request, without any injected fault.
    fn handle(&self, request: &RecordedRequest) -> Reply;

    /// The answer for a fault that only changes the response: `ServerError`,
    /// `RateLimited`, `MalformedJson` and `HugeBody`.
    fn fault_reply(&self, fault: &Fault) -> Reply;

    /// The answer for a body above [`MAX_BODY_BYTES`].
    fn too_large(&self) -> Reply;
}

/// A server task and the means to stop it; dropping it stops the server too.
#[derive(Debug)]
pub(crate) struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Binds `addr` and serves `backend`, which is built once the port is known.
    pub(crate) async fn start<B: Backend>(
        addr: SocketAddr,
        backend: impl FnOnce(SocketAddr) -> B,
    ) -> std::io::Result<(Self, Arc<B>)> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let backend = Arc::new(backend(addr));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&backend), stopped));
        let running = Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        };
        Ok((running, backend))
    }

    /// The address the server listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Aborting drops the accept loop's JoinSet, which aborts every connection task.
            task.abort();
        }
    }
}

/// Accepts connections until `stop` fires (or its sender is dropped), then aborts the
/// open connections.
async fn accept_loop<B: Backend>(
    listener: TcpListener,
    backend: Arc<B>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&backend)));
                }
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::debug!(%error, sim = B::NAME, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection<B: Backend>(stream: TcpStream, backend: Arc<B>) {
    let kill = Arc::new(Notify::new());
    let service_kill = Arc::clone(&kill);
    let service = service_fn(move |request| {
        let backend = Arc::clone(&backend);
        let kill = Arc::clone(&service_kill);
        async move { Ok::<_, Infallible>(respond(backend, kill, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, sim = B::NAME, "connection ended with an error");
            }
        }
        // Dropping the unfinished connection closes the socket without a response.
        () = kill.notified() => {}
    }
}

async fn respond<B: Backend>(
    backend: Arc<B>,
    kill: Arc<Notify>,
    request: hyper::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES).collect().await;
    let (body, too_large) = match body {
        Ok(collected) => (collected.to_bytes().to_vec(), false),
        Err(_) => (Vec::new(), true),
    };
    let recorded = RecordedRequest::from_parts(&parts, body);
    let fault = backend.arrive(&recorded);
    if too_large && fault.is_none() {
        return backend.too_large().into_response();
    }
    let reply = match fault {
        None => backend.handle(&recorded),
        Some(Fault::Slow(delay)) => {
            // A separate task finishes the work even if the client hangs up meanwhile.
            let worker = Arc::clone(&backend);
            let task = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                worker.handle(&recorded)
            });
            match task.await {
                Ok(reply) => reply,
                Err(_) => backend.fault_reply(&Fault::ServerError(500)),
            }
        }
        Some(Fault::DropConnection) => return hang_up(&kill).await,
        Some(Fault::ApplyThenDrop) => {
            let _applied = backend.handle(&recorded);
            return hang_up(&kill).await;
        }
        Some(other) => backend.fault_reply(&other),
    };
    reply.into_response()
}

/// Asks the connection task to drop the connection and never answers.
async fn hang_up(kill: &Notify) -> Response<Full<Bytes>> {
    kill.notify_one();
    std::future::pending().await
}
