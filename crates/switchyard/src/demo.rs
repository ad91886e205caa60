//! The built-in demo server: a few real tools so a newcomer sees a working endpoint at once.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use switchyard_server::protocol::types::{
    ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, Resource, ResultFields,
    Role, ToolAnnotations,
};
use switchyard_server::{Json, NoArgs, PromptDef, RequestContext, ResourceDef, Server, ToolDef};

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to send back.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First addend.
    a: f64,
    /// Second addend.
    b: f64,
}

#[derive(Serialize, JsonSchema)]
struct Sum {
    /// a + b.
    sum: f64,
}

#[derive(Deserialize, JsonSchema)]
struct CountArgs {
    /// How many steps to count (at most 100).
    steps: u32,
}

fn read_only() -> ToolAnnotations {
    ToolAnnotations {
        read_only_hint: Some(true),
        open_world_hint: Some(false),
        ..ToolAnnotations::default()
    }
}

/// Builds the demo server.
pub(crate) fn server() -> Server {
    Server::builder("switchyard-demo", env!("CARGO_PKG_VERSION"))
        .instructions("A demo server built into Switchyard: echo, add, the time, and a counter that reports progress.")
        .tool(
            ToolDef::new("echo", "Returns the text it is given", |a: EchoArgs, _| async move { a.text })
                .annotations(read_only()),
        )
        .tool(
            ToolDef::new("add", "Adds two numbers and returns the sum as structured output", |a: AddArgs, _| async move {
                Json(Sum { sum: a.a + a.b })
            })
            .annotations(read_only()),
        )
        .tool(
            ToolDef::new("current_time", "Returns the current time as seconds since the Unix epoch", |_: NoArgs, _| async move {
                let s = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
                format!("{s}")
            })
            .annotations(read_only()),
        )
        .tool(ToolDef::new(
            "count",
            "Counts to N, reporting progress at each step (10 ms apart)",
            |a: CountArgs, ctx: RequestContext| async move {
                let n = a.steps.min(100);
                for i in 1..=n {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    ctx.progress(f64::from(i), Some(f64::from(n)), None);
                }
                format!("counted to {n}")
            },
        ))
        .resource(ResourceDef::text(
            Resource {
                uri: "switchyard://demo/readme".into(),
                name: "readme".into(),
                description: Some("What this demo server offers".into()),
                mime_type: Some("text/markdown".into()),
                ..Resource::default()
            },
            "# Switchyard demo\n\nTools: `echo`, `add`, `current_time`, `count`.\n",
        ))
        .prompt(PromptDef::new(
            Prompt {
                name: "summarize".into(),
                description: Some("Asks the model to summarise a text".into()),
                arguments: Some(vec![PromptArgument {
                    name: "text".into(),
                    description: Some("The text to summarise".into()),
                    required: Some(true),
                    title: None,
                }]),
                ..Prompt::default()
            },
            |args, _| async move {
                let text = args.get("text").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                Ok(GetPromptResult {
                    description: None,
                    messages: vec![PromptMessage {
                        role: Role::User,
                        content: ContentBlock::text(format!("Summarise this in three sentences:\n\n{text}")),
                    }],
                    fields: ResultFields::default(),
                })
            },
        ))
        .build()
}
