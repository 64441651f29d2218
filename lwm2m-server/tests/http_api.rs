//! The HTTP API over real HTTP (a hyper client) against a `Server` with our `lwm2m-client` on
//! loopback: every device-management operation, observe and cancel with the SSE event stream,
//! credentials and bootstrap configurations.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use lwm2m_server::server::Server;
use serde_json::{json, Value};
use support::http::{call, call_json, Events};

const EP: &str = "http-node";
const WAIT: Duration = Duration::from_secs(10);

async fn start() -> (Server, SocketAddr) {
    let server = Server::builder()
        .request_timeout(Duration::from_secs(5))
        .bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    let app = lwm2m_server::http::router(server.handle());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, api)
}

/// The value of resource `name` in an LwM2M JSON document.
fn resource<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["e"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["n"] == name)
        .unwrap_or_else(|| panic!("no {name} in {document}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(
    clippy::too_many_lines,
    reason = "one client session walks through the API in order"
)]
async fn device_management_over_http() {
    let (server, api) = start().await;
    let mut events = Events::open(api).await;
    let _client = support::spawn(EP, server.local_addr());
    let registered = events.next_named("registered", WAIT).await;
    assert_eq!(registered["endpoint"], EP);
    assert_eq!(registered["binding"], "U");

    let (status, clients) = call_json(api, "GET", "/api/clients", "").await;
    assert_eq!(status, 200);
    assert_eq!(clients[0]["endpoint"], EP);

    // Read in the default format and in TLV; the answer is LwM2M JSON either way.
    let (status, device) = call_json(api, "GET", &format!("/api/clients/{EP}/3/0"), "").await;
    assert_eq!(status, 200, "{device}");
    assert_eq!(resource(&device, "0")["sv"], "Open Mobile Alliance");
    let (status, battery) = call_json(
        api,
        "GET",
        &format!("/api/clients/{EP}/3/0/9?format=tlv"),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(battery["e"][0]["v"], 100);
    let (status, _) = call(
        api,
        "GET",
        &format!("/api/clients/{EP}/3/0/9?format=xml"),
        "",
    )
    .await;
    assert_eq!(status, 400);

    // Write-Attributes, then Discover shows them.
    let (status, body) = call(
        api,
        "PUT",
        &format!("/api/clients/{EP}/3/0/9/attributes?pmin=1&pmax=2"),
        "",
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, links) =
        call_json(api, "GET", &format!("/api/clients/{EP}/3/0/9/discover"), "").await;
    assert_eq!(status, 200);
    assert_eq!(links[0]["path"], "/3/0/9");
    assert_eq!(links[0]["attributes"]["pmax"], "2");
    let (status, _) = call(
        api,
        "PUT",
        &format!("/api/clients/{EP}/3/0/9/attributes?pmin=x"),
        "",
    )
    .await;
    assert_eq!(status, 400);

    // Observe: the initial value in the answer, notifications on the event stream.
    let (status, initial) =
        call_json(api, "POST", &format!("/api/clients/{EP}/3/0/9/observe"), "").await;
    assert_eq!(status, 200, "{initial}");
    assert_eq!(initial["e"][0]["v"], 100);
    let notification = events.next_named("notification", WAIT).await;
    assert_eq!(notification["endpoint"], EP);
    assert_eq!(notification["path"], "/3/0/9");
    assert_eq!(notification["value"]["e"][0]["v"], 100);
    let observe = format!("/api/clients/{EP}/3/0/9/observe");
    assert_eq!(call(api, "DELETE", &observe, "").await.0, 204);
    assert_eq!(call(api, "DELETE", &observe, "").await.0, 404);

    // Create a Light Control instance, update it partially, read it, delete it.
    let light =
        json!({"bn": "/3311/0/", "e": [{"n": "5850", "bv": true}, {"n": "5706", "sv": "red"}]});
    let (status, created) = call_json(
        api,
        "POST",
        &format!("/api/clients/{EP}/3311"),
        &light.to_string(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["path"], "/3311/0");
    let blue = json!({"bn": "/3311/0/", "e": [{"n": "5706", "sv": "blue"}]});
    let (status, body) = call(
        api,
        "POST",
        &format!("/api/clients/{EP}/3311/0"),
        &blue.to_string(),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, instance) = call_json(api, "GET", &format!("/api/clients/{EP}/3311/0"), "").await;
    assert_eq!(resource(&instance, "5706")["sv"], "blue");
    assert_eq!(resource(&instance, "5850")["bv"], true);
    // Replace one resource with PUT.
    let colour = json!({"bn": "/3311/0/5706", "e": [{"sv": "green"}]});
    let (status, body) = call(
        api,
        "PUT",
        &format!("/api/clients/{EP}/3311/0/5706"),
        &colour.to_string(),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, value) = call_json(api, "GET", &format!("/api/clients/{EP}/3311/0/5706"), "").await;
    assert_eq!(value["e"][0]["sv"], "green");
    assert_eq!(
        call(api, "DELETE", &format!("/api/clients/{EP}/3311/0"), "")
            .await
            .0,
        204
    );
    assert_eq!(
        call(api, "GET", &format!("/api/clients/{EP}/3311/0"), "")
            .await
            .0,
        404
    );

    // Execute Reboot.
    assert_eq!(
        call(api, "POST", &format!("/api/clients/{EP}/3/0/4"), "")
            .await
            .0,
        204
    );
    // Errors.
    assert_eq!(call(api, "GET", "/api/clients/nobody/3/0", "").await.0, 404);
    assert_eq!(call(api, "GET", "/api/clients/nobody", "").await.0, 404);
    assert_eq!(
        call(api, "GET", &format!("/api/clients/{EP}/x/y"), "")
            .await
            .0,
        400
    );
    assert_eq!(
        call(api, "PUT", &format!("/api/clients/{EP}/3/0/14"), "not json")
            .await
            .0,
        400
    );
    assert_eq!(
        call(api, "POST", &format!("/api/clients/{EP}/3/0/0"), "")
            .await
            .0,
        405
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_over_http() {
    let (server, api) = start().await;
    let url = "/api/credentials/dev1";
    assert_eq!(call(api, "GET", url, "").await.0, 404);
    let psk = json!({"mode": "psk", "identity": "dev1-id", "key": "00112233"});
    assert_eq!(call(api, "PUT", url, &psk.to_string()).await.0, 204);
    let (status, stored) = call_json(api, "GET", url, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        stored,
        json!({"endpoint": "dev1", "mode": "psk", "identity": "dev1-id", "key_length": 4})
    );
    let info = server.handle().credential("dev1").unwrap().unwrap();
    assert_eq!(
        info.credential,
        lwm2m_server::store::Credential::Psk {
            identity: "dev1-id".into(),
            key: vec![0x00, 0x11, 0x22, 0x33]
        }
    );
    // Another endpoint cannot take the same identity; bad bodies are refused.
    let (status, _) = call(api, "PUT", "/api/credentials/dev2", &psk.to_string()).await;
    assert_eq!(status, 409);
    let bad_key = json!({"mode": "psk", "identity": "x", "key": "zz"});
    assert_eq!(call(api, "PUT", url, &bad_key.to_string()).await.0, 400);
    assert_eq!(call(api, "PUT", url, r#"{"mode":"kerberos"}"#).await.0, 400);
    // RPK and X.509.
    let rpk = json!({"mode": "rpk", "public_key": "3059301306"});
    assert_eq!(
        call(api, "PUT", "/api/credentials/dev3", &rpk.to_string())
            .await
            .0,
        204
    );
    let (_, stored) = call_json(api, "GET", "/api/credentials/dev3", "").await;
    assert_eq!(stored["public_key"], "3059301306");
    assert_eq!(call(api, "PUT", url, r#"{"mode":"x509"}"#).await.0, 204);
    assert_eq!(call_json(api, "GET", url, "").await.1["mode"], "x509");
    // NoSec removes them; DELETE of nothing is 404.
    assert_eq!(call(api, "PUT", url, r#"{"mode":"nosec"}"#).await.0, 204);
    assert_eq!(call(api, "GET", url, "").await.0, 404);
    assert_eq!(
        call(api, "DELETE", "/api/credentials/dev3", "").await.0,
        204
    );
    assert_eq!(
        call(api, "DELETE", "/api/credentials/dev3", "").await.0,
        404
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_configs_over_http() {
    let (server, api) = start().await;
    let config = json!({
        "delete": ["/0", "/1"],
        "writes": [
            {"path": "/0/1", "value": {"bn": "/0/1/", "e": [
                {"n": "0", "sv": "coap://127.0.0.1:5683"}, {"n": "1", "bv": false},
                {"n": "2", "v": 3}, {"n": "10", "v": 101}]}},
            {"path": "/1/0", "value": {"bn": "/1/0/", "e": [
                {"n": "0", "v": 101}, {"n": "1", "v": 300}, {"n": "6", "bv": false},
                {"n": "7", "sv": "U"}]}}
        ]
    });
    let url = "/api/bootstrap/dev1";
    assert_eq!(call(api, "GET", url, "").await.0, 404);
    let (status, body) = call(api, "PUT", url, &config.to_string()).await;
    assert_eq!(status, 204, "{body}");
    let (status, stored) = call_json(api, "GET", url, "").await;
    assert_eq!(status, 200);
    assert_eq!(stored["delete"], json!(["/0", "/1"]));
    assert_eq!(stored["writes"][1]["path"], "/1/0");
    assert_eq!(resource(&stored["writes"][1]["value"], "1")["v"], 300);
    let typed = server.handle().bootstrap_config("dev1").unwrap().unwrap();
    assert_eq!(typed.writes.len(), 2);

    // The default configuration.
    assert_eq!(call(api, "GET", "/api/bootstrap", "").await.0, 404);
    let default = json!({"delete": ["/"]});
    assert_eq!(
        call(api, "PUT", "/api/bootstrap", &default.to_string())
            .await
            .0,
        204
    );
    assert_eq!(
        call_json(api, "GET", "/api/bootstrap", "").await.1["delete"],
        json!(["/"])
    );
    assert_eq!(call(api, "DELETE", "/api/bootstrap", "").await.0, 204);
    assert_eq!(call(api, "GET", "/api/bootstrap", "").await.0, 404);

    // Bad configurations.
    let bad_path = json!({"delete": ["/x"]});
    assert_eq!(call(api, "PUT", url, &bad_path.to_string()).await.0, 400);
    let bad_value = json!({"writes": [{"path": "/1/0", "value": {"e": 1}}]});
    assert_eq!(call(api, "PUT", url, &bad_value.to_string()).await.0, 400);
    assert_eq!(call(api, "DELETE", url, "").await.0, 204);
    assert_eq!(call(api, "DELETE", url, "").await.0, 404);
    server.shutdown().await;
}
