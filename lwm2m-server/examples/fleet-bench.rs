//! Fleet load bench: N `NoSec` clients register with a real `lwm2m-server` over loopback UDP, then
//! send Updates, and the bench prints registrations/s, Update round trips/s, p50/p99 latency and
//! the server's RSS per registered client, beside a bare UDP echo measured the same way.
//!
//! ```text
//! cargo run --release -p lwm2m-server --example fleet-bench [-- --clients N] [--in-flight 64]
//!     [--sockets 4] [--seconds 5] [--register-rate 1000000] [--durability immediate|eventual]
//!     [--server-sockets 1]
//! ```
//!
//! - The server is the library's [`Server`] with the embedded redb store (durability
//!   `Immediate`: every acknowledged registration is on disk) in a temporary directory, running in
//!   a child process (this same executable, started with `--serve-child`), so its RSS is its own:
//!   it is read from `/proc/{pid}/status` before and after the registrations.
//! - The generator is its own: a few tokio UDP sockets, each carrying `N / sockets` endpoints
//!   with `--in-flight` Confirmable requests outstanding, message ids and tokens tracked, lost
//!   requests retransmitted (2 s, doubling, 4 times) and counted. A request the server takes
//!   more than its empty-ACK delay (1 s) to answer gets an empty ACK and a separate response,
//!   matched by token and acknowledged. Register is
//!   `POST /rd?ep=urn:imei:…&lt=86400&lwm2m=1.0&b=U` with ten object links; Update is an empty
//!   `POST /rd/{id}` (a lifetime refresh).
//! - The per-source Register rate limit (default: a burst of 10, then 1/s per IP, against
//!   floods) would refuse a fleet behind one address; the bench raises it
//!   (`RegistrarConfig::register_rate_limit`) to `--register-rate` per second with a burst of
//!   the whole fleet, and says so.
//! - The bare echo is a child too (`--echo-child`): one tokio socket (4 MiB receive buffer)
//!   answering every datagram
//!   with a CoAP-shaped ACK built by flipping header bytes (no CoAP library), driven by the same
//!   generator with Update requests.
//!
//! Every phase is bounded: registrations by N and 120 s, Updates and the echo by `--seconds`
//! and 5 000 000 round trips. The load average is printed alongside: other processes on the
//! machine lower every figure.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use lwm2m_codec::coap::{Code, Message, MessageBuilder, Token, Type};
use lwm2m_server::registration::{RateLimit, Registrar, RegistrarConfig};
use lwm2m_server::server::Server;
use lwm2m_server::store::{Durability, RedbStore};
use tokio::net::UdpSocket;

/// The object links of a typical client (as in `tests/footprint.rs`).
const LINKS: &[u8] = b"</1/0>,</2/0>,</2/1>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>";
const REGISTER_TIME_LIMIT: Duration = Duration::from_secs(120);
const MAX_ROUND_TRIPS: u64 = 5_000_000;
const ACK_TIMEOUT: Duration = Duration::from_secs(2);
const MAX_RETRANSMIT: u8 = 4;
/// How long a request the server acknowledged with an empty ACK may wait for its separate
/// response before it counts as lost.
const SEPARATE_RESPONSE_WAIT: Duration = Duration::from_secs(30);

#[derive(Parser, Debug)]
#[command(about = "Registrations and Updates per second of lwm2m-server over loopback UDP")]
struct Args {
    /// Number of clients (default: a run with 10 000, then one with 100 000).
    #[arg(long)]
    clients: Option<u32>,
    /// Confirmable requests outstanding per socket.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Generator sockets (each carries clients / sockets endpoints).
    #[arg(long, default_value_t = 4)]
    sockets: usize,
    /// Length of the Update phase and of the echo run, in seconds.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// The per-source Register rate limit the server is given (Registers per second).
    #[arg(long, default_value_t = 1_000_000)]
    register_rate: u32,
    /// Durability of the server's store: `immediate` (flushed before every answer) or
    /// `eventual` (written, flushed later: shows what the flush costs).
    #[arg(long, default_value = "immediate", value_parser = ["immediate", "eventual"])]
    durability: String,
    /// UDP sockets of the server's CoAP endpoint (`ServerBuilder::udp_sockets`, `SO_REUSEPORT`).
    #[arg(long, default_value_t = 1)]
    server_sockets: usize,
    /// Internal: run the server (data directory, rate, burst, durability, sockets) until stdin
    /// closes.
    #[arg(long, num_args = 5, hide = true)]
    serve_child: Option<Vec<String>>,
    /// Internal: run the bare UDP echo until stdin closes.
    #[arg(long, hide = true)]
    echo_child: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if let Some(serve) = &args.serve_child {
        return serve_child(serve);
    }
    if args.echo_child {
        return echo_child();
    }
    if args.in_flight == 0 || args.sockets == 0 || args.seconds <= 0.0 || args.register_rate == 0 {
        return Err(
            "--in-flight, --sockets, --seconds and --register-rate must be positive".into(),
        );
    }
    let runs = args
        .clients
        .map_or_else(|| vec![10_000, 100_000], |n| vec![n]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "fleet-bench: {} sockets x {} in flight, {} server socket(s), {} cores, load average {}",
        args.sockets,
        args.in_flight,
        args.server_sockets.max(1),
        std::thread::available_parallelism().map_or(1, usize::from),
        load_average()
    );
    let echo = runtime.block_on(echo_run(&args))?;
    for &clients in &runs {
        runtime.block_on(fleet_run(&args, clients, &echo))?;
    }
    println!("load average after: {}", load_average());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Children: the server and the bare echo.

/// The server child: `--serve-child DIR RATE BURST DURABILITY SOCKETS`. Prints `ready ADDR`, answers `count` on
/// stdin with `count N`, stops when stdin closes.
fn serve_child(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [dir, rate, burst, durability, sockets] = args else {
        return Err("--serve-child DIR RATE BURST DURABILITY SOCKETS".into());
    };
    let sockets: usize = sockets.parse()?;
    let rate: u32 = rate.parse()?;
    let burst: u32 = burst.parse()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut store = RedbStore::open(std::path::Path::new(dir).join("registrations.redb"))?;
        if durability == "eventual" {
            store.set_durability(Durability::Eventual);
        }
        let config = RegistrarConfig {
            register_rate_limit: Some(RateLimit {
                burst,
                interval: Duration::from_secs(1) / rate,
                ..RateLimit::default()
            }),
            ..RegistrarConfig::default()
        };
        let server = Server::builder()
            .registrar(Registrar::builder().config(config).store(store))
            .udp_sockets(sockets)
            // As the echo's: bursts of a whole fleet's requests are not dropped.
            .udp_recv_buffer(4 << 20)
            .bind("127.0.0.1:0".parse()?)
            .await?;
        println!("ready {}", server.local_addr());
        std::io::stdout().flush()?;
        let handle = server.handle();
        let stdin = tokio::task::spawn_blocking(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line.trim() == "count" {
                    println!("count {}", handle.clients().len());
                    let _ = std::io::stdout().flush();
                }
            }
        });
        let _ = stdin.await;
        server.shutdown().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}

/// The echo child: answers every datagram with an ACK 2.04 of the same message id and token.
fn echo_child() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let socket = echo_socket()?;
        println!("ready {}", socket.local_addr()?);
        std::io::stdout().flush()?;
        tokio::spawn(async move {
            let mut buffer = [0u8; 1500];
            loop {
                let Ok((len, from)) = socket.recv_from(&mut buffer).await else {
                    return;
                };
                let token_len = usize::from(buffer[0] & 0x0F).min(8);
                if len < 4 + token_len {
                    continue;
                }
                // Version 1, ACK, same token length; 2.04; the message id and token stay.
                buffer[0] = 0x60 | buffer[0] & 0x0F;
                buffer[1] = Code::CHANGED.to_u8();
                if socket
                    .send_to(&buffer[..4 + token_len], from)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        tokio::task::spawn_blocking(|| {
            for line in std::io::stdin().lock().lines() {
                if line.is_err() {
                    break;
                }
            }
        })
        .await?;
        Ok(())
    })
}

/// The echo's socket, with a receive buffer deep enough for every request in flight (each
/// small datagram costs about 1 KiB of the default 208 KiB on loopback).
fn echo_socket() -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    socket.set_recv_buffer_size(4 << 20)?;
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    UdpSocket::from_std(socket.into())
}

/// A child process, killed when dropped.
struct ChildProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
}

impl ChildProcess {
    fn spawn(args: &[String]) -> Result<ChildProcess, Box<dyn std::error::Error>> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut process = ChildProcess {
            child,
            stdin,
            stdout: BufReader::new(stdout),
            addr: "127.0.0.1:0".parse()?,
        };
        let line = process.read_line()?;
        process.addr = line
            .strip_prefix("ready ")
            .ok_or_else(|| format!("child said {line:?}"))?
            .parse()?;
        Ok(process)
    }

    fn read_line(&mut self) -> Result<String, Box<dyn std::error::Error>> {
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err("the child exited".into());
        }
        Ok(line.trim().to_owned())
    }

    /// The registrations the server holds.
    fn count(&mut self) -> Result<usize, Box<dyn std::error::Error>> {
        let stdin = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(stdin, "count")?;
        stdin.flush()?;
        let line = self.read_line()?;
        Ok(line
            .strip_prefix("count ")
            .ok_or_else(|| format!("child said {line:?}"))?
            .parse()?)
    }

    /// Resident set size in bytes (`VmRSS` of `/proc/{pid}/status`).
    fn rss(&self) -> Result<u64, Box<dyn std::error::Error>> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .ok_or("no VmRSS in /proc/{pid}/status")?
            .parse::<u64>()?;
        Ok(kib * 1024)
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Closing stdin asks for a clean stop; the kill makes sure.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// The generator.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    Update,
}

/// One socket's share of the load.
struct Load {
    kind: Kind,
    /// Global client numbers of this socket's endpoints.
    clients: Vec<u32>,
    /// For Updates: the registration id of each endpoint (same order as `clients`).
    ids: Vec<String>,
    in_flight: usize,
    deadline: Instant,
    max: u64,
}

/// What one socket measured.
#[derive(Default)]
struct Outcome {
    completed: u64,
    /// Completed before the load's deadline.
    in_window: u64,
    last_completion: Option<Instant>,
    /// Round-trip times in microseconds, first transmission to answer.
    latencies: Vec<u32>,
    retransmits: u64,
    lost: u64,
    /// Answers with an unexpected code.
    errors: u64,
    /// Registration ids (Register only), same order as the load's clients.
    ids: Vec<String>,
}

struct Pending {
    slot: usize,
    token: u32,
    bytes: Vec<u8>,
    first_sent: Instant,
    next_retransmit: Instant,
    attempts: u8,
}

fn register_bytes(client: u32, message_id: u16, token: u32) -> Vec<u8> {
    let query = format!("ep=urn:imei:35693803{client:07}&lt=86400&lwm2m=1.0&b=U");
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, message_id);
    b.token(Token::from_u64(u64::from(token)))
        .uri_path("/rd")
        .uri_queries(&query)
        .content_format(40)
        .payload(LINKS);
    b.to_vec().unwrap_or_default()
}

fn update_bytes(id: &str, message_id: u16, token: u32) -> Vec<u8> {
    let mut b = MessageBuilder::new(Type::Confirmable, Code::POST, message_id);
    b.token(Token::from_u64(u64::from(token)))
        .uri_path_segment("rd")
        .uri_path_segment(id);
    b.to_vec().unwrap_or_default()
}

/// Runs one socket's load to completion (or its deadline / maximum).
async fn drive(server: SocketAddr, load: Load) -> std::io::Result<Outcome> {
    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    socket.connect(server).await?;
    let mut outcome = Outcome {
        ids: vec![
            String::new();
            if load.kind == Kind::Register {
                load.clients.len()
            } else {
                0
            }
        ],
        ..Outcome::default()
    };
    let mut pending: HashMap<u16, Pending> = HashMap::with_capacity(load.in_flight * 2);
    let mut next_mid: u16 = rand_start(&load);
    let mut next_token: u32 = 1;
    let mut next_slot = 0usize;
    let mut sent: u64 = 0;
    let mut buffer = [0u8; 1500];
    let total = if load.kind == Kind::Register {
        load.clients.len() as u64
    } else {
        load.max
    };
    loop {
        let now = Instant::now();
        let open = now < load.deadline;
        while open && pending.len() < load.in_flight && sent < total && !load.clients.is_empty() {
            let slot = next_slot % load.clients.len();
            next_slot += 1;
            let (mid, token) = (next_mid, next_token);
            next_mid = next_mid.wrapping_add(1);
            next_token = next_token.wrapping_add(1);
            let bytes = match load.kind {
                Kind::Register => register_bytes(load.clients[slot], mid, token),
                Kind::Update => update_bytes(&load.ids[slot], mid, token),
            };
            socket.send(&bytes).await?;
            sent += 1;
            pending.insert(
                mid,
                Pending {
                    slot,
                    token,
                    bytes,
                    first_sent: now,
                    next_retransmit: now + ACK_TIMEOUT,
                    attempts: 0,
                },
            );
        }
        if pending.is_empty() {
            break;
        }
        let wake = pending
            .values()
            .map(|p| p.next_retransmit)
            .min()
            .unwrap_or(now);
        // After the deadline, requests still out get one ACK_TIMEOUT more, then count as lost.
        let wake = if open {
            wake
        } else {
            wake.min(load.deadline + ACK_TIMEOUT)
        };
        if let Ok(received) = tokio::time::timeout_at(wake.into(), socket.recv(&mut buffer)).await {
            let len = received?;
            let mut acks = Vec::new();
            acks.extend(answer(&load, &mut outcome, &mut pending, &buffer[..len]));
            // Drain whatever else is already queued before refilling.
            while let Ok(len) = socket.try_recv(&mut buffer) {
                acks.extend(answer(&load, &mut outcome, &mut pending, &buffer[..len]));
            }
            for ack in acks {
                socket.send(&ack).await?;
            }
        } else {
            let now = Instant::now();
            let mut gone = Vec::new();
            for (&mid, p) in &mut pending {
                if !open && now >= load.deadline + ACK_TIMEOUT {
                    gone.push(mid);
                } else if p.next_retransmit <= now {
                    if p.attempts >= MAX_RETRANSMIT {
                        gone.push(mid);
                    } else {
                        p.attempts += 1;
                        p.next_retransmit = now + ACK_TIMEOUT * (1 << p.attempts);
                        outcome.retransmits += 1;
                        socket.send(&p.bytes).await?;
                    }
                }
            }
            for mid in gone {
                pending.remove(&mid);
                outcome.lost += 1;
            }
        }
    }
    Ok(outcome)
}

/// Message ids start at a different place on each socket (any value works).
fn rand_start(load: &Load) -> u16 {
    load.clients
        .first()
        .map_or(0, |&c| (c as u16).wrapping_mul(7919))
}

/// Matches an answer to its request by message id and token (a separate response by token),
/// and records it. Returns the empty ACK a Confirmable separate response needs.
fn answer(
    load: &Load,
    outcome: &mut Outcome,
    pending: &mut HashMap<u16, Pending>,
    datagram: &[u8],
) -> Option<[u8; 4]> {
    let Ok(message) = Message::parse(datagram) else {
        outcome.errors += 1;
        return None;
    };
    let mut separate_ack = None;
    let mid = match message.ty() {
        Type::Acknowledgement if message.code() == Code::EMPTY => {
            // The server took longer than its empty-ACK delay: the response follows
            // separately. Stop retransmitting; it counts as lost if that never comes.
            if let Some(p) = pending.get_mut(&message.message_id()) {
                p.attempts = MAX_RETRANSMIT;
                p.next_retransmit = Instant::now() + SEPARATE_RESPONSE_WAIT;
            }
            return None;
        }
        Type::Acknowledgement => {
            let mid = message.message_id();
            let p = pending.get(&mid)?;
            if message.token() != Token::from_u64(u64::from(p.token)).as_slice() {
                return None;
            }
            mid
        }
        // A separate response, matched by token; a Confirmable one is acknowledged.
        _ => {
            let (&mid, _) = pending
                .iter()
                .find(|(_, p)| message.token() == Token::from_u64(u64::from(p.token)).as_slice())?;
            if message.ty() == Type::Confirmable {
                let id = message.message_id().to_be_bytes();
                separate_ack = Some([0x60, 0, id[0], id[1]]);
            }
            mid
        }
    };
    let p = pending.remove(&mid)?;
    let micros = p.first_sent.elapsed().as_micros();
    outcome
        .latencies
        .push(u32::try_from(micros).unwrap_or(u32::MAX));
    let expected = match load.kind {
        Kind::Register => Code::CREATED,
        Kind::Update => Code::CHANGED,
    };
    if message.code() != expected {
        outcome.errors += 1;
        return separate_ack;
    }
    outcome.completed += 1;
    let now = Instant::now();
    if now <= load.deadline {
        outcome.in_window += 1;
    }
    outcome.last_completion = Some(now);
    if load.kind == Kind::Register {
        let id = message
            .location_path()
            .ok()
            .and_then(|mut path| path.nth(1))
            .unwrap_or_default();
        if let Some(slot) = outcome.ids.get_mut(p.slot) {
            id.clone_into(slot);
        }
    }
    separate_ack
}

/// A phase's figures, over every socket.
struct Figures {
    completed: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    retransmits: u64,
    lost: u64,
    errors: u64,
}

impl Figures {
    #[allow(
        clippy::cast_precision_loss,
        reason = "counts below 2^52 convert exactly"
    )]
    fn rate(&self) -> f64 {
        self.completed as f64 / self.seconds
    }
}

/// Runs `loads` (one per socket) at once and sums their outcomes. A timed phase (Updates, echo)
/// counts what completed within its window; a Register phase lasts until its last answer.
async fn phase(
    server: SocketAddr,
    loads: Vec<Load>,
) -> Result<(Figures, Vec<Outcome>), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let timed = loads.first().is_some_and(|l| l.kind == Kind::Update);
    let deadline = loads.first().map_or(start, |l| l.deadline);
    let tasks: Vec<_> = loads
        .into_iter()
        .map(|load| tokio::spawn(drive(server, load)))
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for task in tasks {
        outcomes.push(task.await??);
    }
    let last = outcomes
        .iter()
        .filter_map(|o| o.last_completion)
        .max()
        .unwrap_or(start);
    let (completed, end) = if timed {
        (
            outcomes.iter().map(|o| o.in_window).sum(),
            deadline.min(last.max(start)),
        )
    } else {
        (outcomes.iter().map(|o| o.completed).sum(), last)
    };
    // A timed phase that ran its full window is measured over the window.
    let end = if timed && last >= deadline {
        deadline
    } else {
        end
    };
    let seconds = end.saturating_duration_since(start).as_secs_f64().max(1e-6);
    let mut latencies: Vec<u32> = outcomes
        .iter()
        .flat_map(|o| o.latencies.iter().copied())
        .collect();
    latencies.sort_unstable();
    let percentile = |p: usize| {
        latencies
            .get((latencies.len() * p / 100).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    let figures = Figures {
        completed,
        seconds,
        p50_ms: percentile(50),
        p99_ms: percentile(99),
        max_ms: latencies.last().map_or(0.0, |&us| f64::from(us) / 1000.0),
        retransmits: outcomes.iter().map(|o| o.retransmits).sum(),
        lost: outcomes.iter().map(|o| o.lost).sum(),
        errors: outcomes.iter().map(|o| o.errors).sum(),
    };
    Ok((figures, outcomes))
}

/// Splits clients `0..n` over the sockets.
fn split(n: u32, sockets: usize) -> Vec<Vec<u32>> {
    let mut shares = vec![Vec::new(); sockets];
    for client in 0..n {
        shares[client as usize % sockets].push(client);
    }
    shares
}

fn update_loads(args: &Args, clients: Vec<Vec<u32>>, ids: Vec<Vec<String>>) -> Vec<Load> {
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let max = MAX_ROUND_TRIPS / args.sockets as u64;
    clients
        .into_iter()
        .zip(ids)
        .map(|(clients, ids)| Load {
            kind: Kind::Update,
            clients,
            ids,
            in_flight: args.in_flight,
            deadline,
            max,
        })
        .collect()
}

fn print_header() {
    println!(
        "  {:<26} {:>9} {:>8} {:>10} {:>8} {:>8} {:>8} {:>7} {:>5} {:>6}",
        "",
        "requests",
        "seconds",
        "per second",
        "p50 ms",
        "p99 ms",
        "max ms",
        "retrans",
        "lost",
        "errors"
    );
}

fn print_row(name: &str, f: &Figures) {
    println!(
        "  {:<26} {:>9} {:>8.2} {:>10.0} {:>8.2} {:>8.2} {:>8.1} {:>7} {:>5} {:>6}",
        name,
        f.completed,
        f.seconds,
        f.rate(),
        f.p50_ms,
        f.p99_ms,
        f.max_ms,
        f.retransmits,
        f.lost,
        f.errors
    );
}

async fn echo_run(args: &Args) -> Result<Figures, Box<dyn std::error::Error>> {
    let echo = ChildProcess::spawn(&["--echo-child".to_owned()])?;
    // A 12-character id, as the server makes them: the requests have the real Update size.
    let clients = split(args.sockets as u32 * 64, args.sockets);
    let ids = clients
        .iter()
        .map(|c| vec!["abcdefghijkl".to_owned(); c.len()])
        .collect();
    let (figures, _) = phase(echo.addr, update_loads(args, clients, ids)).await?;
    println!();
    println!(
        "bare UDP echo (child process, one tokio socket, no CoAP library), Update-sized requests:"
    );
    print_header();
    print_row("echo round trips", &figures);
    Ok(figures)
}

async fn fleet_run(args: &Args, n: u32, echo: &Figures) -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let burst = n.max(10);
    let mut server = ChildProcess::spawn(&[
        "--serve-child".to_owned(),
        dir.path().display().to_string(),
        args.register_rate.to_string(),
        burst.to_string(),
        args.durability.clone(),
        args.server_sockets.max(1).to_string(),
    ])?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server.rss()?;

    let shares = split(n, args.sockets);
    let deadline = Instant::now() + REGISTER_TIME_LIMIT;
    let loads = shares
        .iter()
        .map(|clients| Load {
            kind: Kind::Register,
            clients: clients.clone(),
            ids: Vec::new(),
            in_flight: args.in_flight,
            deadline,
            max: u64::MAX,
        })
        .collect();
    let (registered, outcomes) = phase(server.addr, loads).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_registered = server.rss()?;
    let ids: Vec<Vec<String>> = outcomes.into_iter().map(|o| o.ids).collect();

    let (updated, _) = phase(server.addr, update_loads(args, shares, ids)).await?;
    let rss_after = server.rss()?;
    let held = server.count()?;
    let store_bytes =
        std::fs::metadata(dir.path().join("registrations.redb")).map_or(0, |m| m.len());
    drop(server);

    println!();
    println!(
        "N = {n} NoSec clients: server child with redb store (durability {}), per-source \
         Register limit raised to {} /s with a burst of {burst}",
        args.durability, args.register_rate
    );
    print_header();
    print_row("Register (2.01)", &registered);
    print_row("Update round trips (2.04)", &updated);
    print_row("(bare UDP echo, above)", echo);
    #[allow(
        clippy::cast_precision_loss,
        reason = "byte counts below 2^52 convert exactly"
    )]
    let per_client = (rss_registered.saturating_sub(rss_before)) as f64 / f64::from(n.max(1));
    let mib = |b: u64| {
        #[allow(clippy::cast_precision_loss, reason = "display only")]
        let b = b as f64;
        b / (1024.0 * 1024.0)
    };
    println!(
        "  server holds {held} registrations; RSS {:.1} MiB before, {:.1} MiB registered, {:.1} MiB \
         after Updates: {per_client:.0} bytes per registered client; redb file {:.1} MiB",
        mib(rss_before),
        mib(rss_registered),
        mib(rss_after),
        mib(store_bytes)
    );
    println!(
        "  Update rate / bare echo rate: {:.0} %   (load average {})",
        100.0 * updated.rate() / echo.rate(),
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
