//! A registration sink for trying `lwm2m-client` (and measuring fleets): answers every Register
//! with 2.01 and a Location `/rd/<n>`, every Update with 2.04 and every De-register with 2.02,
//! and prints how many devices are registered now and then. Nothing else (no DM requests).
//!
//! ```text
//! cargo run -p lwm2m-client --example rd-sink -- 127.0.0.1:5683
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_codec::coap::{option, Code};
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::Response;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5683".into())
        .parse()?;
    let endpoint = UdpEndpoint::builder()
        .incoming_capacity(4096)
        .bind(addr)
        .await?;
    println!("rd-sink listening on {}", endpoint.local_addr());
    let mut incoming = endpoint.incoming();
    let mut next_id = 0u64;
    let mut registered = 0i64;
    let mut report = tokio::time::interval(Duration::from_secs(2));
    let mut last = -1;
    loop {
        tokio::select! {
            request = incoming.next() => {
                let Some(request) = request else { break };
                let Ok(msg) = request.request.message() else { continue };
                let path: Vec<String> = msg
                    .uri_path()
                    .map(|p| p.map(String::from).collect())
                    .unwrap_or_default();
                let response = match (msg.code(), path.len()) {
                    (Code::POST, 1) if path[0] == "rd" => {
                        next_id += 1;
                        registered += 1;
                        let id = next_id.to_string();
                        Response::build(Code::CREATED, |b| {
                            b.option(option::LOCATION_PATH, b"rd");
                            b.option(option::LOCATION_PATH, id.as_bytes());
                        })?
                    }
                    (Code::POST, 2) => Response::new(Code::CHANGED),
                    (Code::DELETE, 2) => {
                        registered -= 1;
                        Response::new(Code::DELETED)
                    }
                    _ => Response::new(Code::NOT_FOUND),
                };
                let _ = request.responder.respond(response);
            }
            _ = report.tick() => {
                if registered != last {
                    println!("registered: {registered}");
                    last = registered;
                }
            }
        }
    }
    Ok(())
}
