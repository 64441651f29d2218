//! `GET /api/events`: the server's events as server-sent events.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::StreamExt;
use serde_json::{json, Value as JsonValue};

use super::{node_json, registration_json};
use crate::registration::RegistrationEvent;
use crate::server::{ServerEvent, ServerHandle};

/// The SSE event name and JSON data of a server event.
pub(super) fn sse_fields(handle: &ServerHandle, event: &ServerEvent) -> (&'static str, JsonValue) {
    match event {
        ServerEvent::Registration(change) => {
            let name = match change {
                RegistrationEvent::Registered { .. } => "registered",
                RegistrationEvent::Updated { .. } => "updated",
                RegistrationEvent::Deregistered { .. } => "deregistered",
                RegistrationEvent::Expired { .. } => "expired",
            };
            (name, registration_json(change.registration()))
        }
        ServerEvent::WokeUp { endpoint } => ("wokeup", json!({ "endpoint": &**endpoint })),
        ServerEvent::QueuedRequest {
            endpoint,
            request,
            operation,
            path,
            status,
        } => (
            "request",
            json!({
                "endpoint": &**endpoint,
                "request": request,
                "operation": operation,
                "path": path.to_string(),
                "status": status.as_str(),
            }),
        ),
        ServerEvent::Notification {
            endpoint,
            path,
            content,
        } => {
            let value = node_json(handle.registry(), path, &content.node)
                .unwrap_or_else(|error| json!({ "error": error }));
            (
                "notification",
                json!({ "endpoint": &**endpoint, "path": path.to_string(), "value": value }),
            )
        }
    }
}

pub(super) async fn stream(
    State(handle): State<ServerHandle>,
) -> Sse<impl futures_core::Stream<Item = Result<Event, Infallible>>> {
    let events = handle.event_stream().map(move |event| {
        let (name, data) = sse_fields(&handle, &event);
        Ok(Event::default().event(name).data(data.to_string()))
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
