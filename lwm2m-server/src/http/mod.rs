//! The HTTP API over a [`ServerHandle`] (axum, JSON in and out): the registered clients, every
//! device-management operation, observe and cancel, a server-sent event stream, credential and
//! bootstrap-configuration management. The table of routes and JSON shapes is in the crate
//! README.

mod admin;
mod dm;
mod events;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lwm2m_model::content::{self, ContentFormat};
use lwm2m_model::{Node, Path, Registry};
use serde_json::{json, Value as JsonValue};

use crate::registration::Registration;
use crate::server::{DmError, ServerHandle};
use crate::store::StoreError;

/// The API's routes, to serve with `axum::serve`.
///
/// | route | does |
/// |---|---|
/// | `GET /api/clients` | the registrations |
/// | `GET /api/clients/{ep}` | one registration |
/// | `GET /api/clients/{ep}/{path}` | Read (`?format=tlv\|json\|text\|opaque`); the node in LwM2M JSON |
/// | `GET /api/clients/{ep}/{path}/discover` | Discover |
/// | `PUT /api/clients/{ep}/{path}` | Write (replace) the LwM2M JSON body |
/// | `PUT /api/clients/{ep}/{path}/attributes?pmin=&pmax=&gt=&lt=&st=` | Write-Attributes |
/// | `POST /api/clients/{ep}/{object}` | Create the instance in the LwM2M JSON body |
/// | `POST /api/clients/{ep}/{object}/{instance}` | Write (partial update) |
/// | `POST /api/clients/{ep}/{object}/{instance}/{resource}` | Execute with the body as arguments |
/// | `DELETE /api/clients/{ep}/{object}/{instance}` | Delete |
/// | `POST /api/clients/{ep}/{path}/observe` | Observe; notifications go to `/api/events` |
/// | `DELETE /api/clients/{ep}/{path}/observe` | Cancel the observation |
/// | `GET /api/events` | server-sent events: registrations, notifications, queued requests |
/// | `GET/PUT/DELETE /api/credentials/{ep}` | an endpoint's security information |
/// | `GET/PUT/DELETE /api/bootstrap/{ep}` | an endpoint's bootstrap configuration |
/// | `GET/PUT/DELETE /api/bootstrap` | the default bootstrap configuration |
pub fn router(handle: ServerHandle) -> Router {
    Router::new()
        .route("/api/clients", get(dm::list))
        .route("/api/clients/{ep}", get(dm::one))
        .route(
            "/api/clients/{ep}/{*path}",
            get(dm::get).put(dm::put).post(dm::post).delete(dm::delete),
        )
        .route("/api/events", get(events::stream))
        .route(
            "/api/credentials/{ep}",
            get(admin::get_credential)
                .put(admin::put_credential)
                .delete(admin::delete_credential),
        )
        .route(
            "/api/bootstrap",
            get(admin::get_default_bootstrap)
                .put(admin::put_default_bootstrap)
                .delete(admin::delete_default_bootstrap),
        )
        .route(
            "/api/bootstrap/{ep}",
            get(admin::get_bootstrap)
                .put(admin::put_bootstrap)
                .delete(admin::delete_bootstrap),
        )
        .with_state(handle)
}

/// The JSON form of a registration.
pub fn registration_json(registration: &Registration) -> JsonValue {
    json!({
        "endpoint": registration.endpoint(),
        "id": registration.id().as_str(),
        "address": registration.peer().to_string(),
        "lifetime": registration.lifetime(),
        "binding": registration.binding().to_string(),
        "objects": registration.object_links().to_string(),
        "registered_at_ms": registration.registered_at().as_unix_millis(),
        "last_update_ms": registration.last_update().as_unix_millis(),
        "expires_at_ms": registration.expires_at().as_unix_millis(),
    })
}

/// The HTTP status of a device-management error.
fn status(error: &DmError) -> StatusCode {
    match error {
        DmError::UnknownEndpoint(_) | DmError::NotFound(_) => StatusCode::NOT_FOUND,
        DmError::InvalidPath { .. } | DmError::InvalidRequest(_) | DmError::BadRequest(_) => {
            StatusCode::BAD_REQUEST
        }
        DmError::Unauthorized(_) => StatusCode::FORBIDDEN,
        DmError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        DmError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
        DmError::UnsupportedContentFormat(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        DmError::Timeout { .. } | DmError::QueueExpired { .. } => StatusCode::GATEWAY_TIMEOUT,
        DmError::QueueFull { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    }
}

/// `{"error": "..."}` with `status`.
fn failure(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn dm_error(error: &DmError) -> Response {
    failure(status(error), error.to_string())
}

fn store_error(error: &StoreError) -> Response {
    let status = match error {
        StoreError::Conflict(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    failure(status, error.to_string())
}

/// `node` at `path` as LwM2M JSON (a `serde_json` value).
fn node_json(registry: &Registry, path: &Path, node: &Node) -> Result<JsonValue, String> {
    let bytes = content::encode(ContentFormat::Json, path, node, registry)
        .map_err(|e| format!("cannot encode the node at {path} as JSON: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the LwM2M JSON at {path}: {e}"))
}

/// Decodes LwM2M JSON (`{"bn":...,"e":[...]}`) for `path`.
fn json_node(registry: &Registry, path: &Path, body: &[u8]) -> Result<Node, String> {
    content::decode(ContentFormat::Json, path, body, registry)
        .map(|content| content.node)
        .map_err(|e| format!("not LwM2M JSON for {path}: {e}"))
}

/// A path from the URL (`3/0/9`, without the leading slash).
fn parse_path(text: &str) -> Result<Path, DmError> {
    let full = format!("/{}", text.trim_matches('/'));
    Path::parse(&full).map_err(|e| DmError::InvalidRequest(format!("invalid path {full:?}: {e}")))
}
