//! 2026-07-28 `subscriptions/listen`, independent of transport: which changes a subscription
//! receives, its acknowledgement, and the notifications it gets.

use serde_json::{json, Map, Value};
use switchyard_protocol::jsonrpc::{self, RequestId};
use switchyard_protocol::meta;
use switchyard_protocol::types::{methods, ListChangedCapability, SubscriptionFilter};

use crate::{Server, ServerEvent};

/// One active subscription.
pub(crate) struct Subscription {
    pub(crate) id: RequestId,
    filter: SubscriptionFilter,
}

impl Subscription {
    /// Narrows what the client asked for to what this server can send.
    pub(crate) fn new(server: &Server, id: RequestId, mut f: SubscriptionFilter) -> Self {
        let caps = server.capabilities();
        let lc = |c: &Option<ListChangedCapability>| {
            c.as_ref().and_then(|c| c.list_changed).unwrap_or(false)
        };
        f.tools_list_changed = f.tools_list_changed.filter(|&b| b && lc(&caps.tools));
        f.prompts_list_changed = f.prompts_list_changed.filter(|&b| b && lc(&caps.prompts));
        let res = caps.resources.clone().unwrap_or_default();
        f.resources_list_changed = f
            .resources_list_changed
            .filter(|&b| b && res.list_changed.unwrap_or(false));
        if !res.subscribe.unwrap_or(false) {
            f.resource_subscriptions = None;
        }
        f.extra.clear();
        Self { id, filter: f }
    }

    /// The `notifications/subscriptions/acknowledged` message: what will actually be sent.
    pub(crate) fn ack(&self) -> Vec<u8> {
        let ack = json!({
            "notifications": self.filter,
            "_meta": { meta::SUBSCRIPTION_ID: self.id },
        });
        let mut out = Vec::with_capacity(128);
        let _ = jsonrpc::write_notification(
            &mut out,
            methods::NOTIFICATION_SUBSCRIPTIONS_ACKNOWLEDGED,
            Some(&ack),
        );
        out
    }

    /// The notification for `e`, tagged with this subscription, if it asked for it.
    pub(crate) fn notification_for(&self, e: &ServerEvent) -> Option<Vec<u8>> {
        let f = &self.filter;
        let wanted = match e {
            ServerEvent::ToolsListChanged => f.tools_list_changed == Some(true),
            ServerEvent::PromptsListChanged => f.prompts_list_changed == Some(true),
            ServerEvent::ResourcesListChanged => f.resources_list_changed == Some(true),
            ServerEvent::ResourceUpdated(u) => f
                .resource_subscriptions
                .as_ref()
                .is_some_and(|s| s.contains(u)),
            // Delivered only where the stream's audience is known (see `http::stream::listen`).
            ServerEvent::Targeted(..) => false,
        };
        wanted
            .then(|| event_notification(e, Some(&self.id)))
            .flatten()
    }
}

/// The notification announcing `e`; tagged with `sub_id` in the 2026-07-28 era.
pub(crate) fn event_notification(e: &ServerEvent, sub_id: Option<&RequestId>) -> Option<Vec<u8>> {
    let (method, uri) = match e {
        ServerEvent::ToolsListChanged => (methods::NOTIFICATION_TOOLS_LIST_CHANGED, None),
        ServerEvent::PromptsListChanged => (methods::NOTIFICATION_PROMPTS_LIST_CHANGED, None),
        ServerEvent::ResourcesListChanged => (methods::NOTIFICATION_RESOURCES_LIST_CHANGED, None),
        ServerEvent::ResourceUpdated(u) => {
            (methods::NOTIFICATION_RESOURCES_UPDATED, Some(u.as_str()))
        }
        ServerEvent::Targeted(..) => return None,
    };
    let mut params = Map::new();
    if let Some(u) = uri {
        params.insert("uri".into(), Value::String(u.to_owned()));
    }
    if let Some(id) = sub_id {
        params.insert("_meta".into(), json!({ meta::SUBSCRIPTION_ID: id }));
    }
    let mut out = Vec::with_capacity(96);
    let p = (!params.is_empty()).then_some(Value::Object(params));
    jsonrpc::write_notification(&mut out, method, p.as_ref()).ok()?;
    Some(out)
}
