//! A scripted device on a raw UDP socket: it sends exactly the CoAP messages a test asks for
//! (Register, Update, notifications) and answers the server's requests only when told to, so a
//! test controls when it "sleeps".

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// One datagram the device received, owned.
#[derive(Debug, Clone)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
}

impl Received {
    pub fn message(&self) -> Message<'_> {
        Message::parse(&self.bytes).expect("the server sent a malformed datagram")
    }

    /// The request's Uri-Path, e.g. `"3/0/9"`.
    pub fn path(&self) -> String {
        let message = self.message();
        let segments: Vec<&str> = message.uri_path().unwrap().collect();
        segments.join("/")
    }
}

/// The device.
pub struct RawDevice {
    pub socket: UdpSocket,
    pub server: SocketAddr,
    next_mid: u16,
    /// Requests from the server that arrived while the device waited for a response.
    backlog: VecDeque<Received>,
}

impl RawDevice {
    pub async fn bind(server: SocketAddr) -> RawDevice {
        RawDevice {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            server,
            next_mid: 0x4000,
            backlog: VecDeque::new(),
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    fn mid(&mut self) -> u16 {
        self.next_mid = self.next_mid.wrapping_add(1);
        self.next_mid
    }

    async fn recv(&mut self, limit: Duration) -> Option<Received> {
        let mut buf = vec![0u8; 2048];
        let (len, from) = timeout(limit, self.socket.recv_from(&mut buf))
            .await
            .ok()?
            .unwrap();
        buf.truncate(len);
        Some(Received { bytes: buf, from })
    }

    /// Sends a Confirmable request built by `build` and returns the piggy-backed response.
    pub async fn request<'v>(&mut self, build: impl FnOnce(&mut MessageBuilder<'v>)) -> Received {
        let mid = self.mid();
        let mut builder = MessageBuilder::new(Type::Confirmable, Code::POST, mid);
        builder.token(Token::from_u64(u64::from(mid)));
        build(&mut builder);
        let bytes = builder.to_vec().unwrap();
        for _ in 0..4 {
            self.socket.send_to(&bytes, self.server).await.unwrap();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while let Some(received) = self
                .recv(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await
            {
                let message = received.message();
                if message.code().is_request() {
                    self.backlog.push_back(received);
                    continue;
                }
                if message.ty() == Type::Acknowledgement && message.message_id() == mid {
                    if message.code() == Code::EMPTY {
                        // The server is slow (a store flush): a separate response follows.
                        continue;
                    }
                    return received;
                }
                if message.token() == Token::from_u64(u64::from(mid)).as_slice()
                    && message.code() != Code::EMPTY
                {
                    // The separate response: acknowledge it.
                    if message.ty() == Type::Confirmable {
                        let ack = MessageBuilder::new(
                            Type::Acknowledgement,
                            Code::EMPTY,
                            message.message_id(),
                        )
                        .to_vec()
                        .unwrap();
                        self.socket.send_to(&ack, received.from).await.unwrap();
                    }
                    return received;
                }
            }
        }
        panic!("no answer from the server to message {mid}")
    }

    /// `POST /rd?{query}` with `links`; returns the response.
    pub async fn register(&mut self, query: &str, links: &str) -> Received {
        self.request(|b| {
            b.uri_path("/rd")
                .uri_queries(query)
                .content_format(40)
                .payload(links.as_bytes());
        })
        .await
    }

    /// `POST {location}` (an Update without parameters).
    pub async fn update(&mut self, location: &str) -> Received {
        self.request(|b| {
            b.uri_path(location);
        })
        .await
    }

    /// The next request from the server within `limit`.
    pub async fn next_request(&mut self, limit: Duration) -> Option<Received> {
        if let Some(request) = self.backlog.pop_front() {
            return Some(request);
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let received = self.recv(left).await?;
            if received.message().code().is_request() {
                return Some(received);
            }
        }
    }

    /// Answers `request` (piggy-backed on the ACK).
    pub async fn respond(
        &self,
        request: &Received,
        code: Code,
        content_format: Option<u16>,
        observe: Option<u32>,
        payload: &[u8],
    ) {
        let message = request.message();
        let mut builder = MessageBuilder::piggybacked_response(&message, code);
        if let Some(format) = content_format {
            builder.content_format(format);
        }
        if let Some(sequence) = observe {
            builder.observe(sequence);
        }
        builder.payload(payload);
        let bytes = builder.to_vec().unwrap();
        self.socket.send_to(&bytes, request.from).await.unwrap();
    }

    /// Sends a Non-confirmable notification with `token` to the server.
    pub async fn notify(
        &mut self,
        token: &[u8],
        sequence: u32,
        content_format: u16,
        payload: &[u8],
    ) {
        let mid = self.mid();
        let mut builder = MessageBuilder::new(Type::NonConfirmable, Code::CONTENT, mid);
        builder
            .token(Token::new(token).unwrap())
            .observe(sequence)
            .content_format(content_format)
            .payload(payload);
        let bytes = builder.to_vec().unwrap();
        self.socket.send_to(&bytes, self.server).await.unwrap();
    }

    /// Sends a Confirmable notification and returns what the server answered (ACK or RST).
    pub async fn notify_confirmable(
        &mut self,
        token: &[u8],
        sequence: u32,
        content_format: u16,
        payload: &[u8],
    ) -> Option<Type> {
        let mid = self.mid();
        let mut builder = MessageBuilder::new(Type::Confirmable, Code::CONTENT, mid);
        builder
            .token(Token::new(token).unwrap())
            .observe(sequence)
            .content_format(content_format)
            .payload(payload);
        let bytes = builder.to_vec().unwrap();
        self.socket.send_to(&bytes, self.server).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let received = self.recv(left).await?;
            let message = received.message();
            if message.message_id() == mid && message.code() == Code::EMPTY {
                return Some(message.ty());
            }
            if message.code().is_request() {
                self.backlog.push_back(received);
            }
        }
    }
}

/// The Location-Path of a response, as `/rd/{id}`.
pub fn location(response: &Received) -> String {
    let message = response.message();
    let segments: Vec<&str> = message.location_path().unwrap().collect();
    format!("/{}", segments.join("/"))
}
