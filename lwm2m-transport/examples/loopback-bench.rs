//! Request/response round trips per second over real loopback UDP, 64 requests in flight:
//!
//! 1. the engine: a client `UdpEndpoint` and a server `UdpEndpoint` (one driver task each), the
//!    client's tasks awaiting `Handle::request`, the server's task answering every
//!    `ServerRequest` with a 2.05;
//! 2. the physical limit: a bare UDP echo with tokio sockets and the same 64-in-flight pattern,
//!    no CoAP (datagrams of the same sizes as the CoAP request and response).
//!
//! ```text
//! cargo run --release -p lwm2m-transport --example loopback-bench [-- SECONDS]
//! ```
//!
//! Each run lasts SECONDS (default 5) or 2 000 000 round trips, whichever comes first, after a
//! 0.5 s warm-up. The load average is printed alongside: other processes on the machine lower
//! both figures.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lwm2m_codec::coap::Code;
use lwm2m_transport::udp::UdpEndpoint;
use lwm2m_transport::{Config, Request, Response};
use tokio::net::UdpSocket;

const IN_FLIGHT: usize = 64;
const MAX_ROUND_TRIPS: u64 = 2_000_000;
const WARM_UP: Duration = Duration::from_millis(500);

/// Sizes of the engine's datagrams: GET /bench with an 8-byte token, and its 2.05 "pong" ACK.
const REQUEST_SIZE: usize = 4 + 8 + 6;
const RESPONSE_SIZE: usize = 4 + 8 + 1 + 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map_or(Ok(5.0), |s| s.parse())
        .map_err(|e| format!("SECONDS: {e}"))?;
    let duration = Duration::from_secs_f64(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "loopback-bench: {IN_FLIGHT} in flight, {seconds} s per run, {} worker threads, load average {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        load_average()
    );
    let echo = runtime.block_on(bare_echo(duration))?;
    println!("bare UDP echo (tokio, no CoAP): {echo:>10.0} round trips/s");
    let engine = runtime.block_on(engine(duration))?;
    println!("lwm2m-transport udp driver:     {engine:>10.0} round trips/s");
    println!(
        "engine / bare echo: {:.0} %   (load average after: {})",
        100.0 * engine / echo,
        load_average()
    );
    Ok(())
}

/// The 1-, 5- and 15-minute load averages from /proc/loadavg.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

/// Counts round trips completed between the end of the warm-up and `duration` later.
struct Meter {
    count: AtomicU64,
    stop: AtomicBool,
}

impl Meter {
    fn new() -> Arc<Meter> {
        Arc::new(Meter {
            count: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        })
    }

    /// Warms up, measures for `duration` (or until `MAX_ROUND_TRIPS`), stops the load and
    /// returns the rate.
    async fn measure(&self, duration: Duration) -> f64 {
        tokio::time::sleep(WARM_UP).await;
        let start_count = self.count.load(Ordering::Relaxed);
        let start = Instant::now();
        while start.elapsed() < duration
            && self.count.load(Ordering::Relaxed) - start_count < MAX_ROUND_TRIPS
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let done = self.count.load(Ordering::Relaxed) - start_count;
        let elapsed = start.elapsed();
        self.stop.store(true, Ordering::Relaxed);
        #[allow(
            clippy::cast_precision_loss,
            reason = "counts below 2^52 convert exactly"
        )]
        let done = done as f64;
        done / elapsed.as_secs_f64()
    }
}

async fn engine(duration: Duration) -> Result<f64, Box<dyn std::error::Error>> {
    let mut config = Config::default();
    // 64 requests in flight towards one peer.
    config.transmission.nstart = IN_FLIGHT;
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let server = UdpEndpoint::builder()
        .config(config.clone())
        .bind(loopback)
        .await?;
    let client = UdpEndpoint::builder().config(config).bind(loopback).await?;
    let mut incoming = server.incoming();
    let pong = Response::new(Code::CONTENT).with_payload(&b"pong"[..]);
    tokio::spawn(async move {
        while let Some(request) = incoming.next().await {
            let _ = request.responder.respond(pong.clone());
        }
    });
    let request = Request::build(Code::GET, |b| {
        b.uri_path("bench");
    })?;
    let meter = Meter::new();
    let to = server.local_addr();
    let mut load = Vec::with_capacity(IN_FLIGHT);
    for _ in 0..IN_FLIGHT {
        let (handle, request, meter) = (client.handle(), request.clone(), Arc::clone(&meter));
        load.push(tokio::spawn(async move {
            while !meter.stop.load(Ordering::Relaxed) {
                let response = handle.request(to, request.clone()).await?;
                if response.code() != Code::CONTENT {
                    return Err(format!("unexpected {:?}", response.code()).into());
                }
                meter.count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    let rate = meter.measure(duration).await;
    for task in load {
        task.await?.map_err(|e| e.to_string())?;
    }
    client.close().await;
    server.close().await;
    Ok(rate)
}

async fn bare_echo(duration: Duration) -> Result<f64, Box<dyn std::error::Error>> {
    let server = UdpSocket::bind("127.0.0.1:0").await?;
    let client = UdpSocket::bind("127.0.0.1:0").await?;
    let server_addr = server.local_addr()?;
    let meter = Meter::new();
    let echo = tokio::spawn(async move {
        let mut buffer = [0u8; 1500];
        let response = [0x5Au8; RESPONSE_SIZE];
        loop {
            let Ok((_, from)) = server.recv_from(&mut buffer).await else {
                return;
            };
            if server.send_to(&response, from).await.is_err() {
                return;
            }
        }
    });
    let load = tokio::spawn({
        let meter = Arc::clone(&meter);
        async move {
            let request = [0xA5u8; REQUEST_SIZE];
            let mut buffer = [0u8; 1500];
            for _ in 0..IN_FLIGHT {
                client.send_to(&request, server_addr).await?;
            }
            while !meter.stop.load(Ordering::Relaxed) {
                client.recv_from(&mut buffer).await?;
                meter.count.fetch_add(1, Ordering::Relaxed);
                client.send_to(&request, server_addr).await?;
            }
            Ok::<(), std::io::Error>(())
        }
    });
    let rate = meter.measure(duration).await;
    load.await??;
    echo.abort();
    Ok(rate)
}
