//! `switchyard search`: rank the tools of a catalog file, or of live MCP servers, for a query,
//! by BM25F, by Python-syntax regex, or by BM25F fused with embeddings from an
//! OpenAI-compatible `/v1/embeddings` endpoint.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};
use switchyard_search::limits::MAX_RESULTS;
use switchyard_search::{
    Catalog, CatalogServer, DocVectors, EmbedError, Embedder, Hit, Index, MemoryVectorCache,
    SearchError, VectorCache, VectorKey,
};

/// Largest catalog file read, in bytes. 10,000 tools with rich schemas take about 20 MB;
/// 64 MiB leaves room and stops an accidental multi-gigabyte file before it is read.
const MAX_CATALOG_BYTES: u64 = 64 * 1024 * 1024;

/// Largest embeddings response read, in bytes: 64 inputs × 3,072 dimensions as JSON text is
/// about 4 MB; 32 MiB bounds a misbehaving endpoint.
const MAX_EMBEDDINGS_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Time allowed for one embeddings request.
const EMBEDDINGS_TIMEOUT: Duration = Duration::from_secs(60);

/// File name of the default embeddings cache, a SQLite database in the data directory.
const DEFAULT_CACHE_FILE: &str = "search.db";

/// Exit code for a query, pattern or catalog that cannot be searched.
const EXIT_BAD_INPUT: u8 = 2;

/// How results are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// BM25F over names, titles, descriptions, parameters, annotations and server names.
    Bm25,
    /// Python `re.search` syntax, as the Claude API's regex tool search (max 200 characters).
    Regex,
    /// BM25F fused with embedding similarity (needs --embeddings-url).
    Hybrid,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    /// One line per result: rank, score, server/tool.
    Text,
    /// A JSON array of {"server", "name", "score"}, best first.
    Json,
}

/// Arguments of `switchyard search`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Catalog file: {\"servers\": [{\"name\": \"…\", \"tools\": [<MCP Tool \
objects as tools/list returns them>]}]}. With --url, each server's tools/list is searched and \
the server is named by its URL.\n\
Exit status: 0 success (also with no results), 2 a query, pattern or catalog that cannot be \
searched (the reason is on stderr), 3 a server that cannot be reached, 4 a server that refuses \
the credentials, 7 a server that does not answer in time, 1 any other failure."
)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["catalog", "url"])))]
pub(crate) struct Args {
    /// The query: a task in words (bm25, hybrid) or a Python-syntax regex (regex).
    query: String,
    /// Catalog file of servers and their tools.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// MCP server to list tools from (repeatable; Streamable HTTP or HTTP+SSE).
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    /// Extra HTTP header for the --url servers, `Name: value` (repeatable).
    #[arg(
        long = "header",
        short = 'H',
        value_name = "NAME: VALUE",
        requires = "url"
    )]
    headers: Vec<String>,
    /// Bearer token for the --url servers.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Per-request timeout for the --url servers, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
    /// Ranking mode.
    #[arg(long, value_enum, default_value_t = Mode::Bm25)]
    mode: Mode,
    /// Number of results (1–100).
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u16).range(1..=MAX_RESULTS as i64))]
    top: u16,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// OpenAI-compatible embeddings endpoint for --mode hybrid,
    /// e.g. https://api.openai.com/v1/embeddings.
    #[arg(long, value_name = "URL", env = "SWITCHYARD_EMBEDDINGS_URL")]
    embeddings_url: Option<String>,
    /// Embedding model name sent to the endpoint.
    #[arg(
        long,
        value_name = "NAME",
        env = "SWITCHYARD_EMBEDDINGS_MODEL",
        default_value = "text-embedding-3-small"
    )]
    embeddings_model: String,
    /// Bearer token for the embeddings endpoint.
    #[arg(
        long,
        value_name = "KEY",
        env = "SWITCHYARD_EMBEDDINGS_API_KEY",
        hide_env_values = true
    )]
    embeddings_api_key: Option<String>,
    /// Where tool embeddings are kept between runs, so only new or changed tools are sent to
    /// the endpoint: a database URL (`sqlite://…`, `postgres://…`) or the path of a SQLite
    /// file (created if missing). Default: search.db in the data directory
    /// ($XDG_DATA_HOME/switchyard, else ~/.local/share/switchyard).
    #[arg(long, value_name = "DB", env = "SWITCHYARD_EMBEDDINGS_CACHE")]
    embeddings_cache: Option<String>,
    /// Keep no embeddings between runs: embed the whole catalog every time.
    #[arg(long, conflicts_with = "embeddings_cache")]
    no_embeddings_cache: bool,
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = match &args.catalog {
        Some(path) => load(path),
        None => match live_catalog(&args) {
            Ok(catalog) => docs_index(&catalog),
            Err(code) => return Ok(code),
        },
    };
    let index = match loaded {
        Ok(index) => index,
        Err(e) => return bad_input(&e),
    };
    let top = usize::from(args.top);
    let (embedder, vectors);
    let hits = match args.mode {
        Mode::Bm25 => index.search(&args.query, top),
        Mode::Regex => index.search_regex(&args.query, top),
        Mode::Hybrid => {
            let Some(url) = &args.embeddings_url else {
                return bad_input(&anyhow::anyhow!(
                    "--mode hybrid needs an embeddings endpoint: set --embeddings-url or \
                     SWITCHYARD_EMBEDDINGS_URL"
                ));
            };
            embedder =
                HttpEmbedder::new(url, &args.embeddings_model, args.embeddings_api_key.clone())?;
            let mut v = DocVectors::new();
            if args.no_embeddings_cache {
                v.sync(&index, &embedder, &mut MemoryVectorCache::default())
                    .context("embedding the catalog")?;
            } else {
                let mut cache = match StoreVectorCache::open(
                    args.embeddings_cache.as_deref(),
                    &index,
                    &args.embeddings_model,
                ) {
                    Ok(cache) => cache,
                    Err(e) => return bad_input(&e),
                };
                v.sync(&index, &embedder, &mut cache)
                    .context("embedding the catalog")?;
                if let Err(e) = cache.save(&args.embeddings_model) {
                    // The cache only saves work; the search itself succeeded.
                    eprintln!("warning: {e:#}");
                }
            }
            vectors = v;
            index.search_hybrid(&args.query, &vectors, &embedder, top)
        }
    };
    let hits = match hits {
        Ok(hits) => hits,
        Err(e @ SearchError::Embedding(_)) => return Err(e).context("embedding the query"),
        Err(e) => return bad_input(&e.into()),
    };
    match print(&hits, args.output) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn bad_input(e: &anyhow::Error) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e:#}");
    Ok(ExitCode::from(EXIT_BAD_INPUT))
}

fn load(path: &std::path::Path) -> anyhow::Result<Index> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open catalog {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CATALOG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read catalog {}", path.display()))?;
    if text.len() as u64 > MAX_CATALOG_BYTES {
        anyhow::bail!(
            "catalog {} is larger than {MAX_CATALOG_BYTES} bytes",
            path.display()
        );
    }
    let catalog =
        Catalog::from_json(&text).with_context(|| format!("catalog {}", path.display()))?;
    docs_index(&catalog).with_context(|| format!("catalog {}", path.display()))
}

fn docs_index(catalog: &Catalog) -> anyhow::Result<Index> {
    Ok(Index::from_docs(catalog.tool_docs()?)?)
}

/// Lists the tools of every `--url` server into a catalog, each server named by its URL.
/// A server that cannot be listed ends the command with the client commands' exit codes.
fn live_catalog(args: &Args) -> Result<Catalog, ExitCode> {
    use crate::cmd::client::exit;
    use switchyard_client::{Client, ClientError, ClientOptions, StaticToken};

    let fail = |code: u8, msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(code)
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((k, v)) = h.split_once(':') else {
            return Err(fail(
                exit::USAGE,
                format!("--header {h:?} is not `Name: value`"),
            ));
        };
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let opts = ClientOptions {
        request_timeout: Duration::from_secs(args.timeout),
        headers,
        auth: args.token.as_ref().map(|t| {
            std::sync::Arc::new(StaticToken(t.clone()))
                as std::sync::Arc<dyn switchyard_client::AuthProvider>
        }),
        ..ClientOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(1, format!("starting the runtime: {e}")))?;
    // The runtime ends here, before any blocking embeddings request is made.
    rt.block_on(async {
        let mut servers = Vec::new();
        for url in &args.url {
            let listed = match Client::connect_http(url, opts.clone()).await {
                Ok(client) => {
                    let r = client.list_tools().await;
                    client.close().await;
                    r
                }
                Err(e) => Err(e),
            };
            let tools = listed.map_err(|e| {
                let code = match e {
                    ClientError::Unauthorized { .. } | ClientError::Auth(_) => exit::AUTH,
                    ClientError::Timeout(_) => exit::TIMEOUT,
                    ClientError::Usage(_) => exit::USAGE,
                    _ => exit::CONNECT,
                };
                fail(code, format!("{url}: {e}"))
            })?;
            servers.push(CatalogServer {
                name: url.clone(),
                tools,
            });
        }
        Ok(Catalog { servers })
    })
}

fn print(hits: &[Hit<'_>], output: Output) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    match output {
        Output::Json => {
            // Written by hand to keep the documented key order: server, name, score.
            writeln!(out, "[")?;
            for (i, h) in hits.iter().enumerate() {
                let sep = if i + 1 < hits.len() { "," } else { "" };
                writeln!(
                    out,
                    "  {{\"server\": {}, \"name\": {}, \"score\": {}}}{sep}",
                    Value::from(h.server),
                    Value::from(h.name),
                    Value::from(h.score)
                )?;
            }
            writeln!(out, "]")?;
        }
        Output::Text => {
            for (rank, h) in hits.iter().enumerate() {
                writeln!(
                    out,
                    "{:>3}  {:>8.3}  {}/{}",
                    rank + 1,
                    h.score,
                    h.server,
                    h.name
                )?;
            }
        }
    }
    out.flush()
}

/// A [`VectorCache`] over the store's `search_vectors` table. The vectors of the index's
/// current tools are read in one go when it opens; the ones embedded during the run are written
/// back by [`save`](Self::save). `switchyard-search` does no I/O, hence the two steps.
struct StoreVectorCache {
    rt: tokio::runtime::Runtime,
    store: switchyard_store::SqlStore,
    map: std::collections::HashMap<VectorKey, std::sync::Arc<[f32]>>,
    fresh: Vec<(VectorKey, std::sync::Arc<[f32]>)>,
}

impl StoreVectorCache {
    /// Opens the cache named by `--embeddings-cache` (or the default) and loads the vectors
    /// the tools of `index` need, as embedded by `model`.
    fn open(target: Option<&str>, index: &Index, model: &str) -> anyhow::Result<Self> {
        let url = match target {
            None => switchyard_store::default_sqlite_url_named(DEFAULT_CACHE_FILE)
                .context("embeddings cache")?,
            Some(t)
                if t.starts_with("sqlite:")
                    || t.starts_with("postgres:")
                    || t.starts_with("postgresql:") =>
            {
                t.to_owned()
            }
            Some(path) => format!("sqlite://{path}?mode=rwc"),
        };
        let shown = target.unwrap_or(&url).to_owned();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        let keys: Vec<VectorKey> = index
            .ids()
            .filter_map(|id| switchyard_search::hybrid::embedding_text(index, id))
            .map(|text| VectorKey::new(model, &text))
            .collect();
        let raw: Vec<[u8; 32]> = keys.iter().map(|k| k.0).collect();
        let (store, found) = rt
            .block_on(async {
                let store = switchyard_store::SqlStore::open(&url).await?;
                let found = store.embedding_vectors(&raw).await?;
                Ok::<_, switchyard_store::StoreError>((store, found))
            })
            .with_context(|| format!("cannot use the embeddings cache {shown}"))?;
        Ok(Self {
            rt,
            store,
            map: found
                .into_iter()
                .map(|(k, v)| (VectorKey(k), v.into()))
                .collect(),
            fresh: Vec::new(),
        })
    }

    /// Writes the vectors embedded since [`open`](Self::open).
    fn save(&self, model: &str) -> anyhow::Result<()> {
        if self.fresh.is_empty() {
            return Ok(());
        }
        let rows: Vec<([u8; 32], &[f32])> = self.fresh.iter().map(|(k, v)| (k.0, &v[..])).collect();
        self.rt
            .block_on(self.store.put_embedding_vectors(model, &rows))
            .context("cannot write the embeddings cache")
    }
}

impl VectorCache for StoreVectorCache {
    fn get(&self, key: &VectorKey) -> Option<std::sync::Arc<[f32]>> {
        self.map.get(key).cloned()
    }
    fn put(&mut self, key: VectorKey, vector: std::sync::Arc<[f32]>) {
        self.map.insert(key, vector.clone());
        self.fresh.push((key, vector));
    }
}

/// [`Embedder`] over an OpenAI-compatible `POST /v1/embeddings` endpoint.
struct HttpEmbedder {
    client: reqwest::blocking::Client,
    url: String,
    model: String,
    api_key: Option<String>,
}

impl HttpEmbedder {
    fn new(url: &str, model: &str, api_key: Option<String>) -> anyhow::Result<Self> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("--embeddings-url must be an http:// or https:// URL, not {url:?}");
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(EMBEDDINGS_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            client,
            url: url.to_owned(),
            model: model.to_owned(),
            api_key,
        })
    }
}

impl Embedder for HttpEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn embed(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = json!({"model": self.model, "input": inputs}).to_string();
        let mut req = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req
            .send()
            .map_err(|e| EmbedError::Unavailable(format!("{}: {e}", self.url)))?;
        let status = resp.status();
        let mut text = String::new();
        resp.take(MAX_EMBEDDINGS_RESPONSE_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| EmbedError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            let snippet: String = text.chars().take(200).collect();
            return Err(EmbedError::Unavailable(format!(
                "{} answered {status}: {snippet}",
                self.url
            )));
        }
        parse_embeddings(&text, inputs.len())
    }
}

/// Reads `{"data": [{"index": i, "embedding": [..]}, ..]}` into vectors in input order.
fn parse_embeddings(text: &str, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let bad = |m: &str| EmbedError::BadResponse(m.to_owned());
    let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `data` array"))?;
    let mut out: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (pos, item) in data.iter().enumerate() {
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .map_or(pos, |i| i as usize);
        let vector = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("item without an `embedding` array"))?
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| bad("non-numeric embedding"))
            })
            .collect::<Result<Vec<f32>, _>>()?;
        let slot = out
            .get_mut(index)
            .ok_or_else(|| bad("embedding index out of range"))?;
        *slot = Some(vector);
    }
    out.into_iter()
        .map(|v| v.ok_or_else(|| bad("fewer embeddings than inputs")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_come_back_in_input_order() {
        let text = r#"{"data":[{"index":1,"embedding":[2.0]},{"index":0,"embedding":[1.0]}]}"#;
        assert_eq!(parse_embeddings(text, 2), Ok(vec![vec![1.0], vec![2.0]]));
    }

    #[test]
    fn short_or_malformed_embeddings_are_errors() {
        assert!(parse_embeddings(r#"{"data":[{"index":0,"embedding":[1.0]}]}"#, 2).is_err());
        assert!(parse_embeddings(r#"{"data":[{"index":5,"embedding":[1.0]}]}"#, 1).is_err());
        assert!(parse_embeddings(r#"{"data":[{"embedding":["x"]}]}"#, 1).is_err());
        assert!(parse_embeddings("not json", 1).is_err());
    }

    #[test]
    fn max_catalog_bytes_is_above_a_full_10k_catalog() {
        // 10,000 tools at the real catalog's average of ~1.9 KB each.
        const { assert!(MAX_CATALOG_BYTES > 10_000 * 1_900) };
    }
}
