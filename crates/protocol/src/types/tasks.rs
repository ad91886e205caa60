use serde::{Deserialize, Serialize};

/// State of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for input.
    InputRequired,
    /// Finished with a result.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl TaskStatus {
    /// Whether no further change can happen.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A task (2025-11-25 tasks; the 2026-07-28 tasks extension uses the same core fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Id.
    #[serde(rename = "taskId")]
    pub task_id: String,
    /// Status.
    pub status: TaskStatus,
    /// Status message.
    #[serde(
        rename = "statusMessage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_message: Option<String>,
    /// ISO 8601 creation time.
    #[serde(rename = "createdAt")]
    pub created_at: String,
    /// ISO 8601 time of the last update.
    #[serde(rename = "lastUpdatedAt")]
    pub last_updated_at: String,
    /// Time to live in ms (null: unlimited).
    pub ttl: Option<u64>,
    /// Suggested poll interval in ms.
    #[serde(
        rename = "pollInterval",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub poll_interval: Option<u64>,
}
