//! Token-endpoint throughput of the authorization server, over real HTTP on loopback.
//!
//! ```text
//! cargo run --release -p switchyard-auth --example token_bench -- [--database URL] [--secs N] [--workers N]
//! ```
//!
//! Runs three grants back to back, each for `--secs` seconds with `--workers` concurrent
//! clients (keep-alive connections), and prints one Markdown table row per grant:
//! `client_credentials` (sign one ES256 JWT, record its `jti`), `authorization_code` (spend a
//! code, check PKCE, sign, record, mint a refresh token) and `refresh_token` (check, spend,
//! rotate within the family, sign, record). The load generator shares the machine.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchyard_auth::client::pkce::Pkce;
use switchyard_auth::server::{
    register_static_client, AsConfig, AuthorizationServer, StaticClient,
};
use switchyard_store::{AuthStore, CodeRecord, SecretHash, SqlStore};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const REDIRECT: &str = "https://app.example.com/cb";
const SECRET: &str = "bench-secret-0123456789abcdef";

struct Args {
    database: String,
    secs: u64,
    workers: usize,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        database: String::new(),
        secs: 10,
        workers: 16,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--database" => a.database = val()?,
            "--secs" => a.secs = val()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--workers" => a.workers = val()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--bench" => {}
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.database.is_empty() {
        let dir =
            std::env::temp_dir().join(format!("switchyard-token-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        a.database = format!("sqlite://{}?mode=rwc", dir.join("auth.db").display());
    }
    Ok(a)
}

struct Stats {
    ok: u64,
    failed: u64,
    latencies: Vec<Duration>,
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs `workers` loops of `one` for `secs` seconds; each worker keeps its own state `S`.
async fn run<S, F, Fut>(workers: usize, secs: u64, init: impl Fn(usize) -> S, one: F) -> Stats
where
    S: Send + 'static,
    F: Fn(S) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (bool, S)> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let one = one.clone();
        let mut state = init(w);
        tasks.push(tokio::spawn(async move {
            let mut st = Stats {
                ok: 0,
                failed: 0,
                latencies: Vec::new(),
            };
            while Instant::now() < deadline {
                let t = Instant::now();
                let (ok, next) = one(state).await;
                state = next;
                st.latencies.push(t.elapsed());
                if ok {
                    st.ok += 1;
                } else {
                    st.failed += 1;
                }
            }
            st
        }));
    }
    let mut all = Stats {
        ok: 0,
        failed: 0,
        latencies: Vec::new(),
    };
    for t in tasks {
        if let Ok(s) = t.await {
            all.ok += s.ok;
            all.failed += s.failed;
            all.latencies.extend(s.latencies);
        }
    }
    all.latencies.sort();
    all
}

fn row(grant: &str, backend: &str, secs: u64, workers: usize, s: &Stats) {
    println!(
        "| {grant} | {backend} | {workers} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
        s.ok as f64 / secs as f64,
        pct(&s.latencies, 0.5),
        pct(&s.latencies, 0.99),
        s.latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        s.failed
    );
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> Option<serde_json::Value> {
    let r = http.post(url).form(form).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    let bytes = r.bytes().await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let backend = if args.database.starts_with("postgres") {
        "PostgreSQL"
    } else if args.database.contains(":memory:") {
        "SQLite (memory)"
    } else {
        "SQLite (file, WAL)"
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let issuer = format!("http://{addr}");
    let store: Arc<dyn AuthStore> = Arc::new(SqlStore::open(&args.database).await?);
    register_static_client(
        store.as_ref(),
        StaticClient {
            client_id: "bench".into(),
            client_secret: Some(SECRET.into()),
            client_name: "bench".into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ],
            scope: None,
        },
    )
    .await?;
    let cfg = AsConfig::new(&issuer)
        .with_resources(vec![RESOURCE.into()])
        .with_scopes(vec!["mcp:read".into()]);
    let server = AuthorizationServer::new(cfg, store.clone()).await?;
    let app = server.router();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    let token_url = Arc::new(format!("{issuer}/token"));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.workers)
        .build()?;
    let (secs, workers) = (args.secs, args.workers);

    println!("| grant | store | workers | tokens/s | p50 ms | p99 ms | max ms | failed |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");

    // client_credentials
    let (h, u) = (http.clone(), token_url.clone());
    let s = run(
        workers,
        secs,
        |_| (),
        move |()| {
            let (h, u) = (h.clone(), u.clone());
            async move {
                let ok = post(
                    &h,
                    &u,
                    &[
                        ("grant_type", "client_credentials"),
                        ("client_id", "bench"),
                        ("client_secret", SECRET),
                    ],
                )
                .await
                .is_some();
                (ok, ())
            }
        },
    )
    .await;
    row("client_credentials", backend, secs, workers, &s);

    // authorization_code: codes are minted straight into the store (the browser steps are not
    // what is measured), each with its own PKCE pair.
    let pkce = Arc::new(Pkce::generate());
    let (h, u, st, pk) = (http.clone(), token_url.clone(), store.clone(), pkce.clone());
    let s = run(
        workers,
        secs,
        |_| (),
        move |()| {
            let (h, u, st, pk) = (h.clone(), u.clone(), st.clone(), pk.clone());
            async move {
                let code = format!("code-{}", rand_suffix());
                let rec = CodeRecord {
                    code_hash: SecretHash::of(&code),
                    client_id: "bench".into(),
                    user_id: "alice".into(),
                    redirect_uri: REDIRECT.into(),
                    code_challenge: pk.challenge().into(),
                    scope: "mcp:read".into(),
                    resource: RESOURCE.into(),
                    expires_at: i64::MAX / 2,
                    issued_family: None,
                };
                if st.put_code(&rec).await.is_err() {
                    return (false, ());
                }
                let ok = post(
                    &h,
                    &u,
                    &[
                        ("grant_type", "authorization_code"),
                        ("client_id", "bench"),
                        ("client_secret", SECRET),
                        ("code", &code),
                        ("redirect_uri", REDIRECT),
                        ("code_verifier", pk.verifier()),
                    ],
                )
                .await
                .is_some();
                (ok, ())
            }
        },
    )
    .await;
    row(
        "authorization_code (+ code insert)",
        backend,
        secs,
        workers,
        &s,
    );

    // refresh_token: each worker rotates its own family.
    let mut seeds = Vec::new();
    for _ in 0..workers {
        let code = format!("seed-{}", rand_suffix());
        store
            .put_code(&CodeRecord {
                code_hash: SecretHash::of(&code),
                client_id: "bench".into(),
                user_id: "alice".into(),
                redirect_uri: REDIRECT.into(),
                code_challenge: pkce.challenge().into(),
                scope: "mcp:read".into(),
                resource: RESOURCE.into(),
                expires_at: i64::MAX / 2,
                issued_family: None,
            })
            .await?;
        let t = post(
            &http,
            &token_url,
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "bench"),
                ("client_secret", SECRET),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", pkce.verifier()),
            ],
        )
        .await
        .ok_or("seeding a refresh token failed")?;
        seeds.push(t["refresh_token"].as_str().unwrap_or_default().to_owned());
    }
    let (h, u) = (http.clone(), token_url.clone());
    let s = run(
        workers,
        secs,
        |w| seeds[w].clone(),
        move |rt: String| {
            let (h, u) = (h.clone(), u.clone());
            async move {
                match post(
                    &h,
                    &u,
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", "bench"),
                        ("client_secret", SECRET),
                        ("refresh_token", &rt),
                    ],
                )
                .await
                {
                    Some(t) => (
                        true,
                        t["refresh_token"].as_str().unwrap_or_default().to_owned(),
                    ),
                    None => (false, rt),
                }
            }
        },
    )
    .await;
    row("refresh_token (rotation)", backend, secs, workers, &s);
    Ok(())
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
