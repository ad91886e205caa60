//! The fixture server the official MCP conformance suite expects (modelled on its
//! everything-server), serving both protocol eras on `http://127.0.0.1:<port>/mcp`.
//!
//! ```text
//! cargo run --release -p switchyard-server --example conformance_server -- --port 3000
//! cargo run --release -p switchyard-server --example conformance_server -- --stdio
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Parser;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use switchyard_server::protocol::jsonrpc::ErrorObject;
use switchyard_server::protocol::types::*;
use switchyard_server::protocol::ErrorCode;
use switchyard_server::*;

const IMG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const WAV: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Serve on stdin/stdout instead of HTTP.
    #[arg(long)]
    stdio: bool,
    /// Also mount the 2024-11-05 HTTP+SSE transport at /sse and /messages.
    #[arg(long)]
    legacy_sse: bool,
}

#[derive(Deserialize, JsonSchema)]
struct PromptArg {
    /// The prompt to send to the client's model.
    prompt: String,
}

#[derive(Deserialize, JsonSchema)]
struct MessageArg {
    /// What to ask the user.
    message: String,
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn form(message: &str, schema: Value) -> ElicitParams {
    ElicitParams {
        mode: None,
        message: message.to_owned(),
        requested_schema: Some(obj(schema)),
        url: None,
        elicitation_id: None,
        meta: None,
    }
}

fn sampling(text: &str, max_tokens: u64) -> CreateMessageParams {
    CreateMessageParams {
        messages: vec![SamplingMessage {
            role: Role::User,
            content: SamplingContent::One(Box::new(ContentBlock::text(text))),
            meta: None,
        }],
        model_preferences: None,
        system_prompt: None,
        include_context: None,
        temperature: None,
        max_tokens,
        stop_sequences: None,
        metadata: None,
        tools: None,
        tool_choice: None,
        meta: None,
    }
}

fn sampled_text(r: &CreateMessageResult) -> String {
    let block = match &r.content {
        SamplingContent::One(b) => Some(&**b),
        SamplingContent::Many(v) => v.first(),
    };
    match block {
        Some(ContentBlock::Text(t)) => t.text.clone(),
        _ => String::from("(non-text answer)"),
    }
}

fn resource(uri: &str, name: &str, mime: &str, desc: &str) -> Resource {
    Resource {
        uri: uri.into(),
        name: name.into(),
        mime_type: Some(mime.into()),
        description: Some(desc.into()),
        ..Resource::default()
    }
}

fn prompt(name: &str, desc: &str, args: &[(&str, &str, bool)]) -> Prompt {
    Prompt {
        name: name.into(),
        description: Some(desc.into()),
        arguments: (!args.is_empty()).then(|| {
            args.iter()
                .map(|(n, d, r)| PromptArgument {
                    name: (*n).into(),
                    description: Some((*d).into()),
                    required: Some(*r),
                    title: None,
                })
                .collect()
        }),
        ..Prompt::default()
    }
}

fn user(content: ContentBlock) -> PromptMessage {
    PromptMessage {
        role: Role::User,
        content,
    }
}

fn messages(m: Vec<PromptMessage>) -> GetPromptResult {
    GetPromptResult {
        description: None,
        messages: m,
        fields: ResultFields::default(),
    }
}

fn text_tool(name: &str, desc: &str, blocks: fn() -> Vec<ContentBlock>) -> ToolDef {
    ToolDef::new(name, desc, move |_: NoArgs, _| async move { blocks() })
}

fn elicit_name_tool() -> ToolDef {
    ToolDef::new(
        "test_input_required_result_elicitation",
        "Asks for the user's name through an input-required result",
        |_: NoArgs, ctx: RequestContext| async move {
            let r = ctx
                .elicit_keyed(
                    Some("user_name"),
                    form(
                        "What is your name?",
                        json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}),
                    ),
                )
                .await?;
            let name = r
                .content
                .as_ref()
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("stranger")
                .to_owned();
            Ok::<_, HandlerError>(format!("Hello, {name}!"))
        },
    )
}

fn build(server_slot: Arc<OnceLock<Server>>) -> Server {
    let trigger = |slot: Arc<OnceLock<Server>>, ev: ServerEvent, name: &str, desc: &str| {
        ToolDef::new(name, desc, move |_: NoArgs, _| {
            let slot = slot.clone();
            let ev = ev.clone();
            async move {
                if let Some(s) = slot.get() {
                    s.notify(ev);
                }
                "change announced"
            }
        })
    };
    let schema_2020 = json!({
        "$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
        "$defs":{"address":{"$anchor":"addressDef","type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},
        "properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"},"contactMethod":{"type":"string","enum":["phone","email"]},"phone":{"type":"string"},"email":{"type":"string"}},
        "allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],
        "if":{"properties":{"contactMethod":{"const":"phone"}},"required":["contactMethod"]},
        "then":{"required":["phone"]},"else":{"required":["email"]},"additionalProperties":false
    });
    let json2020 = ToolDef::dynamic(
        Tool {
            name: "json_schema_2020_12_tool".into(),
            description: Some("Tool with JSON Schema 2020-12 features".into()),
            input_schema: obj(schema_2020),
            ..Tool::default()
        },
        |args, _| async move { Ok(CallToolResult::text(format!("Received: {args}"))) },
    )
    .expect("the fixture schema is valid");

    Server::builder("mcp-conformance-test-server", "1.0.0")
        .instructions("Fixture server for the MCP conformance suite, built on Switchyard.")
        .cache_hints(300_000, CacheScope::Public)
        .tool(text_tool("test_simple_text", "Returns a simple text response", || {
            vec![ContentBlock::text("This is a simple text response for testing.")]
        }))
        .tool(text_tool("test_image_content", "Returns an image", || {
            vec![ContentBlock::image(IMG, "image/png")]
        }))
        .tool(text_tool("test_audio_content", "Returns audio", || {
            vec![ContentBlock::audio(WAV, "audio/wav")]
        }))
        .tool(text_tool("test_embedded_resource", "Returns an embedded resource", || {
            vec![ContentBlock::Resource(EmbeddedResource {
                resource: ResourceContents::text(
                    "test://embedded-resource",
                    Some("text/plain"),
                    "This is an embedded resource content.",
                ),
                annotations: None,
                meta: None,
            })]
        }))
        .tool(text_tool("test_multiple_content_types", "Returns text, an image and a resource", || {
            vec![
                ContentBlock::text("Multiple content types test:"),
                ContentBlock::image(IMG, "image/png"),
                ContentBlock::Resource(EmbeddedResource {
                    resource: ResourceContents::text(
                        "test://mixed-content-resource",
                        Some("application/json"),
                        r#"{"test":"data","value":123}"#,
                    ),
                    annotations: None,
                    meta: None,
                }),
            ]
        }))
        .tool(ToolDef::new(
            "test_error_handling",
            "Always fails, as a tool-level error",
            |_: NoArgs, _| async move {
                CallToolResult::error("This tool intentionally returns an error for testing")
            },
        ))
        .tool(ToolDef::new(
            "test_tool_with_progress",
            "Reports progress 0, 50, 100",
            |_: NoArgs, ctx: RequestContext| async move {
                for (i, p) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    ctx.progress(p, Some(100.0), Some(&format!("step {}", i + 1)));
                }
                "Progress complete"
            },
        ))
        .tool(ToolDef::new(
            "test_tool_with_logging",
            "Sends three log messages while it runs",
            |_: NoArgs, ctx: RequestContext| async move {
                for (i, m) in ["Tool execution started", "Tool processing data", "Tool execution completed"].into_iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    ctx.log(LoggingLevel::Info, Some("conformance"), Value::String(m.into()));
                }
                "Tool with logging executed successfully"
            },
        ))
        .tool(ToolDef::new(
            "test_logging_tool",
            "Logs only when the request asks for a log level",
            |_: NoArgs, ctx: RequestContext| async move {
                ctx.log(LoggingLevel::Info, None, json!("test_logging_tool ran"));
                "logged if asked"
            },
        ))
        .tool(ToolDef::new(
            "test_sampling",
            "Asks the client's model to complete a prompt",
            |a: PromptArg, ctx: RequestContext| async move {
                let r = ctx.sample(sampling(&a.prompt, 100)).await?;
                Ok::<_, HandlerError>(format!("LLM response: {}", sampled_text(&r)))
            },
        ))
        .tool(ToolDef::new(
            "test_elicitation",
            "Asks the user for a username and an email",
            |a: MessageArg, ctx: RequestContext| async move {
                let r = ctx
                    .elicit(form(
                        &a.message,
                        json!({"type":"object","properties":{
                            "username":{"type":"string","description":"User's response"},
                            "email":{"type":"string","description":"User's email address"}},
                            "required":["username","email"]}),
                    ))
                    .await?;
                Ok::<_, HandlerError>(format!(
                    "User response: action={}, content={}",
                    r.action,
                    Value::Object(r.content.unwrap_or_default())
                ))
            },
        ))
        .tool(ToolDef::new(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields carry defaults (SEP-1034)",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx.elicit(form("Please review and update the form fields with defaults", json!({
                    "type":"object","properties":{
                        "name":{"type":"string","description":"User name","default":"John Doe"},
                        "age":{"type":"integer","description":"User age","default":30},
                        "score":{"type":"number","description":"User score","default":95.5},
                        "status":{"type":"string","description":"User status","enum":["active","inactive","pending"],"default":"active"},
                        "verified":{"type":"boolean","description":"Verification status","default":true}},
                    "required":[]}))).await?;
                Ok::<_, HandlerError>(format!("Elicitation completed: action={}, content={}", r.action, Value::Object(r.content.unwrap_or_default())))
            },
        ))
        .tool(ToolDef::new(
            "test_elicitation_sep1330_enums",
            "Elicits a form with every enum style (SEP-1330)",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx.elicit(form("Please select options from the enum fields", json!({
                    "type":"object","properties":{
                        "untitledSingle":{"type":"string","description":"Choose an option","enum":["option1","option2","option3"]},
                        "titledSingle":{"type":"string","description":"Choose a titled option","oneOf":[{"const":"value1","title":"First Option"},{"const":"value2","title":"Second Option"},{"const":"value3","title":"Third Option"}]},
                        "legacyEnum":{"type":"string","description":"Choose a legacy option","enum":["opt1","opt2","opt3"],"enumNames":["Option One","Option Two","Option Three"]},
                        "untitledMulti":{"type":"array","description":"Choose multiple options","minItems":1,"maxItems":3,"items":{"type":"string","enum":["option1","option2","option3"]}},
                        "titledMulti":{"type":"array","description":"Choose multiple titled options","minItems":1,"maxItems":3,"items":{"anyOf":[{"const":"value1","title":"First Choice"},{"const":"value2","title":"Second Choice"},{"const":"value3","title":"Third Choice"}]}}},
                    "required":[]}))).await?;
                Ok::<_, HandlerError>(format!("Elicitation completed: action={}, content={}", r.action, Value::Object(r.content.unwrap_or_default())))
            },
        ))
        .tool(json2020)
        .tool(
            ToolDef::dynamic(
                Tool {
                    name: "test_custom_header".into(),
                    description: Some("Echoes a parameter that is mirrored into the Mcp-Param-Region header".into()),
                    input_schema: obj(json!({
                        "type": "object",
                        "properties": {"region": {"type": "string", "description": "Region to use", "x-mcp-header": "Region"}},
                        "required": ["region"]
                    })),
                    ..Tool::default()
                },
                |args, _| async move {
                    let region = args.get("region").and_then(Value::as_str).unwrap_or_default().to_owned();
                    Ok(CallToolResult::text(format!("region={region}")))
                },
            )
            .expect("the fixture schema is valid"),
        )
        .tool(ToolDef::new(
            "test_reconnection",
            "Closes its SSE stream mid-call; the result arrives after the client resumes",
            |_: NoArgs, ctx: RequestContext| async move {
                ctx.close_sse_stream();
                tokio::time::sleep(Duration::from_millis(100)).await;
                "Reconnection test completed"
            },
        ))
        .tool(ToolDef::new(
            "test_missing_capability",
            "Needs the client's sampling capability",
            |_: NoArgs, ctx: RequestContext| async move {
                if ctx.client_capabilities().sampling.is_none() {
                    return Err(HandlerError::Protocol(
                        ErrorObject::new(ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY, "this tool needs the sampling capability")
                            .with_data(json!({"requiredCapabilities":{"sampling":{}}})),
                    ));
                }
                Ok("sampling is available")
            },
        ))
        .tool(ToolDef::new(
            "test_streaming_elicitation",
            "Streams progress and then answers, without server-to-client requests",
            |_: NoArgs, ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), Some("working"));
                tokio::time::sleep(Duration::from_millis(20)).await;
                ctx.progress(2.0, Some(2.0), Some("done"));
                "streamed"
            },
        ))
        .tool(trigger(server_slot.clone(), ServerEvent::ToolsListChanged, "test_trigger_tool_change", "Announces a tool list change"))
        .tool(trigger(server_slot.clone(), ServerEvent::PromptsListChanged, "test_trigger_prompt_change", "Announces a prompt list change"))
        .tool(elicit_name_tool())
        .tool(ToolDef::new(
            "test_input_required_result_sampling",
            "Asks the client's model a question through an input-required result",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx.sample_keyed(Some("sample_request"), sampling("What is the capital of France?", 100)).await?;
                Ok::<_, HandlerError>(format!("Model said: {}", sampled_text(&r)))
            },
        ))
        .tool(ToolDef::new(
            "test_input_required_result_list_roots",
            "Asks for the client's roots through an input-required result",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx.list_roots_keyed(Some("roots_request")).await?;
                Ok::<_, HandlerError>(format!("Client has {} root(s)", r.roots.len()))
            },
        ))
        .tool(ToolDef::new(
            "test_input_required_result_request_state",
            "Asks for confirmation, carrying request state",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx.elicit_keyed(Some("confirm"), form("Confirm?", json!({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}))).await?;
                Ok::<_, HandlerError>(format!("state-ok: {}", r.action))
            },
        ))
        .tool(ToolDef::new(
            "test_input_required_result_multiple_inputs",
            "Asks for a name, a greeting and the roots at once",
            |_: NoArgs, ctx: RequestContext| async move {
                let name = serde_json::to_value(form("What is your name?", json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}))).unwrap_or_default();
                let greet = serde_json::to_value(sampling("Generate a greeting", 50)).unwrap_or_default();
                let answers = ctx.input_requests(vec![
                    ("user_name".into(), methods::ELICITATION_CREATE.into(), name),
                    ("greeting".into(), methods::SAMPLING_CREATE_MESSAGE.into(), greet),
                    ("client_roots".into(), methods::ROOTS_LIST.into(), json!({})),
                ]).await?;
                Ok::<_, HandlerError>(format!("Got {} answers", answers.len()))
            },
        ))
        .tool(ToolDef::new(
            "test_input_required_result_multi_round",
            "Asks two questions in two rounds",
            |_: NoArgs, ctx: RequestContext| async move {
                let a = ctx.elicit_keyed(Some("step1"), form("What is your name?", json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}))).await?;
                let b = ctx.elicit_keyed(Some("step2"), form("What is your favourite colour?", json!({"type":"object","properties":{"color":{"type":"string"}},"required":["color"]}))).await?;
                let get = |r: &ElicitResult, k: &str| r.content.as_ref().and_then(|c| c.get(k)).and_then(Value::as_str).unwrap_or("?").to_owned();
                Ok::<_, HandlerError>(format!("{} likes {}", get(&a, "name"), get(&b, "color")))
            },
        ))
        .tool(ToolDef::new(
            "test_input_required_result_tampered_state",
            "Asks for confirmation; a tampered requestState is refused",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx.elicit_keyed(Some("confirm"), form("Confirm?", json!({"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}))).await?;
                Ok::<_, HandlerError>(format!("confirmed: {}", r.action))
            },
        ))
        .tool(ToolDef::new(
            "test_input_required_result_capabilities",
            "Asks only for what the client declared it supports",
            |_: NoArgs, ctx: RequestContext| async move {
                if ctx.client_capabilities().elicitation_form() {
                    let r = ctx.elicit_keyed(Some("elicit_input"), form("Anything to add?", json!({"type":"object","properties":{"note":{"type":"string"}}}))).await?;
                    return Ok::<_, HandlerError>(format!("elicited: {}", r.action));
                }
                let r = ctx.sample_keyed(Some("sample_input"), sampling("Say something", 20)).await?;
                Ok(format!("sampled: {}", sampled_text(&r)))
            },
        ))
        .resource(ResourceDef::text(
            resource("test://static-text", "static-text", "text/plain", "A static text resource"),
            "This is the content of the static text resource.",
        ))
        .resource(ResourceDef::new(
            resource("test://static-binary", "static-binary", "image/png", "A static binary resource"),
            |uri, _| async move { Ok(vec![ResourceContents::blob(uri, Some("image/png"), IMG)]) },
        ))
        .resource(ResourceDef::text(
            resource("test://watched-resource", "watched-resource", "text/plain", "A resource to subscribe to"),
            "Watched resource content",
        ))
        .resource_template(TemplateDef::new(
            ResourceTemplate {
                uri_template: "test://template/{id}/data".into(),
                name: "template".into(),
                description: Some("Data for an id".into()),
                mime_type: Some("application/json".into()),
                ..ResourceTemplate::default()
            },
            |uri, vars: BTreeMap<String, String>, _| async move {
                let id = vars.get("id").cloned().unwrap_or_default();
                let text = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string();
                Ok(vec![ResourceContents::text(uri, Some("application/json"), text)])
            },
        ))
        .prompt(PromptDef::new(
            prompt("test_simple_prompt", "A simple prompt without arguments", &[]),
            |_, _| async move { Ok(messages(vec![user(ContentBlock::text("This is a simple prompt for testing."))])) },
        ))
        .prompt(PromptDef::new(
            prompt("test_prompt_with_arguments", "A prompt with two arguments", &[("arg1", "First argument", true), ("arg2", "Second argument", true)]),
            |args: Map<String, Value>, _| async move {
                let g = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(messages(vec![user(ContentBlock::text(format!("Prompt with arguments: arg1='{}', arg2='{}'", g("arg1"), g("arg2"))))]))
            },
        ))
        .prompt(PromptDef::new(
            prompt("test_prompt_with_embedded_resource", "A prompt that embeds a resource", &[("resourceUri", "URI of the resource to embed", true)]),
            |args: Map<String, Value>, _| async move {
                let uri = args.get("resourceUri").and_then(Value::as_str).unwrap_or_default().to_owned();
                Ok(messages(vec![
                    user(ContentBlock::Resource(EmbeddedResource {
                        resource: ResourceContents::text(uri, Some("text/plain"), "Embedded resource content for testing."),
                        annotations: None,
                        meta: None,
                    })),
                    user(ContentBlock::text("Please process the embedded resource above.")),
                ]))
            },
        ))
        .prompt(PromptDef::new(
            prompt("test_prompt_with_image", "A prompt with an image", &[]),
            |_, _| async move {
                Ok(messages(vec![
                    user(ContentBlock::image(IMG, "image/png")),
                    user(ContentBlock::text("Please analyze the image above.")),
                ]))
            },
        ))
        .prompt(PromptDef::new(
            prompt("test_input_required_result_prompt", "A prompt that asks the user for context first", &[]),
            |_, ctx: RequestContext| async move {
                let r = ctx.elicit_keyed(Some("user_context"), form("What context should the prompt use?", json!({"type":"object","properties":{"context":{"type":"string"}},"required":["context"]}))).await?;
                let c = r.content.as_ref().and_then(|c| c.get("context")).and_then(Value::as_str).unwrap_or("none").to_owned();
                Ok(messages(vec![user(ContentBlock::text(format!("Context: {c}")))]))
            },
        ))
        .completion(|p: CompleteParams, _| async move {
            let pool = ["test", "testValue1", "testValue2", "tested"];
            let values: Vec<String> = pool.iter().filter(|v| v.starts_with(&p.argument.value)).map(|v| (*v).to_owned()).collect();
            Ok(Completion { total: Some(values.len() as u64), has_more: Some(false), values })
        })
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let slot = Arc::new(OnceLock::new());
    let server = build(slot.clone());
    let _ = slot.set(server.clone());
    if args.stdio {
        switchyard_server::stdio::serve_stdio(server).await?;
        return Ok(());
    }
    let svc = McpService::new(server.clone(), HttpConfig::default());
    let mut app = axum::Router::new().route_service("/mcp", svc.clone());
    if args.legacy_sse {
        app = app.merge(switchyard_server::legacy_sse::router(
            server,
            switchyard_server::http::OriginPolicy::default(),
            "/sse",
            "/messages",
        ));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    eprintln!(
        "conformance server on http://{}/mcp",
        listener.local_addr()?
    );
    let shutdown = async move {
        let _ = tokio::signal::ctrl_c().await;
        svc.shutdown();
    };
    switchyard_server::serve(listener, app, shutdown).await?;
    Ok(())
}
