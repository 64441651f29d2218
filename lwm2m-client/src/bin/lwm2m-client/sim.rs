//! The simulated device: its objects with plausible starting values, and the drift that changes
//! them every few seconds (battery draining, radio and position wandering, traffic counters).

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lwm2m_client::firmware::{resolve_udp, FileSink};
use lwm2m_client::runtime::ClientHandle;
use lwm2m_client::{
    parse_coap_uri, BootstrapConfig, Client, ClientBuilder, DeviceObject, DtlsCredentials,
    FirmwareObject, TypedStore,
};
use lwm2m_objects::{
    ConnectivityMonitoring, ConnectivityStatistics, Device, Location, Security, Server,
};
use lwm2m_transport::Instant;

/// The server account every simulated device registers with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Account<'a> {
    /// Short Server ID.
    pub short_server_id: u16,
    /// Registration lifetime in seconds.
    pub lifetime: u32,
    /// `U` or `UQ`.
    pub binding: &'a str,
    /// DTLS pre-shared key (identity, key): the server is `coaps://`.
    pub psk: Option<(&'a [u8], &'a [u8])>,
    /// DTLS certificates (security mode 2) or raw public keys (mode 1): the server is
    /// `coaps://`.
    pub keys: Option<&'a DtlsKeys>,
    /// Where firmware images are written.
    pub firmware_dir: &'a Path,
    /// The server is a Bootstrap-Server: the device holds only its account and gets its
    /// server accounts by client-initiated bootstrap.
    pub bootstrap: bool,
}

/// The DER of a device's certificate, its private key (PKCS#8) and the server's (or a CA's)
/// certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateKeys {
    pub certificate: Vec<u8>,
    pub private_key: Vec<u8>,
    pub server_certificate: Vec<u8>,
}

/// The DER of a device's raw public key (`SubjectPublicKeyInfo`), its private key (PKCS#8) and
/// the server's public key (`SubjectPublicKeyInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawPublicKeys {
    /// The device's `SubjectPublicKeyInfo`.
    pub public: Vec<u8>,
    /// The device's PKCS#8 private key.
    pub private: Vec<u8>,
    /// The server's `SubjectPublicKeyInfo`.
    pub server: Vec<u8>,
}

/// The DTLS keys of a `coaps://` server account other than a pre-shared key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DtlsKeys {
    /// Security mode 2.
    Certificate(CertificateKeys),
    /// Security mode 1.
    RawPublicKey(RawPublicKeys),
}

/// Device number `k` (1-based) named `name`, registering with `server`.
pub(crate) fn build_client(
    account: &Account<'_>,
    name: &str,
    server: SocketAddr,
    k: u32,
) -> Result<Client<SocketAddr>, String> {
    let ssid = i64::from(account.short_server_id);
    let security = match (account.psk, account.keys) {
        (_, Some(DtlsKeys::Certificate(keys))) => Security {
            lwm2m_server_uri: format!("coaps://{server}").into(),
            security_mode: 2,
            public_key_or_identity: keys.certificate.clone(),
            server_public_key: keys.server_certificate.clone(),
            secret_key: keys.private_key.clone(),
            short_server_id: Some(ssid),
            ..Security::default()
        },
        (_, Some(DtlsKeys::RawPublicKey(keys))) => Security {
            lwm2m_server_uri: format!("coaps://{server}").into(),
            security_mode: 1,
            public_key_or_identity: keys.public.clone(),
            server_public_key: keys.server.clone(),
            secret_key: keys.private.clone(),
            short_server_id: Some(ssid),
            ..Security::default()
        },
        (Some((identity, key)), None) => Security {
            lwm2m_server_uri: format!("coaps://{server}").into(),
            security_mode: 0,
            public_key_or_identity: identity.to_vec(),
            secret_key: key.to_vec(),
            short_server_id: Some(ssid),
            ..Security::default()
        },
        (None, None) => Security {
            lwm2m_server_uri: format!("coap://{server}").into(),
            security_mode: 3,
            short_server_id: Some(ssid),
            ..Security::default()
        },
    };
    let server_instance = Server {
        short_server_id: ssid,
        lifetime: i64::from(account.lifetime),
        binding: account.binding.into(),
        notification_storing_when_disabled_or_offline: true,
        ..Server::default()
    };
    let builder = if account.bootstrap {
        // The Bootstrap-Server account: the same URI and credentials as a server account.
        let mut config =
            BootstrapConfig::new(server, security.lwm2m_server_uri.to_string(), |uri| {
                parse_coap_uri(uri).ok()
            });
        if let Some(credentials) = DtlsCredentials::from_security(
            security.security_mode,
            &security.public_key_or_identity,
            &security.server_public_key,
            &security.secret_key,
        ) {
            config = config.credentials(credentials);
        }
        ClientBuilder::new(name).bootstrap_server(config)
    } else {
        ClientBuilder::new(name)
            .factory_objects([security], [server_instance])
            .map_err(|e| e.to_string())?
    };
    builder
        .object(DeviceObject::new(initial_device(account.binding, k)))
        .object(TypedStore::with_instances([(0, initial_connectivity(k))]))
        .object(firmware(account.firmware_dir, name))
        .firmware_resolver(resolve_udp)
        .object(TypedStore::with_instances([(0, initial_location(k))]))
        .object(TypedStore::with_instances([(
            0,
            ConnectivityStatistics {
                tx_data: Some(0),
                rx_data: Some(0),
                max_message_size: Some(1152),
                average_message_size: Some(0),
                collection_period: Some(0),
                ..ConnectivityStatistics::default()
            },
        )]))
        .build()
        .map_err(|e| format!("cannot build device {name}: {e}"))
}

fn unix_time() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn initial_device(binding: &str, k: u32) -> Device {
    Device {
        manufacturer: Some("lwm2m-rs".into()),
        model_number: Some("Simulated Device".into()),
        serial_number: Some(format!("SIM-{k:08}").into()),
        firmware_version: Some(env!("CARGO_PKG_VERSION").into()),
        available_power_sources: Some([(0, 1), (1, 5)].into()),
        power_source_voltage: Some([(0, 3700), (1, 5000)].into()),
        power_source_current: Some([(0, 120), (1, 0)].into()),
        battery_level: Some(100 - i64::from(k % 20)),
        memory_free: Some(48_000),
        memory_total: Some(65_536),
        current_time: Some(unix_time()),
        utc_offset: Some("+00:00".into()),
        timezone: Some("Etc/UTC".into()),
        supported_binding_and_modes: binding.into(),
        device_type: Some("simulator".into()),
        hardware_version: Some("1.0".into()),
        software_version: Some(env!("CARGO_PKG_VERSION").into()),
        battery_status: Some(0),
        ..Device::default()
    }
}

fn initial_connectivity(k: u32) -> ConnectivityMonitoring {
    ConnectivityMonitoring {
        network_bearer: 6, // LTE-FDD
        available_network_bearer: [(0, 6), (1, 7)].into(),
        radio_signal_strength: -80,
        link_quality: Some(70),
        ip_addresses: [(
            0,
            format!("10.{}.{}.{}", (k >> 16) & 0xff, (k >> 8) & 0xff, k & 0xff).into(),
        )]
        .into(),
        router_ip_addresses: Some([(0, "10.0.0.1".into())].into()),
        link_utilization: Some(5),
        apn: Some([(0, "internet".into())].into()),
        cell_id: Some(i64::from(20_000 + k % 500)),
        smnc: Some(1),
        smcc: Some(262),
    }
}

/// Firmware Update: images go to `<dir>/<name>.bin`; "installing" one logs it.
fn firmware(dir: &Path, name: &str) -> FirmwareObject {
    let sink = FileSink::new(dir.join(format!("{name}.bin"))).on_apply(|image| {
        let size = std::fs::metadata(image).map_or(0, |m| m.len());
        tracing::info!(image = %image.display(), size, "installing the firmware image (simulated)");
        Ok(())
    });
    FirmwareObject::new(sink).with_package_info("lwm2m-rs-sim", env!("CARGO_PKG_VERSION"))
}

fn initial_location(k: u32) -> Location {
    // Devices start spread around a point, a few hundred metres apart.
    let offset = f64::from(k % 1000) * 0.001;
    Location {
        latitude: 52.52 + offset,
        longitude: 13.405 + offset,
        altitude: Some(34.0),
        radius: Some(10.0),
        timestamp: unix_time(),
        speed: Some(0.0),
        ..Location::default()
    }
}

/// The drifting values of one device between two changes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drift {
    rng: u64,
    battery: f64,
    signal: f64,
    quality: f64,
    latitude: f64,
    longitude: f64,
    tx: i64,
    rx: i64,
}

impl Drift {
    fn new(k: usize) -> Drift {
        let k = k as u32 + 1;
        let location = initial_location(k);
        Drift {
            rng: 0x9e37_79b9_7f4a_7c15 ^ (u64::from(k) << 17 | 1),
            battery: f64::from(100 - (k % 20) as i32),
            signal: -80.0,
            quality: 70.0,
            latitude: location.latitude,
            longitude: location.longitude,
            tx: 0,
            rx: 0,
        }
    }

    /// A number in [-1, 1) (xorshift64*: plenty for a simulation).
    fn jitter(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = (self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32;
        f64::from(bits) / f64::from(u32::MAX) * 2.0 - 1.0
    }

    fn step(&mut self) {
        self.battery = (self.battery - 0.05).max(0.0);
        self.signal = (self.signal + 2.0 * self.jitter()).clamp(-110.0, -50.0);
        self.quality = (self.quality + 3.0 * self.jitter()).clamp(0.0, 100.0);
        self.latitude += 0.0001 * self.jitter();
        self.longitude += 0.0001 * self.jitter();
        self.tx += 1 + (self.jitter().abs() * 3.0) as i64;
        self.rx += 1 + (self.jitter().abs() * 3.0) as i64;
    }
}

/// Changes every device's values every `interval`, through the handles.
pub(crate) async fn simulate(handles: Vec<ClientHandle>, interval: Duration) {
    let mut drift: Vec<Drift> = (0..handles.len()).map(Drift::new).collect();
    let mut ticker = tokio::time::interval(interval);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        for (handle, d) in handles.iter().zip(drift.iter_mut()) {
            d.step();
            let memory = 48_000 + (d.jitter() * 2_000.0) as i64;
            let values = *d;
            let sent =
                handle.spawn_with_client(move |client, now| apply(client, now, &values, memory));
            if sent.is_err() {
                return;
            }
        }
    }
}

fn apply(client: &mut Client<SocketAddr>, now: Instant, d: &Drift, memory: i64) {
    let time = unix_time();
    client.update_object(now, 3, |device: &mut DeviceObject| {
        let battery = d.battery.round() as i64;
        let values = device.device_mut();
        values.battery_level = Some(battery);
        values.memory_free = Some(memory);
        values.current_time = Some(time);
        // Error Code 1 is "low battery level".
        if battery < 10 {
            device.set_error(1);
        } else {
            device.clear_error(1);
        }
    });
    client.update_object(now, 4, |store: &mut TypedStore<ConnectivityMonitoring>| {
        if let Some(c) = store.get_mut(0) {
            c.radio_signal_strength = d.signal.round() as i64;
            c.link_quality = Some(d.quality.round() as i64);
        }
    });
    client.update_object(now, 6, |store: &mut TypedStore<Location>| {
        if let Some(l) = store.get_mut(0) {
            l.latitude = d.latitude;
            l.longitude = d.longitude;
            l.timestamp = time;
        }
    });
    client.update_object(now, 7, |store: &mut TypedStore<ConnectivityStatistics>| {
        if let Some(s) = store.get_mut(0) {
            s.tx_data = Some(d.tx);
            s.rx_data = Some(d.rx);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_stays_in_range() {
        let mut d = Drift::new(7);
        for _ in 0..10_000 {
            d.step();
            let j = d.jitter();
            assert!((-1.0..=1.0).contains(&j));
            assert!((-110.0..=-50.0).contains(&d.signal));
            assert!((0.0..=100.0).contains(&d.quality));
            assert!(d.battery >= 0.0);
        }
        assert!((d.latitude - 52.527).abs() < 1.0, "{}", d.latitude);
    }

    #[test]
    fn devices_build_with_every_object() {
        let account = Account {
            short_server_id: 101,
            lifetime: 60,
            binding: "UQ",
            psk: None,
            keys: None,
            firmware_dir: Path::new("/nonexistent"),
            bootstrap: false,
        };
        let client = build_client(&account, "d1", "127.0.0.1:5683".parse().unwrap(), 1).unwrap();
        assert!(client.object::<DeviceObject>(3).is_some());
        assert!(client
            .object::<TypedStore<ConnectivityMonitoring>>(4)
            .is_some());
        assert!(client.object::<FirmwareObject>(5).is_some());
        assert!(client.object::<TypedStore<Location>>(6).is_some());
        assert!(client
            .object::<TypedStore<ConnectivityStatistics>>(7)
            .is_some());
        let device: &DeviceObject = client.object(3).unwrap();
        assert_eq!(device.device().supported_binding_and_modes, "UQ");
        assert_eq!(
            device.device().serial_number.as_deref(),
            Some("SIM-00000001")
        );
    }

    #[test]
    fn a_bootstrap_device_holds_only_the_bootstrap_account() {
        let identity: &[u8] = b"dev";
        let key: &[u8] = b"0123456789abcdef";
        let account = Account {
            short_server_id: 101,
            lifetime: 60,
            binding: "U",
            psk: Some((identity, key)),
            keys: None,
            firmware_dir: Path::new("/nonexistent"),
            bootstrap: true,
        };
        let bs = "127.0.0.1:5784".parse().unwrap();
        let client = build_client(&account, "d3", bs, 3).unwrap();
        let security: &TypedStore<Security> = client.object(0).unwrap();
        let accounts: Vec<&Security> = security.iter().map(|(_, s)| s).collect();
        assert_eq!(accounts.len(), 1, "{accounts:?}");
        let bootstrap = accounts[0];
        assert!(bootstrap.bootstrap_server);
        assert_eq!(
            bootstrap.lwm2m_server_uri.as_str(),
            "coaps://127.0.0.1:5784"
        );
        assert_eq!(
            (
                bootstrap.security_mode,
                bootstrap.public_key_or_identity.as_slice()
            ),
            (0, identity)
        );
        assert_eq!(
            client.dtls_credentials(&bs),
            Some(DtlsCredentials::Psk {
                identity: identity.to_vec(),
                key: key.to_vec()
            })
        );
    }

    #[test]
    fn applying_a_drift_changes_the_objects() {
        let account = Account {
            short_server_id: 1,
            lifetime: 60,
            binding: "U",
            psk: None,
            keys: None,
            firmware_dir: Path::new("/nonexistent"),
            bootstrap: false,
        };
        let mut client =
            build_client(&account, "d2", "127.0.0.1:5683".parse().unwrap(), 2).unwrap();
        let mut d = Drift::new(1);
        for _ in 0..2_000 {
            d.step();
        }
        apply(&mut client, Instant::ZERO, &d, 47_000);
        let device: &DeviceObject = client.object(3).unwrap();
        assert_eq!(device.device().memory_free, Some(47_000));
        assert!(device.device().battery_level < Some(100));
        let location: &TypedStore<Location> = client.object(6).unwrap();
        assert!((location.get(0).unwrap().latitude - d.latitude).abs() < 1e-12);
        let stats: &TypedStore<ConnectivityStatistics> = client.object(7).unwrap();
        assert_eq!(stats.get(0).unwrap().tx_data, Some(d.tx));
    }
}
