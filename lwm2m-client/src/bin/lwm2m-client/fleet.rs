//! Running the devices: one client task per device on its own UDP socket (started at the
//! `--ramp` rate), the simulation, the registration count and the memory line once every
//! device is registered, and De-registering them all at the end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use lwm2m_client::runtime::{ClientHandle, ClientTask, RuntimeEvent};
use lwm2m_client::ClientEvent;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::args::Args;
use crate::sim::{build_client, simulate, Account, DtlsKeys};
use crate::Setup;

/// Logs what a server did to device `device` (1-based).
fn log_device_event(device: usize, event: &ClientEvent) {
    match event {
        ClientEvent::Executed { path, .. } => tracing::info!(device, %path, "executed"),
        ClientEvent::Written { path, .. } => tracing::info!(device, %path, "written"),
        ClientEvent::FirmwareStateChanged { state, result } => {
            tracing::info!(device, %state, result = result.value(), "firmware update");
        }
        _ => {}
    }
}

/// The server account every device gets from the flags.
fn account_of<'a>(args: &'a Args, keys: Option<&'a DtlsKeys>) -> Account<'a> {
    Account {
        short_server_id: args.short_server_id,
        lifetime: args.lifetime,
        binding: args.binding.as_str(),
        psk: args
            .psk_identity
            .as_deref()
            .zip(args.psk_key.as_ref())
            .map(|(identity, key)| (identity.as_bytes(), key.0.as_slice())),
        keys,
        firmware_dir: &args.firmware_dir,
        bootstrap: args.bootstrap,
    }
}

/// The endpoint name of device `k` (1-based).
fn endpoint_name(args: &Args, k: u32) -> String {
    if args.count == 1 {
        args.endpoint.clone()
    } else {
        format!("{}{k}", args.endpoint_prefix)
    }
}

pub(crate) async fn run(args: &Args, setup: &Setup) -> Result<(), String> {
    let server = setup.server;
    let count = args.count as usize;
    let rss_before = resident_bytes();
    let (events_tx, mut events) = mpsc::channel::<RuntimeEvent>(count.clamp(64, 4096));
    let local: SocketAddr = match server.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let account = account_of(args, setup.keys.as_ref());
    let mut handles = Vec::with_capacity(count);
    let started = tokio::time::Instant::now();
    for k in 1..=args.count {
        if args.ramp > 0 && k > 1 {
            let due = Duration::from_secs(u64::from(k - 1)) / args.ramp;
            tokio::time::sleep_until(started + due).await;
        }
        let name = endpoint_name(args, k);
        let client = build_client(&account, &name, server, k)?;
        let socket = UdpSocket::bind(local).await.map_err(|e| {
            format!(
                "cannot bind a UDP socket for device {k} ({e}); for large fleets raise `ulimit -n`"
            )
        })?;
        let (task, handle) = ClientTask::new(client, socket);
        #[cfg(feature = "http")]
        let task = task.https_trust(setup.https_trust.clone());
        // The task logs its own failure; spawning `run` directly keeps each task small.
        drop(tokio::spawn(
            task.events(k as usize - 1, events_tx.clone()).run(),
        ));
        handles.push(handle);
    }
    drop(events_tx);
    tracing::info!(
        devices = count,
        server = %server,
        lifetime = args.lifetime,
        binding = args.binding.as_str(),
        "started"
    );

    let simulation = tokio::spawn(simulate(
        handles.clone(),
        Duration::from_secs(args.update_interval),
    ));
    let stop_at = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut registered = vec![false; count];
    let mut registered_count = 0usize;
    let mut memory_reported = false;
    let step = (count / 10).max(1);
    let stop = sleep_until(stop_at);
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(stop, interrupted);
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(RuntimeEvent { client, event }) = event else { break };
                match event {
                    ClientEvent::Registered { location, .. } => {
                        if let Some(slot) = registered.get_mut(client).filter(|r| !**r) {
                            *slot = true;
                            registered_count += 1;
                            if count == 1 {
                                tracing::info!(location = %location, "registered 1/1");
                            } else if registered_count.is_multiple_of(step) || registered_count == count {
                                tracing::info!("registered {registered_count}/{count}");
                            }
                        }
                    }
                    ClientEvent::Deregistered { .. } => {
                        if let Some(slot) = registered.get_mut(client).filter(|r| **r) {
                            *slot = false;
                            registered_count -= 1;
                        }
                    }
                    other => log_device_event(client + 1, &other),
                }
                if !memory_reported && registered_count == count {
                    memory_reported = true;
                    report_memory(rss_before, count);
                }
            }
            () = &mut stop => {
                tracing::info!("duration elapsed");
                break;
            }
            _ = &mut interrupted => {
                tracing::info!("interrupted");
                break;
            }
        }
    }
    simulation.abort();
    shutdown(handles, &mut events, registered_count).await;
    Ok(())
}

/// De-registers every device (in parallel, each waiting at most 5 s).
async fn shutdown(
    handles: Vec<ClientHandle>,
    events: &mut mpsc::Receiver<RuntimeEvent>,
    registered: usize,
) {
    let count = handles.len();
    let mut stopping = JoinSet::new();
    for handle in handles {
        stopping.spawn(async move { handle.shutdown(Duration::from_secs(5)).await.is_ok() });
    }
    let mut stopped = 0usize;
    let mut deregistered = 0usize;
    let mut count_event = |event: Option<RuntimeEvent>| {
        if let Some(RuntimeEvent {
            event: ClientEvent::Deregistered { .. },
            ..
        }) = event
        {
            deregistered += 1;
        }
    };
    // The events are read while the devices stop, so that a full channel drops none.
    let mut open = true;
    loop {
        tokio::select! {
            done = stopping.join_next() => match done {
                Some(done) => stopped += usize::from(matches!(done, Ok(true))),
                None => break,
            },
            event = events.recv(), if open => {
                open = event.is_some();
                count_event(event);
            }
        }
    }
    while let Ok(event) = events.try_recv() {
        count_event(Some(event));
    }
    tracing::info!("deregistered {deregistered}/{registered}; stopped {stopped}/{count}");
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Resident memory of this process, from `/proc/self/statm` (Linux; 4 KiB pages assumed).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn report_memory(before: Option<u64>, count: usize) {
    let (Some(before), Some(after)) = (before, resident_bytes()) else {
        tracing::info!("memory: RSS not available on this system");
        return;
    };
    let delta = after.saturating_sub(before);
    let per_device = delta / u64::try_from(count.max(1)).unwrap_or(u64::MAX);
    tracing::info!(
        "memory: {:.1} KiB per device (RSS {} KiB -> {} KiB, delta {} KiB over {count} devices)",
        f64::from(u32::try_from(per_device).unwrap_or(u32::MAX)) / 1024.0,
        before / 1024,
        after / 1024,
        delta / 1024,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use clap::Parser;

    #[test]
    fn fleet_devices_get_prefixed_names() {
        let args = Args::parse_from(["lwm2m-client", "--count", "3", "--endpoint-prefix", "x-"]);
        assert_eq!(endpoint_name(&args, 2), "x-2");
        let args = Args::parse_from(["lwm2m-client", "--endpoint", "solo"]);
        assert_eq!(endpoint_name(&args, 1), "solo");
        assert!(check(&args).is_ok());
    }
}
