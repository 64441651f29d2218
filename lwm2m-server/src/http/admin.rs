//! Credential and bootstrap-configuration management: `/api/credentials/{ep}`,
//! `/api/bootstrap/{ep}` and `/api/bootstrap` (the default configuration).

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use lwm2m_model::{Path, Registry};
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};

use super::{failure, json_node, node_json, store_error};
use crate::server::ServerHandle;
use crate::store::{BootstrapConfig, Credential, SecurityInfo, DEFAULT_BOOTSTRAP_CONFIG};

/// The body of `PUT /api/credentials/{ep}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
enum CredentialBody {
    /// No security: the endpoint's security information is removed.
    Nosec,
    /// A PSK identity and its key in hex.
    Psk { identity: String, key: String },
    /// A raw public key (`SubjectPublicKeyInfo` DER) in hex.
    Rpk { public_key: String },
    /// A certificate whose subject CN is the endpoint name.
    X509,
}

/// The JSON form of security information; keys are never returned, only their length.
fn credential_json(info: &SecurityInfo) -> JsonValue {
    match &info.credential {
        Credential::Psk { identity, key } => json!({
            "endpoint": info.endpoint, "mode": "psk", "identity": identity, "key_length": key.len(),
        }),
        Credential::RawPublicKey { public_key } => json!({
            "endpoint": info.endpoint, "mode": "rpk", "public_key": hex::encode(public_key),
        }),
        Credential::X509 => json!({ "endpoint": info.endpoint, "mode": "x509" }),
    }
}

fn not_found(what: &str) -> Response {
    failure(StatusCode::NOT_FOUND, format!("no {what}"))
}

pub(super) async fn get_credential(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
) -> Response {
    match handle.credential(&ep) {
        Ok(Some(info)) => Json(credential_json(&info)).into_response(),
        Ok(None) => not_found(&format!("credentials for {ep:?} (NoSec)")),
        Err(e) => store_error(&e),
    }
}

pub(super) async fn put_credential(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
    body: Bytes,
) -> Response {
    let body: CredentialBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => return failure(StatusCode::BAD_REQUEST, format!("credentials: {e}")),
    };
    let bad_hex = |field: &str, e: hex::FromHexError| {
        failure(
            StatusCode::BAD_REQUEST,
            format!("credentials: {field} is not hex: {e}"),
        )
    };
    let credential = match body {
        CredentialBody::Nosec => {
            return match handle.remove_credential(&ep) {
                Ok(_) => StatusCode::NO_CONTENT.into_response(),
                Err(e) => store_error(&e),
            }
        }
        CredentialBody::Psk { identity, key } => {
            let key = match hex::decode(key) {
                Ok(key) => key,
                Err(e) => return bad_hex("key", e),
            };
            if identity.is_empty() || key.is_empty() {
                return failure(
                    StatusCode::BAD_REQUEST,
                    "credentials: a PSK identity and key must not be empty",
                );
            }
            Credential::Psk { identity, key }
        }
        CredentialBody::Rpk { public_key } => match hex::decode(public_key) {
            Ok(public_key) => Credential::RawPublicKey { public_key },
            Err(e) => return bad_hex("public_key", e),
        },
        CredentialBody::X509 => Credential::X509,
    };
    let info = SecurityInfo {
        endpoint: ep,
        credential,
    };
    match handle.put_credential(info) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_error(&e),
    }
}

pub(super) async fn delete_credential(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
) -> Response {
    match handle.remove_credential(&ep) {
        Ok(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => not_found(&format!("credentials for {ep:?}")),
        Err(e) => store_error(&e),
    }
}

/// One write of a bootstrap configuration in the API's JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteBody {
    path: String,
    /// LwM2M JSON of the node at `path`.
    value: JsonValue,
}

/// The body of `PUT /api/bootstrap/{ep}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BootstrapBody {
    #[serde(default)]
    delete: Vec<String>,
    #[serde(default)]
    writes: Vec<WriteBody>,
}

fn parse_config(registry: &Registry, body: &[u8]) -> Result<BootstrapConfig, String> {
    let body: BootstrapBody =
        serde_json::from_slice(body).map_err(|e| format!("bootstrap configuration: {e}"))?;
    let path = |text: &str| Path::parse(text).map_err(|e| format!("path {text:?}: {e}"));
    let delete = body
        .delete
        .iter()
        .map(|p| path(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut writes = Vec::with_capacity(body.writes.len());
    for write in body.writes {
        let target = path(&write.path)?;
        let bytes = serde_json::to_vec(&write.value).map_err(|e| e.to_string())?;
        writes.push((target, json_node(registry, &target, &bytes)?));
    }
    Ok(BootstrapConfig { delete, writes })
}

fn config_json(registry: &Registry, config: &BootstrapConfig) -> Result<JsonValue, String> {
    let writes = config
        .writes
        .iter()
        .map(|(path, node)| {
            Ok(json!({ "path": path.to_string(), "value": node_json(registry, path, node)? }))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let delete: Vec<String> = config.delete.iter().map(ToString::to_string).collect();
    Ok(json!({ "delete": delete, "writes": writes }))
}

fn get_config(handle: &ServerHandle, key: &str) -> Response {
    match handle.bootstrap_config(key) {
        Ok(Some(config)) => match config_json(handle.registry(), &config) {
            Ok(value) => Json(value).into_response(),
            Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        Ok(None) => not_found("bootstrap configuration"),
        Err(e) => store_error(&e),
    }
}

fn put_config(handle: &ServerHandle, key: &str, body: &[u8]) -> Response {
    let config = match parse_config(handle.registry(), body) {
        Ok(config) => config,
        Err(e) => return failure(StatusCode::BAD_REQUEST, e),
    };
    match handle.put_bootstrap_config(key, config) {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_error(&e),
    }
}

fn delete_config(handle: &ServerHandle, key: &str) -> Response {
    match handle.remove_bootstrap_config(key) {
        Ok(Some(_)) => StatusCode::NO_CONTENT.into_response(),
        Ok(None) => not_found("bootstrap configuration"),
        Err(e) => store_error(&e),
    }
}

pub(super) async fn get_bootstrap(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
) -> Response {
    get_config(&handle, &ep)
}

pub(super) async fn put_bootstrap(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
    body: Bytes,
) -> Response {
    put_config(&handle, &ep, &body)
}

pub(super) async fn delete_bootstrap(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
) -> Response {
    delete_config(&handle, &ep)
}

pub(super) async fn get_default_bootstrap(State(handle): State<ServerHandle>) -> Response {
    get_config(&handle, DEFAULT_BOOTSTRAP_CONFIG)
}

pub(super) async fn put_default_bootstrap(
    State(handle): State<ServerHandle>,
    body: Bytes,
) -> Response {
    put_config(&handle, DEFAULT_BOOTSTRAP_CONFIG, &body)
}

pub(super) async fn delete_default_bootstrap(State(handle): State<ServerHandle>) -> Response {
    delete_config(&handle, DEFAULT_BOOTSTRAP_CONFIG)
}
