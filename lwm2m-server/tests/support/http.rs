//! A small HTTP/1.1 client (hyper) for the API tests: one connection per call, and a reader of
//! server-sent events.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::time::timeout;

async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: &str,
) -> hyper::Response<Incoming> {
    let stream = TcpStream::connect(addr)
        .await
        .expect("connect to the HTTP API");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(target)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    sender.send_request(request).await.unwrap()
}

/// One request; the status and the body (as text).
pub async fn call(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, String) {
    let response = timeout(Duration::from_secs(30), async {
        let response = send(addr, method, target, body).await;
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    })
    .await;
    response.unwrap_or_else(|_| panic!("{method} {target}: no answer within 30 s"))
}

/// One request whose answer is JSON.
pub async fn call_json(addr: SocketAddr, method: &str, target: &str, body: &str) -> (u16, Value) {
    let (status, text) = call(addr, method, target, body).await;
    let value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{method} {target} -> {status}: not JSON ({e}): {text}"));
    (status, value)
}

/// `GET /api/events`, read event by event.
pub struct Events {
    body: Incoming,
    buffer: String,
}

impl Events {
    pub async fn open(addr: SocketAddr) -> Events {
        let response = send(addr, "GET", "/api/events", "").await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Events {
            body: response.into_body(),
            buffer: String::new(),
        }
    }

    /// The next event (name, JSON data) within `limit`; keep-alive comments are skipped.
    pub async fn next(&mut self, limit: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = None;
                let mut data = None;
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = Some(value.trim().to_owned());
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data = Some(serde_json::from_str(value.trim()).unwrap());
                    }
                }
                if let (Some(name), Some(data)) = (name, data) {
                    return Some((name, data));
                }
                continue;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let frame = timeout(left, self.body.frame()).await.ok()??.ok()?;
            if let Ok(data) = frame.into_data() {
                self.buffer.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }

    /// The next event named `name` within `limit` (others are skipped).
    pub async fn next_named(&mut self, name: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some((event, data)) if event == name => return data,
                Some(_) => {}
                None => panic!("no {name:?} event within {limit:?}"),
            }
        }
    }
}
