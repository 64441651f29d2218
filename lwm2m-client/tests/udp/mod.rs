//! A scripted LwM2M server on a real loopback UDP socket: a bare transport `UdpEndpoint` that
//! answers the registration interface (2.01 + Location `/rd/<n>`, 2.04, 2.02) and reports every
//! registration request it saw on a channel.
#![allow(dead_code, clippy::missing_panics_doc)]

use std::net::SocketAddr;

use lwm2m_codec::coap::{option, Code};
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::Response;
use tokio::sync::mpsc;

/// A registration-interface request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdRequest {
    pub peer: SocketAddr,
    pub code: Code,
    pub path: Vec<String>,
    pub query: Vec<String>,
    pub payload: Vec<u8>,
}

impl RdRequest {
    pub fn is_register(&self) -> bool {
        self.code == Code::POST && self.path == ["rd"]
    }
    pub fn is_deregister(&self) -> bool {
        self.code == Code::DELETE && self.path.first().map(String::as_str) == Some("rd")
    }
    pub fn endpoint(&self) -> Option<&str> {
        self.query.iter().find_map(|q| q.strip_prefix("ep="))
    }
}

/// The scripted server: its endpoint (for requests to clients) and what it received.
pub struct ScriptedServer {
    pub endpoint: UdpEndpoint,
    pub requests: mpsc::UnboundedReceiver<RdRequest>,
}

impl ScriptedServer {
    /// Binds `127.0.0.1:0` and starts answering.
    pub async fn start() -> ScriptedServer {
        let endpoint = UdpEndpoint::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let mut incoming = endpoint.incoming();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut registrations = 0u32;
            while let Some(request) = incoming.next().await {
                let msg = request.request.message().unwrap();
                let rd = RdRequest {
                    peer: request.peer,
                    code: msg.code(),
                    path: msg.uri_path().unwrap().map(String::from).collect(),
                    query: msg.uri_query().unwrap().map(String::from).collect(),
                    payload: request.request.body().to_vec(),
                };
                let response = if rd.is_register() {
                    registrations += 1;
                    let id = format!("c{registrations}");
                    Response::build(Code::CREATED, |b| {
                        b.option(option::LOCATION_PATH, b"rd");
                        b.option(option::LOCATION_PATH, id.as_bytes());
                    })
                    .unwrap()
                } else if rd.code == Code::POST {
                    Response::new(Code::CHANGED)
                } else if rd.is_deregister() {
                    Response::new(Code::DELETED)
                } else {
                    Response::new(Code::NOT_FOUND)
                };
                let _ = request.responder.respond(response);
                let _ = tx.send(rd);
            }
        });
        ScriptedServer {
            endpoint,
            requests: rx,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.endpoint.local_addr()
    }

    /// The next registration request, waiting at most `secs` seconds.
    pub async fn next_request(&mut self, secs: u64) -> RdRequest {
        tokio::time::timeout(std::time::Duration::from_secs(secs), self.requests.recv())
            .await
            .expect("no registration request in time")
            .expect("the server stopped")
    }
}
