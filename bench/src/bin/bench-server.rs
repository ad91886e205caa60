//! The servers under test, each serving an equivalent `echo` tool (and `echo_progress`, which
//! sends one progress notification first) on `http://127.0.0.1:PORT/mcp`.
//!
//! | `--kind` | what |
//! |---|---|
//! | `switchyard`, `switchyard-session` | `switchyard_server::McpService` (one service serves both eras) |
//! | `hyper`, `hyper-session` | bare hyper returning the bytes Switchyard returns for the same requests |
//! | `rmcp` | rmcp `StreamableHttpService`, stateless, JSON responses |
//! | `rmcp-session` | rmcp `StreamableHttpService`, legacy sessions, SSE responses |
//!
//! Every kind runs on the same accept loop (`switchyard_server::serve`: hyper http1, keep-alive,
//! `TCP_NODELAY`) and the same runtime (tokio multi-thread, `--threads` workers, default 1), so
//! the comparison is between the MCP layers only.

use std::convert::Infallible;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::Parser;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use switchyard_bench::{contains, Conn, Mode, Target, ECHO_TEXT};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    Switchyard,
    SwitchyardSession,
    Hyper,
    HyperSession,
    Rmcp,
    RmcpSession,
}

/// Serve one of the benchmarked MCP servers on 127.0.0.1.
#[derive(Parser)]
struct Args {
    /// Which server to run.
    #[arg(long, value_enum)]
    kind: Kind,
    /// Port on 127.0.0.1 (0 picks one).
    #[arg(long, default_value_t = 8800)]
    port: u16,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let addr = listener.local_addr()?;
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    // Printed once the server is ready; run.sh waits for this line.
    let ready = || eprintln!("bench-server {:?} listening on http://{addr}/mcp", args.kind);
    match args.kind {
        Kind::Switchyard | Kind::SwitchyardSession => {
            let svc = switchyard::service();
            ready();
            switchyard_server::serve(listener, svc, shutdown).await?;
        }
        Kind::Hyper | Kind::HyperSession => {
            let canned = Arc::new(bare::capture(args.kind == Kind::HyperSession).await?);
            let svc = tower::service_fn(move |req: http::Request<Incoming>| {
                let canned = canned.clone();
                async move { Ok::<_, Infallible>(canned.answer(req).await) }
            });
            ready();
            switchyard_server::serve(listener, svc, shutdown).await?;
        }
        Kind::Rmcp | Kind::RmcpSession => {
            let svc = rmcp_server::service(args.kind == Kind::RmcpSession);
            ready();
            switchyard_server::serve(listener, svc, shutdown).await?;
        }
    }
    Ok(())
}

mod switchyard {
    use schemars::JsonSchema;
    use serde::Deserialize;
    use switchyard_server::{HttpConfig, McpService, RequestContext, Server, ToolDef};

    #[derive(Deserialize, JsonSchema)]
    struct EchoArgs {
        /// Text to echo.
        text: String,
    }

    /// Switchyard with its default HTTP settings.
    pub(crate) fn service() -> McpService {
        let server = Server::builder("bench", "1.0.0")
            .tool(ToolDef::new(
                "echo",
                "Echoes its input",
                |a: EchoArgs, _ctx| async move { a.text },
            ))
            .tool(ToolDef::new(
                "echo_progress",
                "Echoes its input after one progress notification",
                |a: EchoArgs, ctx: RequestContext| async move {
                    ctx.progress(1.0, Some(1.0), None);
                    a.text
                },
            ))
            .tool(ToolDef::new(
                "echo_progress_yield",
                "Echoes its input after one progress notification and a yield",
                |a: EchoArgs, ctx: RequestContext| async move {
                    ctx.progress(1.0, Some(1.0), None);
                    tokio::task::yield_now().await;
                    a.text
                },
            ))
            .build();
        McpService::new(server, HttpConfig::default())
    }
}

mod rmcp_server {
    use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
    use rmcp::model::{
        ProgressNotificationParam, RequestMetaObject, ServerCapabilities, ServerConfig,
    };
    use rmcp::transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    };
    use rmcp::{schemars, tool, tool_handler, tool_router, Peer, RoleServer, ServerHandler};

    #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    struct EchoArgs {
        /// Text to echo.
        text: String,
    }

    #[derive(Clone)]
    pub(crate) struct Echo {
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl Echo {
        #[tool(description = "Echoes its input")]
        fn echo(&self, Parameters(a): Parameters<EchoArgs>) -> String {
            a.text
        }

        #[tool(description = "Echoes its input after one progress notification")]
        async fn echo_progress(
            &self,
            Parameters(a): Parameters<EchoArgs>,
            meta: RequestMetaObject,
            peer: Peer<RoleServer>,
        ) -> String {
            if let Some(token) = meta.get_progress_token() {
                let _ = peer
                    .notify_progress(ProgressNotificationParam::new(token, 1.0).with_total(1.0))
                    .await;
            }
            a.text
        }

        #[tool(description = "Echoes its input after one progress notification and a yield")]
        async fn echo_progress_yield(
            &self,
            Parameters(a): Parameters<EchoArgs>,
            meta: RequestMetaObject,
            peer: Peer<RoleServer>,
        ) -> String {
            if let Some(token) = meta.get_progress_token() {
                let _ = peer
                    .notify_progress(ProgressNotificationParam::new(token, 1.0).with_total(1.0))
                    .await;
            }
            tokio::task::yield_now().await;
            a.text
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for Echo {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }

    /// rmcp's Streamable HTTP service: stateless JSON, or legacy sessions with SSE answers.
    pub(crate) fn service(session: bool) -> StreamableHttpService<Echo, LocalSessionManager> {
        let cfg = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(session)
            .with_json_response(!session)
            .with_sse_keep_alive(None);
        StreamableHttpService::new(
            || {
                Ok(Echo {
                    tool_router: Echo::tool_router(),
                })
            },
            Default::default(),
            cfg,
        )
    }
}

/// The bare-hyper ceiling: answers with bytes captured once from Switchyard.
mod bare {
    use super::*;

    /// One captured answer: status, the headers that describe the body, the body.
    struct Canned {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    }

    impl Canned {
        fn response(&self) -> Response<Full<Bytes>> {
            let mut r = Response::new(Full::new(self.body.clone()));
            *r.status_mut() = self.status;
            *r.headers_mut() = self.headers.clone();
            r
        }
    }

    /// What the bare server answers: the `tools/call` answer to every request, except (in
    /// session mode) `initialize` and the `initialized` notification, needed for the handshake.
    pub(crate) struct Answers {
        call: Canned,
        init: Option<Canned>,
    }

    impl Answers {
        pub(crate) async fn answer(&self, req: http::Request<Incoming>) -> Response<Full<Bytes>> {
            // Read the whole request, as any server must.
            let body = match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => Bytes::new(),
            };
            if let Some(init) = &self.init {
                if contains(&body, b"\"initialize\"") {
                    return init.response();
                }
                if contains(&body, b"notifications/initialized") {
                    let mut r = Response::new(Full::new(Bytes::new()));
                    *r.status_mut() = StatusCode::ACCEPTED;
                    return r;
                }
            }
            self.call.response()
        }
    }

    fn keep(headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        for (k, v) in headers {
            // hyper writes its own framing and date headers.
            if !matches!(
                k.as_str(),
                "content-length" | "transfer-encoding" | "date" | "connection"
            ) {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }

    /// Runs Switchyard in-process on an ephemeral port and records its answers.
    pub(crate) async fn capture(session: bool) -> anyhow::Result<Answers> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(switchyard_server::serve(
            listener,
            switchyard::service(),
            async {
                let _ = stop_rx.await;
            },
        ));
        let target = Target::parse(&format!("http://{addr}/mcp"))?;
        let mode = if session { Mode::Session } else { Mode::Stateless };
        let mut c = Conn::open(&target).await?;
        let init = if session {
            let a = c
                .post(switchyard_bench::initialize(1), None)
                .await
                .context("capture initialize")?;
            let sid = a
                .headers
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            c.session = sid;
            c.post(
                Bytes::from_static(switchyard_bench::INITIALIZED.as_bytes()),
                None,
            )
            .await?;
            Some(Canned {
                status: a.status,
                headers: keep(&a.headers),
                body: a.body,
            })
        } else {
            None
        };
        let a = match mode {
            Mode::Stateless => {
                c.post(switchyard_bench::stateless_call(2), Some("echo"))
                    .await?
            }
            _ => {
                c.post(
                    switchyard_bench::session_call(switchyard_bench::TOOL_ECHO_PROGRESS, 2),
                    None,
                )
                .await?
            }
        };
        switchyard_bench::validate(mode, &a).context("Switchyard's own answer is invalid")?;
        if !contains(&a.body, ECHO_TEXT.as_bytes()) {
            bail!("captured answer lacks the echo text");
        }
        eprintln!(
            "captured {} bytes from Switchyard: {}",
            a.body.len(),
            String::from_utf8_lossy(&a.body).replace('\n', "\\n")
        );
        drop(c);
        let _ = stop_tx.send(());
        let _ = server.await;
        Ok(Answers {
            call: Canned {
                status: a.status,
                headers: keep(&a.headers),
                body: a.body,
            },
            init,
        })
    }
}
