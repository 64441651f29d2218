//! Device management over HTTP: `/api/clients/...`.

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use lwm2m_model::content::ContentFormat;
use lwm2m_model::{AttributeUpdate, Level, Node, Path};
use serde_json::{json, Map, Value as JsonValue};

use super::{dm_error, failure, json_node, node_json, parse_path, registration_json};
use crate::server::{DmError, ServerHandle, WriteMode};

/// What a URL under `/api/clients/{ep}/` names: a path, and which sub-resource of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// The node itself.
    Node(Path),
    /// `.../observe`.
    Observe(Path),
    /// `.../discover`.
    Discover(Path),
    /// `.../attributes`.
    Attributes(Path),
}

impl Target {
    fn parse(text: &str) -> Result<Target, DmError> {
        let text = text.trim_end_matches('/');
        let (rest, last) = text.rsplit_once('/').unwrap_or(("", text));
        Ok(match last {
            "observe" => Target::Observe(parse_path(rest)?),
            "discover" => Target::Discover(parse_path(rest)?),
            "attributes" => Target::Attributes(parse_path(rest)?),
            _ => Target::Node(parse_path(text)?),
        })
    }
}

/// The `format` query parameter (`tlv`, `json`, `text`, `opaque`), if any.
fn requested_format(query: Option<&str>) -> Result<Option<ContentFormat>, DmError> {
    let Some(value) = query_items(query).find_map(|(k, v)| (k == "format").then_some(v)) else {
        return Ok(None);
    };
    match value {
        "tlv" => Ok(Some(ContentFormat::Tlv)),
        "json" => Ok(Some(ContentFormat::Json)),
        "text" => Ok(Some(ContentFormat::Text)),
        "opaque" => Ok(Some(ContentFormat::Opaque)),
        other => Err(DmError::InvalidRequest(format!(
            "unknown format {other:?} (tlv, json, text or opaque)"
        ))),
    }
}

fn query_items(query: Option<&str>) -> impl Iterator<Item = (&str, &str)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|item| !item.is_empty())
        .map(|item| item.split_once('=').unwrap_or((item, "")))
}

pub(super) async fn list(State(handle): State<ServerHandle>) -> Json<JsonValue> {
    let mut clients = handle.clients();
    clients.sort_by(|a, b| a.endpoint().cmp(b.endpoint()));
    Json(JsonValue::Array(
        clients.iter().map(registration_json).collect(),
    ))
}

pub(super) async fn one(
    State(handle): State<ServerHandle>,
    UrlPath(ep): UrlPath<String>,
) -> Response {
    match handle.client(&ep) {
        Some(registration) => Json(registration_json(&registration)).into_response(),
        None => dm_error(&DmError::UnknownEndpoint(ep)),
    }
}

fn json_response(handle: &ServerHandle, path: &Path, node: &Node) -> Response {
    match node_json(handle.registry(), path, node) {
        Ok(value) => Json(value).into_response(),
        Err(message) => failure(StatusCode::BAD_GATEWAY, message),
    }
}

/// `GET`: Read or Discover.
pub(super) async fn get(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        match Target::parse(&path)? {
            Target::Node(path) => {
                let format = requested_format(query.as_deref())?;
                let content = handle.read(&ep, path, format).await?;
                Ok(json_response(&handle, &path, &content.node))
            }
            Target::Discover(path) => {
                let links = handle.discover(&ep, path).await?;
                let links: Vec<JsonValue> = links
                    .into_iter()
                    .map(|link| {
                        let attributes: Map<String, JsonValue> = link
                            .attributes
                            .into_iter()
                            .map(|(name, value)| {
                                (name, value.map_or(JsonValue::Null, JsonValue::from))
                            })
                            .collect();
                        json!({ "path": link.path.to_string(), "attributes": attributes })
                    })
                    .collect();
                Ok(Json(JsonValue::Array(links)).into_response())
            }
            Target::Observe(_) | Target::Attributes(_) => Err(DmError::InvalidRequest(
                "use POST for observe, PUT for attributes".into(),
            )),
        }
    };
    result.await.unwrap_or_else(|e: DmError| dm_error(&e))
}

/// `PUT`: Write (replace) or Write-Attributes.
pub(super) async fn put(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let result = async {
        match Target::parse(&path)? {
            Target::Node(path) => {
                let node =
                    json_node(handle.registry(), &path, &body).map_err(DmError::InvalidRequest)?;
                handle
                    .write(&ep, path, &node, WriteMode::Replace, None)
                    .await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Target::Attributes(path) => {
                let items = query_items(query.as_deref()).map(|(k, v)| {
                    if v.is_empty() {
                        k.to_owned()
                    } else {
                        format!("{k}={v}")
                    }
                });
                let attributes = AttributeUpdate::parse(items)
                    .map_err(|e| DmError::InvalidRequest(format!("attributes: {e}")))?;
                handle.write_attributes(&ep, path, &attributes).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Target::Observe(_) | Target::Discover(_) => Err(DmError::InvalidRequest(
                "use POST for observe, GET for discover".into(),
            )),
        }
    };
    result.await.unwrap_or_else(|e: DmError| dm_error(&e))
}

/// `POST`: Create (on an object), Write-update (on an instance), Execute (on a resource),
/// Observe (`.../observe`).
pub(super) async fn post(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
    body: Bytes,
) -> Response {
    let result = async {
        match Target::parse(&path)? {
            Target::Node(path) => match path.level() {
                Level::Object => create(&handle, &ep, path, &body).await,
                Level::ObjectInstance => {
                    let node = json_node(handle.registry(), &path, &body)
                        .map_err(DmError::InvalidRequest)?;
                    handle
                        .write(&ep, path, &node, WriteMode::Update, None)
                        .await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => {
                    let arguments = std::str::from_utf8(&body).map_err(|_| {
                        DmError::InvalidRequest("execute arguments are not UTF-8".into())
                    })?;
                    handle.execute(&ep, path, arguments).await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
            },
            Target::Observe(path) => {
                let mut observation = handle.observe(&ep, path, None).await?;
                let initial = json_response(&handle, &path, &observation.initial().node);
                // The stream must live for the observation to (dropping it cancels); its
                // notifications reach HTTP clients through `/api/events`.
                tokio::spawn(async move { while observation.next().await.is_some() {} });
                Ok(initial)
            }
            Target::Discover(_) | Target::Attributes(_) => Err(DmError::InvalidRequest(
                "use GET for discover, PUT for attributes".into(),
            )),
        }
    };
    result.await.unwrap_or_else(|e: DmError| dm_error(&e))
}

async fn create(
    handle: &ServerHandle,
    ep: &str,
    object: Path,
    body: &[u8],
) -> Result<Response, DmError> {
    let node = json_node(handle.registry(), &object, body).map_err(DmError::InvalidRequest)?;
    let instance = match node {
        Node::ObjectInstance(instance) => instance,
        Node::Object(object_node) if object_node.len() == 1 => {
            match object_node.instances().next() {
                Some(instance) => instance.clone(),
                None => return Err(DmError::InvalidRequest("no object instance".into())),
            }
        }
        other => {
            return Err(DmError::InvalidRequest(format!(
                "Create takes an object instance, not {other:?}"
            )))
        }
    };
    let created = handle.create(ep, object, instance, None).await?;
    let location = format!("/api/clients/{ep}{created}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!({ "path": created.to_string() })),
    )
        .into_response())
}

/// `DELETE`: Delete an instance, or cancel an observation (`.../observe`).
pub(super) async fn delete(
    State(handle): State<ServerHandle>,
    UrlPath((ep, path)): UrlPath<(String, String)>,
) -> Response {
    let result = async {
        match Target::parse(&path)? {
            Target::Node(path) => {
                handle.delete(&ep, path).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            Target::Observe(path) => {
                if handle.cancel_observation(&ep, path) {
                    Ok(StatusCode::NO_CONTENT.into_response())
                } else {
                    Ok(failure(
                        StatusCode::NOT_FOUND,
                        format!("no observation of {path} on {ep:?}"),
                    ))
                }
            }
            Target::Discover(_) | Target::Attributes(_) => Err(DmError::InvalidRequest(
                "DELETE applies to an instance or an observation".into(),
            )),
        }
    };
    result.await.unwrap_or_else(|e: DmError| dm_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let p = |s: &str| Path::parse(s).unwrap();
        assert_eq!(Target::parse("3/0/9").unwrap(), Target::Node(p("/3/0/9")));
        assert_eq!(Target::parse("3/0/9/").unwrap(), Target::Node(p("/3/0/9")));
        assert_eq!(
            Target::parse("3/0/9/observe").unwrap(),
            Target::Observe(p("/3/0/9"))
        );
        assert_eq!(
            Target::parse("3/discover").unwrap(),
            Target::Discover(p("/3"))
        );
        assert_eq!(
            Target::parse("3/0/attributes").unwrap(),
            Target::Attributes(p("/3/0"))
        );
        assert!(Target::parse("3/x").is_err());
        assert!(Target::parse("70000").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_url_paths_never_panic(text in "\\PC{0,40}") {
            if let Ok(Target::Node(path) | Target::Observe(path) | Target::Discover(path) | Target::Attributes(path)) = Target::parse(&text) {
                proptest::prop_assert!(path.depth() <= 4);
            }
            let _ = requested_format(Some(&text));
        }
    }

    #[test]
    fn formats() {
        assert_eq!(requested_format(None).unwrap(), None);
        assert_eq!(
            requested_format(Some("a=b&format=tlv")).unwrap(),
            Some(ContentFormat::Tlv)
        );
        assert!(requested_format(Some("format=xml")).is_err());
    }
}
