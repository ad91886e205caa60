//! Per-user upstream OAuth through `switchyard serve` as users run it: two real processes, an
//! upstream `switchyard serve` (demo server, built-in AS with its own users) and a gateway
//! `switchyard serve` with `oauth_per_user` on it. Callers hold real tokens of the gateway's
//! built-in AS (authorization code + PKCE, signed in through its login and consent forms), and
//! the same browser then walks the connect link through the upstream's login and consent.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_auth::client::pkce::Pkce;

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
const MODERN: &str = "2026-07-28";
const PASSWORD: &str = "correct horse battery";
const REDIRECT: &str = "http://127.0.0.1/cb";

/// A running `switchyard serve` on 127.0.0.1:0 with its own data directory.
struct Serve {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Serve {
    fn start(name: &str, config: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("switchyard-pu-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("switchyard.toml"), config).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(dir.join("switchyard.toml"))
            .env("XDG_DATA_HOME", &dir)
            .env("SWITCHYARD_ADMIN_PASSWORD", "admin-pass-for-tests")
            .env("ALICE_PW", PASSWORD)
            .env("BOB_PW", PASSWORD)
            .env_remove("SWITCHYARD_CONFIG")
            .env_remove("SWITCHYARD_TOKEN_KEY")
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        let url = loop {
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("{name} did not start:\n{}", seen.join("\n")));
            let l = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{name} did not start:\n{}", seen.join("\n")));
            if let Some(u) = l.trim().strip_prefix("switchyard: serving MCP at ") {
                break u.to_owned();
            }
            seen.push(l);
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url, dir }
    }

    fn base(&self) -> String {
        self.url.trim_end_matches("/mcp").to_owned()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Page {
    /// The Content-Security-Policy header, if any.
    csp: Option<String>,
    status: u16,
    location: Option<String>,
    body: String,
}

impl Page {
    fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }
}

/// A user agent with a cookie jar per host and port, never following redirects.
struct Browser {
    jar: HashMap<String, HashMap<String, String>>,
    http: reqwest::blocking::Client,
}

fn origin(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    format!(
        "{}:{}",
        u.host_str().unwrap(),
        u.port_or_known_default().unwrap()
    )
}

impl Browser {
    fn new() -> Self {
        Self {
            jar: HashMap::new(),
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    fn send(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> Page {
        let o = origin(url);
        let cookies = self
            .jar
            .get(&o)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let req = match form {
            Some(f) => self.http.post(url).form(f),
            None => self.http.get(url),
        };
        let r = req.header("cookie", cookies).send().unwrap();
        let jar = self.jar.entry(o).or_default();
        for v in r.headers().get_all("set-cookie") {
            let line = v.to_str().unwrap();
            if let Some((k, val)) = line.split(';').next().unwrap().split_once('=') {
                if val.is_empty() {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_owned(), val.to_owned());
                }
            }
        }
        let status = r.status().as_u16();
        let csp = r
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned());
        let location = r.headers().get("location").map(|l| {
            url::Url::parse(url)
                .unwrap()
                .join(l.to_str().unwrap())
                .unwrap()
                .to_string()
        });
        Page {
            csp,
            status,
            location,
            body: r.text().unwrap(),
        }
    }

    fn get(&mut self, url: &str) -> Page {
        self.send(url, None)
    }

    /// From an authorization request: signs in if asked, approves if asked; returns where the
    /// authorization server sent the browser back.
    fn approve(&mut self, authorize: &str, user: &str) -> String {
        let base = format!("http://{}", origin(authorize));
        let mut p = self.get(authorize);
        if p.field("password").is_some() || p.body.contains("Sign in") {
            assert_eq!(p.status, 200, "{}", p.body);
            let r = self.send(
                &format!("{base}/login"),
                Some(&[
                    ("req", &p.field("req").unwrap()),
                    ("csrf", &p.field("csrf").unwrap()),
                    ("username", user),
                    ("password", PASSWORD),
                ]),
            );
            assert_eq!(r.status, 303, "{}", r.body);
            p = self.get(&r.location.unwrap());
        }
        if p.status == 200 {
            let r = self.send(
                &format!("{base}/consent"),
                Some(&[
                    ("req", &p.field("req").unwrap()),
                    ("csrf", &p.field("csrf").unwrap()),
                    ("decision", "approve"),
                ]),
            );
            assert_eq!(r.status, 303, "{}", r.body);
            return r.location.unwrap();
        }
        p.location
            .unwrap_or_else(|| panic!("{}: {}", p.status, p.body))
    }

    /// Signs `user` in at the gateway's AS as the MCP client would; returns their token.
    fn gateway_token(&mut self, gw: &Serve, user: &str) -> String {
        let pkce = Pkce::generate();
        let mut u = url::Url::parse(&format!("{}/authorize", gw.base())).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", "cli")
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_challenge", pkce.challenge())
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "s")
            .append_pair("resource", &gw.url);
        let back = url::Url::parse(&self.approve(u.as_str(), user)).unwrap();
        let code = back
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let r: Value = self
            .http
            .post(format!("{}/token", gw.base()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", "cli"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", pkce.verifier()),
                ("resource", &gw.url),
            ])
            .send()
            .unwrap()
            .text()
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap();
        r["access_token"].as_str().unwrap().to_owned()
    }
}

/// One stateless tools/call from a client without URL elicitation; `Ok(text)` or
/// `Err(the -32042 URL)`.
fn call(gw: &Serve, token: &str, tool: &str) -> Result<String, String> {
    let r = post_call(gw, token, tool, json!({}), json!({}));
    if let Some(e) = r.get("error") {
        assert_eq!(e["code"], -32042, "{r}");
        let el = &e["data"]["elicitations"][0];
        assert_eq!(el["mode"], "url", "{r}");
        return Err(el["url"].as_str().unwrap().to_owned());
    }
    Ok(r["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

fn post_call(gw: &Serve, token: &str, tool: &str, caps: Value, retry: Value) -> Value {
    let mut params = json!({"name": tool, "arguments": {"text": "hi"}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": caps
    }});
    if let Value::Object(m) = retry {
        params.as_object_mut().unwrap().extend(m);
    }
    reqwest::blocking::Client::new()
        .post(&gw.url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params})
                .to_string(),
        )
        .send()
        .unwrap()
        .text()
        .map(|t| serde_json::from_str::<Value>(&t).unwrap())
        .unwrap()
}

#[test]
fn serve_asks_each_user_to_connect_and_then_calls_with_their_own_upstream_token() {
    let users = "[[auth.users]]\nusername = \"alice\"\npassword_env = \"ALICE_PW\"\n\
                 [[auth.users]]\nusername = \"bob\"\npassword_env = \"BOB_PW\"\n";
    let upstream = Serve::start("up", users);
    let gw = Serve::start(
        "gw",
        &format!(
            "[auth]\ndanger_allow_loopback_metadata_documents = true\n\
             [[auth.clients]]\nclient_id = \"cli\"\nredirect_uris = [\"{REDIRECT}\"]\n\
             {users}\
             [[upstreams]]\nname = \"up\"\nurl = \"{}\"\noauth_per_user = {{}}\n",
            upstream.url
        ),
    );
    let mut alices = Browser::new();
    let alice = alices.gateway_token(&gw, "alice");
    let mut bobs = Browser::new();
    let bob = bobs.gateway_token(&gw, "bob");

    let link = call(&gw, &alice, "up__connect").unwrap_err();
    assert!(
        link.starts_with(&format!("{}/connect/up?request=", gw.base())),
        "{link}"
    );
    // Bob's browser (signed in at the gateway as bob) cannot use Alice's link.
    let r = bobs.get(&link);
    assert_eq!(r.status, 403, "{}", r.body);
    // Connect pages act for the signed-in user: they refuse to be framed.
    assert!(
        r.csp
            .as_deref()
            .is_some_and(|c| c.contains("frame-ancestors 'none'")),
        "{:?}",
        r.csp
    );

    let link = call(&gw, &alice, "up__connect").unwrap_err();
    let r = alices.get(&link);
    assert_eq!(r.status, 302, "{}", r.body);
    let back = alices.approve(&r.location.unwrap(), "alice");
    assert!(
        back.starts_with(&format!("{}/connect/callback?", gw.base())),
        "{back}"
    );
    let done = alices.get(&back);
    assert_eq!(done.status, 200, "{}", done.body);

    // The upstream's own tools now, called with Alice's upstream token.
    assert_eq!(call(&gw, &alice, "up__echo").unwrap(), "hi");
    // Bob has not connected: asked to, not served with Alice's token.
    assert!(call(&gw, &bob, "up__echo").is_err());
    // The key file that seals the tokens is private to the server's user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let key = gw.dir.join("switchyard/upstream-tokens.key");
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    // A 2026-07-28 client that declared URL elicitation is asked with an input_required
    // result instead; its retry (inputResponses + the gateway's requestState) goes through
    // once the user has connected, and the gateway's question is not forwarded upstream.
    let url_caps = json!({"elicitation": {"url": {}}});
    let r = post_call(&gw, &bob, "up__echo", url_caps.clone(), json!({}));
    let result = &r["result"];
    assert_eq!(result["resultType"], "input_required", "{r}");
    let (key, ask) = result["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(ask["method"], "elicitation/create", "{r}");
    assert_eq!(ask["params"]["mode"], "url", "{r}");
    let link = ask["params"]["url"].as_str().unwrap();
    let state = result["requestState"].as_str().unwrap();
    let r = bobs.get(link);
    assert_eq!(r.status, 302, "{}", r.body);
    let back = bobs.approve(&r.location.unwrap(), "bob");
    assert_eq!(bobs.get(&back).status, 200);
    let retry = json!({
        "inputResponses": {key.as_str(): {"action": "accept"}},
        "requestState": state,
    });
    let r = post_call(&gw, &bob, "up__echo", url_caps, retry);
    assert_eq!(r["result"]["content"][0]["text"], "hi", "{r}");
}
