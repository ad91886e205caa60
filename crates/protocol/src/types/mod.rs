//! MCP messages of 2025-11-25 and 2026-07-28 as serde types.
//!
//! Each entity keeps unknown members in `extra`, so nothing a newer peer sends is lost when a
//! value is read and written back. Fields that differ by era are optional here; which ones a
//! message carries is the sender's choice per era (see the server and client crates).

mod common;
mod content;
mod lifecycle;
mod prompts;
mod requests;
mod resources;
mod s2c;
mod tasks;
mod tools;

pub use common::*;
pub use content::*;
pub use lifecycle::*;
pub use prompts::*;
pub use requests::*;
pub use resources::*;
pub use s2c::*;
pub use tasks::*;
pub use tools::*;

/// Method names, in one place.
pub mod methods {
    /// `initialize` (legacy).
    pub const INITIALIZE: &str = "initialize";
    /// `notifications/initialized` (legacy).
    pub const INITIALIZED: &str = "notifications/initialized";
    /// `ping` (legacy).
    pub const PING: &str = "ping";
    /// `server/discover` (2026-07-28).
    pub const DISCOVER: &str = "server/discover";
    /// `tools/list`.
    pub const TOOLS_LIST: &str = "tools/list";
    /// `tools/call`.
    pub const TOOLS_CALL: &str = "tools/call";
    /// `resources/list`.
    pub const RESOURCES_LIST: &str = "resources/list";
    /// `resources/templates/list`.
    pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
    /// `resources/read`.
    pub const RESOURCES_READ: &str = "resources/read";
    /// `resources/subscribe` (legacy).
    pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
    /// `resources/unsubscribe` (legacy).
    pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
    /// `prompts/list`.
    pub const PROMPTS_LIST: &str = "prompts/list";
    /// `prompts/get`.
    pub const PROMPTS_GET: &str = "prompts/get";
    /// `completion/complete`.
    pub const COMPLETION_COMPLETE: &str = "completion/complete";
    /// `logging/setLevel` (legacy).
    pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
    /// `subscriptions/listen` (2026-07-28).
    pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";
    /// `sampling/createMessage`.
    pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
    /// `elicitation/create`.
    pub const ELICITATION_CREATE: &str = "elicitation/create";
    /// `roots/list`.
    pub const ROOTS_LIST: &str = "roots/list";
    /// `tasks/get`.
    pub const TASKS_GET: &str = "tasks/get";
    /// `tasks/result` (2025-11-25).
    pub const TASKS_RESULT: &str = "tasks/result";
    /// `tasks/list` (2025-11-25).
    pub const TASKS_LIST: &str = "tasks/list";
    /// `tasks/cancel`.
    pub const TASKS_CANCEL: &str = "tasks/cancel";
    /// `tasks/update` (tasks extension, 2026-07-28).
    pub const TASKS_UPDATE: &str = "tasks/update";
    /// `notifications/cancelled`.
    pub const NOTIFICATION_CANCELLED: &str = "notifications/cancelled";
    /// `notifications/progress`.
    pub const NOTIFICATION_PROGRESS: &str = "notifications/progress";
    /// `notifications/message`.
    pub const NOTIFICATION_MESSAGE: &str = "notifications/message";
    /// `notifications/tools/list_changed`.
    pub const NOTIFICATION_TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
    /// `notifications/prompts/list_changed`.
    pub const NOTIFICATION_PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
    /// `notifications/resources/list_changed`.
    pub const NOTIFICATION_RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
    /// `notifications/resources/updated`.
    pub const NOTIFICATION_RESOURCES_UPDATED: &str = "notifications/resources/updated";
    /// `notifications/roots/list_changed` (legacy).
    pub const NOTIFICATION_ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
    /// `notifications/elicitation/complete` (2025-11-25).
    pub const NOTIFICATION_ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
    /// `notifications/subscriptions/acknowledged` (2026-07-28).
    pub const NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED: &str =
        "notifications/subscriptions/acknowledged";
    /// `notifications/tasks/status` (2025-11-25).
    pub const NOTIFICATION_TASKS_STATUS: &str = "notifications/tasks/status";
}
