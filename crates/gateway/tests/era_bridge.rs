//! A 2026-07-28 caller behind the gateway, a 2025-11-25 upstream that asks the user for input in
//! the middle of a call: the question reaches the caller as an `input_required` result, and the
//! answer reaches the waiting upstream when the caller retries.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;
use common::serve;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Map, Value};
use switchyard_client::{
    BoxFuture, Client, ClientHandler, ClientOptions, Progress, ProtocolPreference, RequestOptions,
};
use switchyard_gateway::{Gateway, UpstreamConfig};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::types::ElicitParams;
use switchyard_server::{HandlerError, RequestContext, Server, ToolDef};

#[derive(Deserialize, schemars::JsonSchema)]
struct Questions {
    /// How many questions to ask, one after another.
    count: u32,
}

fn form(message: String) -> ElicitParams {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}}});
    ElicitParams {
        mode: None,
        message,
        requested_schema: schema.as_object().cloned(),
        url: None,
        elicitation_id: None,
        meta: None,
    }
}

/// An upstream whose tool asks `count` questions with 2025-era elicitation requests, reporting
/// progress after each answer, and returns the answers.
fn upstream() -> Server {
    Server::builder("asker", "1.0.0")
        .tool(ToolDef::new(
            "ask",
            "Asks the user some questions",
            |q: Questions, ctx: RequestContext| async move {
                let mut names = Vec::new();
                for i in 0..q.count {
                    let r = ctx.elicit(form(format!("question {i}"))).await?;
                    let name = r
                        .content
                        .and_then(|c| c.get("name").cloned())
                        .unwrap_or(Value::Null);
                    names.push(format!("{}:{}", r.action, name));
                    ctx.progress(f64::from(i + 1), Some(f64::from(q.count)), None);
                }
                Ok::<_, HandlerError>(names.join(","))
            },
        ))
        .build()
}

/// The gateway in front of the asking upstream, pinned to 2025-11-25.
async fn gateway() -> String {
    let up = serve(upstream()).await;
    let mut cfg = UpstreamConfig::url("up", up);
    cfg.protocol = Some("2025-11-25".into());
    cfg.timeout = Duration::from_secs(10);
    let (gw, server) = Gateway::build(vec![cfg], "gw", "1.0.0");
    gw.refresh_all().await;
    serve(server).await
}

/// Answers every elicitation with a name taken from the question, and remembers the questions.
#[derive(Default)]
struct Answers(Mutex<Vec<String>>);

impl ClientHandler for Answers {
    fn elicit(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        let msg = params["message"].as_str().unwrap_or_default().to_owned();
        self.0.lock().unwrap().push(msg.clone());
        let name = msg.replace("question ", "n");
        Box::pin(async move { Ok(json!({"action": "accept", "content": {"name": name}})) })
    }
}

async fn modern_client(url: &str, handler: Arc<Answers>) -> Client {
    Client::connect_http(
        url,
        ClientOptions {
            protocol: ProtocolPreference::Modern,
            handler,
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
}

fn text(r: &Value) -> String {
    r["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn an_older_upstreams_questions_reach_a_modern_caller_and_its_answers_come_back() {
    let url = gateway().await;
    let answers = Arc::new(Answers::default());
    let client = modern_client(&url, answers.clone()).await;
    assert!(client.is_modern());

    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let ro = RequestOptions {
        progress: Some(Arc::new(move |p: Progress| {
            sink.lock().unwrap().push(p.progress);
        })),
        ..RequestOptions::default()
    };
    let r = client
        .request(
            "tools/call",
            Some(json!({"name": "up__ask", "arguments": {"count": 2}})),
            &ro,
        )
        .await
        .unwrap();
    assert_eq!(r["resultType"], "complete");
    assert_eq!(text(&r), r#"accept:"n0",accept:"n1""#);
    assert_eq!(
        *answers.0.lock().unwrap(),
        vec!["question 0".to_owned(), "question 1".to_owned()]
    );
    // Progress the upstream reports after each answer reaches the retry that is waiting.
    assert_eq!(*seen.lock().unwrap(), vec![1.0, 2.0]);
}

#[tokio::test]
async fn the_input_required_result_names_the_question_and_a_state_that_cannot_be_forged() {
    let url = gateway().await;
    let client = modern_client(&url, Arc::new(Answers::default())).await;
    let ro = RequestOptions {
        return_input_required: true,
        ..RequestOptions::default()
    };
    let r = client
        .request(
            "tools/call",
            Some(json!({"name": "up__ask", "arguments": {"count": 1}})),
            &ro,
        )
        .await
        .unwrap();
    assert_eq!(r["resultType"], "input_required");
    let reqs: &Map<String, Value> = r["inputRequests"].as_object().unwrap();
    assert_eq!(reqs.len(), 1);
    let (key, req) = reqs.iter().next().unwrap();
    assert_eq!(req["method"], "elicitation/create");
    assert_eq!(req["params"]["message"], "question 0");
    let state = r["requestState"].as_str().unwrap().to_owned();

    // A made-up state is refused, and does not disturb the real one.
    let forged = client
        .request(
            "tools/call",
            Some(json!({"name": "up__ask", "arguments": {"count": 1},
                "inputResponses": {key.clone(): {"action": "decline"}},
                "requestState": "gwp.AAAAAAAAAAAAAAAAAAAAAA"})),
            &ro,
        )
        .await;
    assert!(
        forged.is_err(),
        "a forged state must be refused: {forged:?}"
    );

    let done = client
        .request(
            "tools/call",
            Some(json!({"name": "up__ask", "arguments": {"count": 1},
                "inputResponses": {key.clone(): {"action": "accept", "content": {"name": "zed"}}},
                "requestState": state})),
            &ro,
        )
        .await
        .unwrap();
    assert_eq!(done["resultType"], "complete");
    assert_eq!(text(&done), r#"accept:"zed""#);

    // The state was single use.
    let replay = client
        .request(
            "tools/call",
            Some(json!({"name": "up__ask", "arguments": {"count": 1},
                "inputResponses": {key.clone(): {"action": "accept", "content": {"name": "zed"}}},
                "requestState": state})),
            &ro,
        )
        .await;
    assert!(replay.is_err(), "a spent state must be refused: {replay:?}");
}

#[tokio::test]
async fn an_older_caller_still_gets_the_questions_as_requests() {
    let url = gateway().await;
    let answers = Arc::new(Answers::default());
    let client = Client::connect_http(
        &url,
        ClientOptions {
            protocol: ProtocolPreference::Legacy("2025-11-25".into()),
            handler: answers.clone(),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(!client.is_modern());
    let r = client
        .call_tool("up__ask", json!({"count": 1}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(text(&r), r#"accept:"n0""#);
    assert_eq!(*answers.0.lock().unwrap(), vec!["question 0".to_owned()]);
}
