//! A minimal HTTP API over a [`ServerHandle`] (axum): list the registered clients and read,
//! write, execute and delete on them. The JSON shapes are in the crate README.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use lwm2m_model::content::{self, ContentFormat};
use lwm2m_model::Path;
use serde_json::{json, Value as JsonValue};

use crate::registration::Registration;
use crate::server::{DmError, ServerHandle, WriteMode};

/// The API's routes, to serve with `axum::serve`.
///
/// | route | does |
/// |---|---|
/// | `GET /api/clients` | the registrations |
/// | `GET /api/clients/{ep}` | one registration |
/// | `GET /api/clients/{ep}/{*path}` | Read; the body is the node in LwM2M JSON |
/// | `PUT /api/clients/{ep}/{*path}` | Write (replace) the LwM2M JSON body |
/// | `POST /api/clients/{ep}/{*path}` | Execute with the body as arguments |
/// | `DELETE /api/clients/{ep}/{*path}` | Delete the instance |
pub fn router(handle: ServerHandle) -> Router {
    Router::new()
        .route("/api/clients", get(list))
        .route("/api/clients/{ep}", get(one))
        .route(
            "/api/clients/{ep}/{*path}",
            get(read).put(write).post(execute).delete(delete),
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
        "objects": registration.object_links().to_string(),
        "registered_at_ms": registration.registered_at().as_unix_millis(),
        "last_update_ms": registration.last_update().as_unix_millis(),
        "expires_at_ms": registration.expires_at().as_unix_millis(),
    })
}

async fn list(State(handle): State<ServerHandle>) -> Json<JsonValue> {
    let mut clients = handle.clients();
    clients.sort_by(|a, b| a.endpoint().cmp(b.endpoint()));
    Json(JsonValue::Array(
        clients.iter().map(registration_json).collect(),
    ))
}

async fn one(State(handle): State<ServerHandle>, UrlPath(ep): UrlPath<String>) -> Response {
    match handle.client(&ep) {
        Some(registration) => Json(registration_json(&registration)).into_response(),
        None => error(&DmError::UnknownEndpoint(ep)),
    }
}

fn parse_path(text: &str) -> Result<Path, DmError> {
    let mut full = String::from("/");
    let _ = write!(full, "{}", text.trim_matches('/'));
    Path::parse(&full).map_err(|e| DmError::InvalidRequest(format!("invalid path {full:?}: {e}")))
}

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
        DmError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    }
}

fn error(error: &DmError) -> Response {
    (status(error), Json(json!({ "error": error.to_string() }))).into_response()
}

async fn read(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
) -> Response {
    let path = match parse_path(&path) {
        Ok(path) => path,
        Err(e) => return error(&e),
    };
    let content = match handle.read(&ep, path, None).await {
        Ok(content) => content,
        Err(e) => return error(&e),
    };
    match content::encode(ContentFormat::Json, &path, &content.node, handle.registry()) {
        Ok(body) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": format!("cannot encode the node as JSON: {e}") })),
        )
            .into_response(),
    }
}

async fn write(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let path = match parse_path(&path) {
        Ok(path) => path,
        Err(e) => return error(&e),
    };
    let node = match content::decode(ContentFormat::Json, &path, &body, handle.registry()) {
        Ok(content) => content.node,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": format!("the body is not LwM2M JSON for {path}: {e}") })),
            )
                .into_response()
        }
    };
    match handle
        .write(&ep, path, &node, WriteMode::Replace, None)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}

async fn execute(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let path = match parse_path(&path) {
        Ok(path) => path,
        Err(e) => return error(&e),
    };
    let Ok(arguments) = std::str::from_utf8(&body) else {
        return error(&DmError::InvalidRequest(
            "execute arguments are not UTF-8".into(),
        ));
    };
    match handle.execute(&ep, path, arguments).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}

async fn delete(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
) -> Response {
    let path = match parse_path(&path) {
        Ok(path) => path,
        Err(e) => return error(&e),
    };
    match handle.delete(&ep, path).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}
