//! A stdio MCP server as a child process: newline-delimited JSON-RPC on its stdin/stdout.

use std::collections::HashMap;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::conn::MsgConn;
use crate::handler::ClientHandler;
use crate::ClientError;

/// Longest line read from the child; longer ones are skipped.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// How to start the server process.
#[derive(Debug, Clone, Default)]
pub struct StdioCommand {
    /// Program.
    pub program: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: HashMap<String, String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
}

/// A running stdio server. Dropping it kills the child's whole process group.
pub(crate) struct StdioProcess {
    pub(crate) conn: Arc<MsgConn>,
    child: Child,
    pgid: Option<u32>,
}

impl StdioProcess {
    pub(crate) fn spawn(
        cmd: &StdioCommand,
        handler: Arc<dyn ClientHandler>,
    ) -> Result<Self, ClientError> {
        let mut c = std::process::Command::new(&cmd.program);
        c.args(&cmd.args)
            .envs(&cmd.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own process group, so killing the group takes grandchildren (npx → node) too.
            .process_group(0);
        if let Some(d) = &cmd.cwd {
            c.current_dir(d);
        }
        let mut child = Command::from(c)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ClientError::Connect(format!("spawning {}: {e}", cmd.program)))?;
        let pgid = child.id();
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| ClientError::Connect("child has no stdin".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ClientError::Connect("child has no stdout".into()))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(mut b) = rx.recv().await {
                b.push(b'\n');
                if stdin.write_all(&b).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let conn = MsgConn::new(
            Box::new(move |b| {
                let tx = tx.clone();
                Box::pin(async move {
                    tx.send(b)
                        .map_err(|_| ClientError::Closed("the server's stdin is closed".into()))
                })
            }),
            handler,
        );
        let reader_conn = conn.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match (&mut r)
                    .take(MAX_LINE_BYTES as u64 + 1)
                    .read_until(b'\n', &mut line)
                    .await
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line.len() > MAX_LINE_BYTES => {
                        tracing::warn!("skipping an oversized line from the server");
                        let mut sink = Vec::new();
                        let _ = r.read_until(b'\n', &mut sink).await;
                    }
                    Ok(_) => {
                        let t = line.trim_ascii();
                        if !t.is_empty() {
                            reader_conn.on_incoming(t);
                        }
                    }
                }
            }
            reader_conn.close("the server process exited");
        });
        Ok(Self { conn, child, pgid })
    }

    pub(crate) async fn shutdown(&mut self) {
        self.conn.close("closed by the client");
        self.kill_group();
        let _ = self.child.wait().await;
    }

    fn kill_group(&mut self) {
        if let Some(pgid) = self.pgid.take() {
            // killpg, not the `kill` command: procps `kill -KILL -<pgid>` was seen to signal
            // pid -1 (every process the user owns) instead of the group.
            if let Ok(pgid) = i32::try_from(pgid) {
                if pgid > 1 {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pgid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        let _ = self.child.start_kill();
    }
}

impl Drop for StdioProcess {
    fn drop(&mut self) {
        self.kill_group();
    }
}
