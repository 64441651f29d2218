//! The `lwm2m-client` binary (a simulated device) against the scripted aiocoap LwM2M server of
//! `tests/peers/lwm2m_server.py`, on loopback UDP: it registers with every standard object,
//! answers reads with its simulated values, notifies live values, and de-registers on Ctrl-C.
#![cfg(feature = "cli")]

mod peers;

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lwm2m_codec::tlv::{records, Kind};
use peers::{code_and_text, payload};
use serde_json::json;
use tokio::process::{Child, Command};

const LIMIT: Duration = Duration::from_secs(20);

fn step(name: &str, method: &str, path: &str, accept: u16) -> serde_json::Value {
    json!({"name": name, "method": method, "path": path, "accept": accept})
}

/// Starts the binary against `port`; it is killed if the test fails before it exits.
fn start_binary(port: u64) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lwm2m-client"))
        .args([
            "--server",
            &format!("coap://127.0.0.1:{port}"),
            "--endpoint",
            "aiocoap-bin",
            "--lifetime",
            "60",
            "--update-interval",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the lwm2m-client binary")
}

/// Ctrl-C, as an operator would stop it: the device de-registers, then exits.
async fn interrupt(child: &Child) {
    let pid = child.id().expect("the binary is running").to_string();
    let status = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .await
        .expect("run kill");
    assert!(status.success(), "kill -INT {pid} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiocoap_server_manages_the_simulated_device() {
    let steps = json!([
        step("read-manufacturer", "GET", "/3/0/0", 0),
        step("read-device", "GET", "/3/0", 11542),
        step("read-bearer", "GET", "/4/0/0", 0),
        {"name": "observe-time", "method": "GET", "path": "/3/0/13", "accept": 0,
         "observe": {"count": 2, "timeout": 15}},
    ]);
    let config = json!({"steps": steps, "timeout": 60});
    let mut peer = peers::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let mut binary = start_binary(listening["port"].as_u64().unwrap());

    let register = peer.expect("register", LIMIT).await;
    let context = peer.context();
    assert_eq!(register["code"], "2.01", "{context}");
    assert_eq!(
        register["query"],
        json!(["ep=aiocoap-bin", "lt=60", "lwm2m=1.0", "b=U"]),
        "{context}"
    );
    assert_eq!(
        register["payload"],
        r#"</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>"#,
        "{context}"
    );

    let line = peer.step("read-manufacturer").await;
    assert_eq!(code_and_text(&line), ("2.05".into(), "lwm2m-rs".into()));
    let line = peer.step("read-device").await;
    assert_eq!(
        (&line["code"], &line["cf"]),
        (&json!("2.05"), &json!(11542)),
        "{}",
        peer.context()
    );
    let device = payload(&line);
    let value = |id: u16| {
        records(&device)
            .map(|r| r.expect("valid TLV"))
            .find(|r| r.id == id && r.kind == Kind::Resource)
            .unwrap_or_else(|| panic!("no resource {id}"))
    };
    assert_eq!(value(1).as_str(), Ok("Simulated Device"));
    assert_eq!(value(2).as_str(), Ok("SIM-00000001"));
    assert_eq!(value(16).as_str(), Ok("U"));
    assert_eq!(value(9).as_integer(), Ok(99));
    let line = peer.step("read-bearer").await;
    // Network Bearer 6 is LTE-FDD.
    assert_eq!(code_and_text(&line), ("2.05".into(), "6".into()));

    // Current Time changes every second in the simulation: each notification is a later time.
    let first = peer.step("observe-time").await;
    let (code, text) = code_and_text(&first);
    assert_eq!(code, "2.05", "{}", peer.context());
    let mut times = vec![text.parse::<i64>().expect("a time")];
    for _ in 0..2 {
        let notify = peer.expect("notify", LIMIT).await;
        let (code, text) = code_and_text(&notify);
        assert_eq!(code, "2.05", "{}", peer.context());
        times.push(text.parse().expect("a time"));
    }
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let now = i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    assert!((now - times[2]).abs() <= 5, "{times:?} vs now {now}");
    peer.expect("steps_done", LIMIT).await;

    interrupt(&binary).await;
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], register["location"]);
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    let status = tokio::time::timeout(LIMIT, binary.wait())
        .await
        .expect("the binary exits after Ctrl-C")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// `--bootstrap`: the binary holds only a Bootstrap-Server account for `--server`, bootstraps
/// from the peer's Bootstrap-Server (client-initiated), registers with the server account it
/// was written and is managed; over `coap://`, and over `coaps://` with the `--psk-*` flags
/// (the peer's Bootstrap-Server and LwM2M server then both listen on tinydtls only).
async fn binary_bootstraps(dtls: bool) {
    const IDENTITY: &str = "aiocoap-bin-bs";
    let key: &[u8] = b"0123456789abcdef";
    let mut config = json!({
        "bootstrap": {
            "ssid": 123, "lifetime": 90, "security_instance": 1, "server_instance": 1,
            "dtls": dtls,
        },
        "steps": [step("read-manufacturer", "GET", "/3/0/0", 0)],
        "timeout": 60,
    });
    if dtls {
        config["dtls"] = json!({"identity": IDENTITY, "key_hex": peers::hex(key)});
    }
    let mut peer = peers::spawn("lwm2m_server.py", &[&config.to_string()]);
    let listening = peer.expect("listening", LIMIT).await;
    let bs_port = listening["bs_port"].as_u64().unwrap();
    let scheme = if dtls { "coaps" } else { "coap" };
    let mut args = vec![
        "--server".to_owned(),
        format!("{scheme}://127.0.0.1:{bs_port}"),
        "--bootstrap".to_owned(),
        "--endpoint".to_owned(),
        "aiocoap-bin-bs".to_owned(),
    ];
    if dtls {
        args.extend([
            "--psk-identity".to_owned(),
            IDENTITY.to_owned(),
            "--psk-key".to_owned(),
            peers::hex(key),
        ]);
    }
    let mut binary = Command::new(env!("CARGO_BIN_EXE_lwm2m-client"))
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the lwm2m-client binary");

    let request = peer.expect("bootstrap_request", LIMIT).await;
    assert_eq!(
        (&request["query"], &request["code"]),
        (&json!(["ep=aiocoap-bin-bs"]), &json!("2.04")),
        "{}",
        peer.context()
    );
    for (name, code) in [
        ("bs-delete", "2.02"),
        ("bs-write-security", "2.04"),
        ("bs-write-server", "2.04"),
        ("bs-discover", "2.05"),
        ("bs-finish", "2.04"),
    ] {
        let line = peer.step(name).await;
        assert_eq!(line["code"], code, "{name}: {}", peer.context());
        if name == "bs-discover" {
            let links = String::from_utf8(payload(&line)).unwrap();
            assert!(
                links.contains("</0/0>") && links.contains("</1/1>;ssid=123"),
                "{links}"
            );
        }
    }
    // The account written by the Bootstrap-Server: lifetime 90, SSID 123.
    let register = peer.expect("register", LIMIT).await;
    let context = peer.context();
    assert_eq!(register["code"], "2.01", "{context}");
    assert_eq!(
        register["query"],
        json!(["ep=aiocoap-bin-bs", "lt=90", "lwm2m=1.0", "b=U"]),
        "{context}"
    );
    let line = peer.step("read-manufacturer").await;
    assert_eq!(code_and_text(&line), ("2.05".into(), "lwm2m-rs".into()));
    peer.expect("steps_done", LIMIT).await;

    interrupt(&binary).await;
    let deregister = peer.expect("deregister", LIMIT).await;
    assert_eq!(deregister["location"], register["location"]);
    peer.expect("done", LIMIT).await;
    peer.finish(LIMIT).await;
    let status = tokio::time::timeout(LIMIT, binary.wait())
        .await
        .expect("the binary exits after Ctrl-C")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_bootstraps_then_registers() {
    binary_bootstraps(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_bootstraps_over_dtls_psk_then_registers() {
    binary_bootstraps(true).await;
}
