//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::conn::Conn;
use crate::{ServeError, Server};

/// Longest line accepted on stdin; a longer one is answered with an error and skipped, so one
/// oversized message cannot make the server buffer without bound.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Serves `server` on this process's stdin and stdout until stdin closes.
pub async fn serve_stdio(server: Server) -> Result<(), ServeError> {
    serve_io(server, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves `server` on any reader/writer pair (newline-delimited JSON-RPC).
pub async fn serve_io<R, W>(server: Server, reader: R, mut writer: W) -> Result<(), ServeError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<bytes::Bytes>();
    let writer_task = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if b.is_empty() {
                continue;
            }
            if writer.write_all(&b).await.is_err() || writer.write_all(b"\n").await.is_err() {
                break;
            }
            let _ = writer.flush().await;
        }
    });
    let conn = Conn::new(
        server.clone(),
        tx.clone(),
        switchyard_protocol::limits::DEFAULT_MAX_DEPTH,
    );
    let mut events = server.subscribe();
    let ev_conn = conn.clone();
    let events_task = tokio::spawn(async move {
        while let Ok(e) = events.recv().await {
            ev_conn.on_event(&e);
        }
    });
    let mut reader = BufReader::new(reader);
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE_BYTES && line.last() != Some(&b'\n') {
            let mut b = Vec::new();
            switchyard_protocol::jsonrpc::write_error(
                &mut b,
                None,
                &switchyard_protocol::jsonrpc::ErrorObject::new(
                    switchyard_protocol::ErrorCode::INVALID_REQUEST,
                    format!("message longer than {MAX_LINE_BYTES} bytes"),
                ),
            );
            let _ = tx.send(b.into());
            // Skip the rest of the oversized line.
            let mut sink = Vec::new();
            loop {
                sink.clear();
                let n = (&mut reader)
                    .take(64 * 1024)
                    .read_until(b'\n', &mut sink)
                    .await?;
                if n == 0 || sink.last() == Some(&b'\n') {
                    break;
                }
            }
            continue;
        }
        let msg = line.trim_ascii();
        if !msg.is_empty() {
            conn.on_message(msg);
        }
    }
    events_task.abort();
    drop(conn);
    drop(tx);
    // Let queued responses reach the writer, but do not wait forever for in-flight handlers.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer_task).await;
    Ok(())
}
