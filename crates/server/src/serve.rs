//! Serving a tower service over HTTP/1.1 with hyper: TCP_NODELAY, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::ServeError;

/// Serves `svc` on `listener` until `shutdown` completes, then lets open connections finish.
///
/// Every accepted socket gets `TCP_NODELAY`: SSE writes small frames, and Nagle plus delayed
/// ACKs would otherwise hold each one for ~40 ms.
pub async fn serve<S, B>(
    listener: TcpListener,
    svc: S,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError>
where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    // Out of file descriptors and similar: back off instead of spinning.
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let io = TokioIo::new(stream);
                // The peer address, for handlers that rate-limit by client (axum's ConnectInfo).
                let svc = tower::ServiceExt::map_request(svc.clone(), move |mut r: http::Request<Incoming>| {
                    r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                    r
                });
                let conn = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(io, TowerToHyperService::new(svc));
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
