//! A bootstrap configuration turned into the requests of a session: Bootstrap-Deletes,
//! Bootstrap-Writes (TLV) of the Security, Server and Access Control objects and any other
//! object, then Bootstrap-Finish.

use core::fmt;

use lwm2m_codec::coap::Code;
use lwm2m_model::content::{self, ContentFormat};
use lwm2m_model::{Path, Registry};
use lwm2m_transport::Request;

use crate::store::BootstrapConfig;

/// One command of a bootstrap session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Bootstrap-Delete (`DELETE`) of a path.
    Delete(Path),
    /// Bootstrap-Write (`PUT`, TLV) of a path.
    Write(Path),
    /// Bootstrap-Finish (`POST /bs`).
    Finish,
}

impl Operation {
    /// The code a client answers when the command succeeds: 2.02 for a Delete, 2.04 otherwise.
    pub fn success_code(self) -> Code {
        match self {
            Operation::Delete(_) => Code::DELETED,
            Operation::Write(_) | Operation::Finish => Code::CHANGED,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Delete(path) => write!(f, "Bootstrap-Delete {path}"),
            Operation::Write(path) => write!(f, "Bootstrap-Write {path}"),
            Operation::Finish => f.write_str("Bootstrap-Finish"),
        }
    }
}

/// A command and its encoded request.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the request does.
    pub operation: Operation,
    /// The CoAP request (CON; the transport picks message id and token).
    pub request: Request,
}

/// A configuration that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A write to the root path (Bootstrap-Write targets an object, instance or resource).
    #[error("write #{index}: cannot write to the root path")]
    RootWrite {
        /// Its position in the configuration's writes.
        index: usize,
    },
    /// A write's content cannot be encoded as TLV for its path.
    #[error("write #{index} to {path}: {message}")]
    Encode {
        /// Its position in the configuration's writes.
        index: usize,
        /// Its path.
        path: Path,
        /// The encoder's error.
        message: String,
    },
    /// A request cannot be built.
    #[error("{operation}: {message}")]
    Request {
        /// The command.
        operation: Operation,
        /// The builder's error.
        message: String,
    },
}

/// The session's steps for `config`: deletes in order, then the writes ordered by object id
/// (Security, Server, Access Control, then the rest; writes to one object keep their order),
/// encoded as TLV with `registry`, then Bootstrap-Finish.
///
/// ```
/// use lwm2m_objects::Server;
/// use lwm2m_server::bootstrap::{plan, Operation};
/// use lwm2m_server::store::BootstrapConfig;
///
/// let config = BootstrapConfig::new().server(0, &Server::default())?;
/// let steps = plan(&config, &lwm2m_objects::core_registry())?;
/// let operations: Vec<String> = steps.iter().map(|s| s.operation.to_string()).collect();
/// assert_eq!(operations, ["Bootstrap-Delete /", "Bootstrap-Write /1/0", "Bootstrap-Finish"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(config: &BootstrapConfig, registry: &Registry) -> Result<Vec<Step>, PlanError> {
    let mut steps = Vec::with_capacity(config.delete.len() + config.writes.len() + 1);
    for path in &config.delete {
        let operation = Operation::Delete(*path);
        steps.push(Step {
            operation,
            request: build(operation, Code::DELETE, path, None)?,
        });
    }
    let mut writes: Vec<(usize, &(Path, lwm2m_model::Node))> =
        config.writes.iter().enumerate().collect();
    // A stable sort: the writes of one object keep the configuration's order.
    writes.sort_by_key(|(_, (path, _))| path.object_id());
    for (index, (path, node)) in writes {
        if path.is_root() {
            return Err(PlanError::RootWrite { index });
        }
        let payload = content::encode(ContentFormat::Tlv, path, node, registry).map_err(|e| {
            PlanError::Encode {
                index,
                path: *path,
                message: e.to_string(),
            }
        })?;
        let operation = Operation::Write(*path);
        steps.push(Step {
            operation,
            request: build(operation, Code::PUT, path, Some(payload))?,
        });
    }
    let operation = Operation::Finish;
    let finish = Request::build(Code::POST, |b| {
        b.uri_path_segment("bs");
    })
    .map_err(|e| PlanError::Request {
        operation,
        message: e.to_string(),
    })?;
    steps.push(Step {
        operation,
        request: finish,
    });
    Ok(steps)
}

fn build(
    operation: Operation,
    code: Code,
    path: &Path,
    payload: Option<Vec<u8>>,
) -> Result<Request, PlanError> {
    let segments: Vec<String> = path.ids().iter().map(u16::to_string).collect();
    let has_payload = payload.is_some();
    let request = Request::build(code, |b| {
        for segment in &segments {
            b.uri_path_segment(segment);
        }
        if has_payload {
            b.content_format(ContentFormat::Tlv.number());
        }
    })
    .map_err(|e| PlanError::Request {
        operation,
        message: e.to_string(),
    })?;
    Ok(match payload {
        Some(payload) => request.with_payload(payload),
        None => request,
    })
}

#[cfg(test)]
mod tests {
    use lwm2m_model::{Node, Resource, Value};
    use lwm2m_objects::{AccessControl, Security, Server};

    use super::*;

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap()
    }

    fn segments(request: &Request) -> Vec<String> {
        let message = request.message().unwrap();
        message.uri_path().unwrap().map(String::from).collect()
    }

    #[test]
    fn deletes_then_security_server_acl_then_finish() {
        let access = AccessControl {
            object_id: 3,
            object_instance_id: 0,
            acl: None,
            access_control_owner: 101,
        };
        let security = Security {
            lwm2m_server_uri: "coap://127.0.0.1:5683".into(),
            security_mode: 3,
            short_server_id: Some(101),
            ..Security::default()
        };
        // Given out of order on purpose.
        let config = BootstrapConfig::new()
            .deletes([path("/0/1"), path("/1")])
            .access_control(0, &access)
            .unwrap()
            .write(path("/3/0/1"), Node::from(Resource::single(1, "model")))
            .server(0, &Server::default())
            .unwrap()
            .security(1, &security)
            .unwrap()
            .server(1, &Server::default())
            .unwrap();
        let registry = lwm2m_objects::core_registry();
        let steps = plan(&config, &registry).unwrap();
        let operations: Vec<String> = steps.iter().map(|s| s.operation.to_string()).collect();
        assert_eq!(
            operations,
            [
                "Bootstrap-Delete /0/1",
                "Bootstrap-Delete /1",
                "Bootstrap-Write /0/1",
                "Bootstrap-Write /1/0",
                "Bootstrap-Write /1/1",
                "Bootstrap-Write /2/0",
                "Bootstrap-Write /3/0/1",
                "Bootstrap-Finish",
            ]
        );
        let codes: Vec<Code> = steps.iter().map(|s| s.request.code()).collect();
        assert_eq!(codes[..2], [Code::DELETE, Code::DELETE]);
        assert!(codes[2..7].iter().all(|c| *c == Code::PUT));
        assert_eq!(codes[7], Code::POST);
        assert_eq!(segments(&steps[0].request), ["0", "1"]);
        assert_eq!(segments(&steps[7].request), ["bs"]);
        assert!(steps[7].request.payload().is_empty());
        // The Security write is TLV that decodes back to the instance.
        let write = &steps[2].request;
        let message = write.message().unwrap();
        assert_eq!(message.content_format().unwrap(), Some(11542));
        // A write to an instance path carries the instance's Resource TLVs.
        assert_eq!(write.payload()[0] >> 6, 3, "Resource TLV");
        let decoded = content::decode(
            ContentFormat::Tlv,
            &path("/0/1"),
            write.payload(),
            &registry,
        )
        .unwrap();
        assert_eq!(
            Security::from_instance_node(&decoded.node).unwrap(),
            security
        );
    }

    /// The Bootstrap-Finish vector `41 02 01 00 10 B2 62 73` (MID 0x0100, token 10): the
    /// transport adds message id and token, the rest of the bytes is the plan's.
    #[test]
    fn bootstrap_finish_matches_the_vector() {
        let steps = plan(&BootstrapConfig::default(), &Registry::new()).unwrap();
        let finish = &steps[0].request;
        assert!(finish.is_confirmable() && finish.payload().is_empty());
        let vector = [0x41, 0x02, 0x01, 0x00, 0x10, 0xB2, 0x62, 0x73];
        // Without its token (TKL 0) and with message id 0.
        let mut expected = vec![0x40, vector[1], 0, 0];
        expected.extend_from_slice(&vector[5..]);
        assert_eq!(finish.message().unwrap().as_bytes(), expected);
    }

    #[test]
    fn a_root_delete_has_no_path_and_an_empty_config_only_finishes() {
        let steps = plan(&BootstrapConfig::new(), &Registry::new()).unwrap();
        assert_eq!(steps.len(), 2);
        assert!(segments(&steps[0].request).is_empty());
        assert_eq!(steps[0].operation.success_code(), Code::DELETED);
        assert_eq!(steps[1].operation.success_code(), Code::CHANGED);
        let steps = plan(&BootstrapConfig::default(), &Registry::new()).unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].operation, Operation::Finish);
    }

    #[test]
    fn bad_writes_are_errors_naming_the_write() {
        let registry = lwm2m_objects::core_registry();
        let config =
            BootstrapConfig::default().write(Path::ROOT, Node::from(Resource::single(0, 1)));
        assert_eq!(
            plan(&config, &registry).unwrap_err(),
            PlanError::RootWrite { index: 0 }
        );
        // A resource node written at instance level.
        let config = BootstrapConfig::default()
            .server(0, &Server::default())
            .unwrap()
            .write(
                path("/1/1"),
                Node::from(Resource::single(1, Value::Integer(5))),
            );
        match plan(&config, &registry).unwrap_err() {
            PlanError::Encode { index, path: p, .. } => {
                assert_eq!((index, p), (1, path("/1/1")));
            }
            other => panic!("{other:?}"),
        }
    }
}
