"""A scripted OMA LwM2M 1.0 server (and Bootstrap-Server) written with aiocoap, driving the
lwm2m-rs client in lwm2m-client/tests/aiocoap_server*.rs.

Usage: lwm2m_server.py CONFIG_JSON

CONFIG_JSON is an object:
  "steps":      the requests sent to the client once it has registered, in order; each is
                {"name", "method": GET|PUT|POST|DELETE, "path": "/3/0/0", "accept"?, "cf"?,
                 "payload_hex"?, "query"?: ["pmin=1", ...], "observe"?: {"count", "timeout"},
                 "background"?, "payload_image"?, "expand_port"?: the payload's "{port}"
                 becomes the LwM2M server's port}
  "bootstrap":  optional {"ssid", "lifetime", "security_instance", "server_instance"}: the
                peer then also plays the Bootstrap-Server: it answers POST /bs?ep= with 2.04,
                sends Delete /, Writes a Security and a Server instance (TLV, encoded here)
                pointing at its own LwM2M server port, Bootstrap-Discover / and Finish.
                The Bootstrap-Server is coap:// (udp6), or coaps:// with the "dtls" key
                when it has "dtls": true; with "dtls" the Security instance it writes is the
                coaps:// LwM2M server with that pre-shared key.
  "forget_updates": optional count: the first Updates are answered 4.04 (the server forgot
                the registration), so the client must register again.
  "registrations": how many Registers to wait for before running the steps (default 1).
  "image_file": optional path of a firmware image: a step with "payload_image": true sends
                its bytes (aiocoap splits a large payload into Block1 blocks itself), and
                GET /fw serves them (aiocoap answers with Block2 blocks itself, cf 42).
  "dtls":       optional {"identity": ASCII, "key_hex": HEX}: the LwM2M server listens on
                coaps:// (aiocoap's tinydtls_server transport) with that pre-shared key
                instead of coap://, and sends its steps through the client's DTLS session
                (recognize_dtls_remotes patches aiocoap 0.4.17 to allow that).
Besides the requests, a step may be {"name", "method": "AWAIT", "observation": NAME,
"payload_hex": H, "timeout"?}: it waits until the background observation NAME (an observe
step with "background": true, which runs beside the next steps) got a notification with
payload H, and reports code "found" or "timeout".
  "timeout":    seconds for the whole session (default 60).

With LWM2M_PEER_DEBUG set in the environment, aiocoap logs at DEBUG level on stderr (which the
tests show when they fail).

It prints one JSON object per line, which the Rust test asserts on:
  {"event": "listening", "port": P, "bs_port": B|null}
  {"event": "bootstrap_request", "query": [...], "code": "2.04"}
  {"event": "register", "query": [...], "cf": 40, "payload": "...", "links": [...],
   "problems": [...], "code": "2.01", "location": "rd/..."}
  {"event": "step", "name": N, "code": "2.05", "cf": C|null, "payload_hex": "...",
   "location": "...", "t": seconds since the session start}
  {"event": "notify", "name": N, "code": ..., "cf": ..., "payload_hex": ..., "t": seconds since
   the first response of the observation}
  {"event": "fw_get", "block2": [num, more, szx]|null}   (each GET of /fw)
  {"event": "steps_done"}
  {"event": "update", "query": [...], "payload": "...", "code": "2.04"|"4.04"}
  {"event": "deregister", "location": "rd/..."}
  {"event": "done"}          (after the De-register, or "error" with a message)
"""

import asyncio
import json
import logging
import os
import socket
import sys
import time

import aiocoap
import aiocoap.credentials
import aiocoap.resource as resource
from aiocoap.numbers.codes import Code
from aiocoap.util import linkformat

METHODS = {"GET": Code.GET, "PUT": Code.PUT, "POST": Code.POST, "DELETE": Code.DELETE}
LINK_FORMAT = 40
TLV = 11542


def report(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def cf_of(message):
    cf = message.opt.content_format
    return None if cf is None else int(cf)


# --- TLV (OMA LwM2M TS 1.0 section 6.4.3), written independently of lwm2m-codec ------------


def tlv_record(kind, ident, value):
    """One record: kind 0 object instance, 3 resource with value."""
    type_byte = kind << 6
    ident_bytes = bytes([ident]) if ident < 256 else ident.to_bytes(2, "big")
    if ident >= 256:
        type_byte |= 0x20
    n = len(value)
    if n < 8:
        type_byte |= n
        length = b""
    elif n < 0x100:
        type_byte |= 0x08
        length = bytes([n])
    elif n < 0x10000:
        type_byte |= 0x10
        length = n.to_bytes(2, "big")
    else:
        type_byte |= 0x18
        length = n.to_bytes(3, "big")
    return bytes([type_byte]) + ident_bytes + length + value


def tlv_int(value):
    for size in (1, 2, 4, 8):
        if -(1 << (8 * size - 1)) <= value < (1 << (8 * size - 1)):
            return value.to_bytes(size, "big", signed=True)
    raise ValueError(value)


def resources(pairs):
    out = b""
    for ident, value in pairs:
        if isinstance(value, bool):
            value = b"\x01" if value else b"\x00"
        elif isinstance(value, int):
            value = tlv_int(value)
        elif isinstance(value, str):
            value = value.encode()
        out += tlv_record(3, ident, value)
    return out


def security_instance(instance, uri, ssid, psk=None):
    """NoSec (mode 3), or PSK (mode 0) when psk is (identity, key)."""
    mode, identity, key = (3, b"", b"") if psk is None else (0, psk[0], psk[1])
    body = resources(
        [(0, uri), (1, False), (2, mode), (3, identity), (4, b""), (5, key), (10, ssid)]
    )
    return tlv_record(0, instance, body)


def server_instance(instance, ssid, lifetime):
    body = resources([(0, ssid), (1, lifetime), (6, False), (7, "U")])
    return tlv_record(0, instance, body)


# --- The registration interface --------------------------------------------------------------


class Session:
    def __init__(self):
        self.start = time.monotonic()
        self.client = None  # the remote of the registered client
        self.registered = asyncio.Event()
        self.registrations = 0
        self.forget_updates = 0
        self.deregistered = asyncio.Event()
        self.bs_client = None
        self.bs_requested = asyncio.Event()
        self.site = None
        self.location = None
        self.image = b""
        self.port = None
        self.observations = {}
        self.background = []


def registration_problems(query, cf, payload):
    """What is wrong with a Register, per TS 1.0 section 5.3.1 (empty: accept)."""
    problems = []
    params = {}
    for item in query:
        key, _, value = item.partition("=")
        params[key] = value
    if not params.get("ep"):
        problems.append("no ep")
    lifetime = params.get("lt")
    if lifetime is not None and not (lifetime.isdigit() and int(lifetime) > 0):
        problems.append("bad lt")
    if params.get("lwm2m") != "1.0":
        problems.append("lwm2m is not 1.0")
    if params.get("b") not in ("U", "UQ"):
        problems.append("bad binding")
    if cf != LINK_FORMAT:
        problems.append("content format is not 40")
    try:
        links = [link.href for link in linkformat.parse(payload.decode()).links]
    except Exception as error:  # any parse failure is a bad payload
        problems.append(f"bad link format: {error}")
        links = []
    if not any(href == "/3/0" for href in links):
        problems.append("no </3/0>")
    return problems, links


class Registration(resource.Resource):
    """/rd/<id>: Update (POST) and De-register (DELETE)."""

    def __init__(self, session, location):
        super().__init__()
        self.session = session
        self.location = location

    async def render_post(self, request):
        forget = self.session.forget_updates > 0
        if forget:
            self.session.forget_updates -= 1
        report(
            event="update",
            query=list(request.opt.uri_query),
            payload=request.payload.decode(errors="replace"),
            code="4.04" if forget else "2.04",
        )
        if forget:
            return aiocoap.Message(code=Code.NOT_FOUND)
        return aiocoap.Message(code=Code.CHANGED)

    async def render_delete(self, request):
        report(event="deregister", location=self.location)
        self.session.deregistered.set()
        return aiocoap.Message(code=Code.DELETED)


class Directory(resource.Resource):
    """/rd: Register."""

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.count = 0

    async def render_post(self, request):
        query = list(request.opt.uri_query)
        cf = cf_of(request)
        problems, links = registration_problems(query, cf, request.payload)
        fields = dict(
            event="register",
            query=query,
            cf=cf,
            payload=request.payload.decode(errors="replace"),
            links=links,
            problems=problems,
        )
        if problems:
            report(code="4.00", **fields)
            return aiocoap.Message(code=Code.BAD_REQUEST)
        self.count += 1
        ident = f"peer{self.count}"
        location = f"rd/{ident}"
        self.session.site.add_resource(["rd", ident], Registration(self.session, location))
        self.session.client = request.remote
        self.session.location = location
        report(code="2.01", location=location, **fields)
        self.session.registrations += 1
        self.session.registered.set()
        return aiocoap.Message(code=Code.CREATED, location_path=["rd", ident])


class FirmwareImage(resource.Resource):
    """/fw: the firmware image, for a Package URI (aiocoap cuts it into Block2 blocks)."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    async def render_get(self, request):
        block2 = request.opt.block2
        report(
            event="fw_get",
            block2=None if block2 is None else [block2.block_number, block2.more, block2.size_exponent],
        )
        return aiocoap.Message(code=Code.CONTENT, content_format=42, payload=self.session.image)


class BootstrapRequest(resource.Resource):
    """/bs: Bootstrap-Request."""

    def __init__(self, session):
        super().__init__()
        self.session = session

    async def render_post(self, request):
        query = list(request.opt.uri_query)
        ok = any(item.startswith("ep=") and len(item) > 3 for item in query)
        report(event="bootstrap_request", query=query, code="2.04" if ok else "4.00")
        if not ok:
            return aiocoap.Message(code=Code.BAD_REQUEST)
        self.session.bs_client = request.remote
        self.session.bs_requested.set()
        return aiocoap.Message(code=Code.CHANGED)


# --- Requests to the client ------------------------------------------------------------------


def build(step, remote, image, port):
    path = [segment for segment in step["path"].split("/") if segment]
    if step.get("payload_image"):
        body = image
    else:
        body = bytes.fromhex(step.get("payload_hex", ""))
    if step.get("expand_port"):
        body = body.replace(b"{port}", str(port).encode())
    message = aiocoap.Message(code=METHODS[step["method"]], uri_path=path, payload=body)
    message.remote = remote
    if "accept" in step:
        message.opt.accept = step["accept"]
    if "cf" in step:
        message.opt.content_format = step["cf"]
    if step.get("query"):
        message.opt.uri_query = step["query"]
    return message


def response_fields(response):
    return dict(
        code=response.code.dotted,
        cf=cf_of(response),
        payload_hex=response.payload.hex(),
        location="/".join(response.opt.location_path),
    )


class Observation:
    """The notifications of a background observation so far."""

    def __init__(self):
        self.payloads = []
        self.changed = asyncio.Condition()

    async def add(self, payload):
        async with self.changed:
            self.payloads.append(payload)
            self.changed.notify_all()


async def await_notification(session, step):
    observation = session.observations[step["observation"]]
    wanted = bytes.fromhex(step["payload_hex"])

    async def seen():
        async with observation.changed:
            await observation.changed.wait_for(lambda: wanted in observation.payloads)

    try:
        await asyncio.wait_for(seen(), step.get("timeout", 30))
        code = "found"
    except asyncio.TimeoutError:
        code = "timeout"
    report(
        event="step",
        name=step["name"],
        t=round(time.monotonic() - session.start, 3),
        code=code,
        cf=None,
        payload_hex=step["payload_hex"],
        location="",
    )


async def run_step(context, session, step):
    if step["method"] == "AWAIT":
        await await_notification(session, step)
        return
    remote = session.client if step.get("to") != "bs" else session.bs_client
    message = build(step, remote, session.image, session.port)
    observe = step.get("observe")
    if observe is not None:
        message.opt.observe = 0
    pending = context.request(message)
    response = await pending.response
    report(
        event="step",
        name=step["name"],
        t=round(time.monotonic() - session.start, 3),
        observed=response.opt.observe is not None,
        **response_fields(response),
    )
    if observe is None:
        return
    first = time.monotonic()
    seen = 0
    observation = Observation()
    session.observations[step["name"]] = observation

    async def collect():
        nonlocal seen
        async for notification in pending.observation:
            seen += 1
            report(
                event="notify",
                name=step["name"],
                t=round(time.monotonic() - first, 3),
                **response_fields(notification),
            )
            await observation.add(notification.payload)
            if seen >= observe["count"]:
                return

    async def bounded():
        try:
            await asyncio.wait_for(collect(), observe.get("timeout", 15))
        except asyncio.TimeoutError:
            report(event="observe_timeout", name=step["name"], seen=seen)
        pending.observation.cancel()

    if step.get("background"):
        session.background.append(asyncio.create_task(bounded()))
    else:
        await bounded()


async def bootstrap(context, session, config, server_port, dtls=None):
    """Delete /, Write Security and Server, Bootstrap-Discover /, Finish. With dtls (the LwM2M
    server on coaps://), the Security instance is a coaps:// URI with that pre-shared key."""
    ssid = config["ssid"]
    if dtls is None:
        uri, psk = f"coap://127.0.0.1:{server_port}", None
    else:
        uri = f"coaps://127.0.0.1:{server_port}"
        psk = (dtls["identity"].encode(), bytes.fromhex(dtls["key_hex"]))
    si, sv = config["security_instance"], config["server_instance"]
    steps = [
        dict(name="bs-delete", method="DELETE", path="/"),
        dict(
            name="bs-write-security",
            method="PUT",
            path=f"/0/{si}",
            cf=TLV,
            payload_hex=security_instance(si, uri, ssid, psk).hex(),
        ),
        dict(
            name="bs-write-server",
            method="PUT",
            path=f"/1/{sv}",
            cf=TLV,
            payload_hex=server_instance(sv, ssid, config["lifetime"]).hex(),
        ),
        dict(name="bs-discover", method="GET", path="/", accept=LINK_FORMAT),
        dict(name="bs-finish", method="POST", path="/bs"),
    ]
    for step in steps:
        step["to"] = "bs"
        await run_step(context, session, step)


def bound_port(context):
    """The UDP port the context's only transport (udp6 or tinydtls_server) is bound to."""
    for interface in context.request_interfaces:
        messages = getattr(interface, "token_interface", None)
        message_interface = getattr(messages, "message_interface", None)
        transport = getattr(message_interface, "transport", None)
        if transport is None:
            # tinydtls_server keeps its datagram transport in its socket pool.
            transport = getattr(getattr(message_interface, "_pool", None), "_transport", None)
        if transport is not None:
            return transport.get_extra_info("socket").getsockname()[1]
    raise RuntimeError("no UDP transport in the context")


def free_udp_port():
    """A loopback UDP port nobody uses now. tinydtls_server cannot bind port 0: it adds
    5684 - 5683 to the port it is given (so that the CoAP port becomes the CoAPS port), so the
    port is picked here and the bind asks for one less."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return port if port > 1 else free_udp_port()


def recognize_dtls_remotes():
    """Lets the tinydtls_server transport send requests of its own (the LwM2M server's Read,
    Write and Observe) to a client that connected to it. aiocoap 0.4.17's
    MessageInterfaceTinyDTLSServer inherits recognize_remote from the plain simplesocketserver,
    which accepts only that module's plain _Address, so a request to the DTLS remote a Register
    came from fails with NoRequestInterface. The DTLS remote (_AddressDTLS) keeps the server's
    socket pool as its _protocol and sends through its DTLS session: recognize it by that."""
    from aiocoap.transports import tinydtls_server

    async def recognize_remote(self, remote):
        return (
            isinstance(remote, tinydtls_server._AddressDTLS)
            and remote._protocol is self._pool
        )

    tinydtls_server.MessageInterfaceTinyDTLSServer.recognize_remote = recognize_remote


async def lwm2m_context(site, config, dtls=True):
    """The LwM2M server's context: coap:// on udp6, or coaps:// with a PSK on tinydtls_server
    (when the config has "dtls" and dtls is true)."""
    dtls = config.get("dtls") if dtls else None
    if dtls is None:
        context = await aiocoap.Context.create_server_context(
            site, bind=("127.0.0.1", 0), transports=["udp6"]
        )
        return context, bound_port(context)
    recognize_dtls_remotes()
    credentials = aiocoap.credentials.CredentialsMap()
    credentials.load_from_dict(
        {
            ":lwm2m-client": {
                "dtls": {
                    "psk": {"hex": dtls["key_hex"]},
                    "client-identity": {"ascii": dtls["identity"]},
                }
            }
        }
    )
    context = await aiocoap.Context.create_server_context(
        site,
        bind=("127.0.0.1", free_udp_port() - 1),
        transports=["tinydtls_server"],
        server_credentials=credentials,
    )
    return context, bound_port(context)


async def main(config):
    session = Session()
    session.forget_updates = config.get("forget_updates", 0)
    if config.get("image_file"):
        with open(config["image_file"], "rb") as image:
            session.image = image.read()
    site = resource.Site()
    session.site = site
    site.add_resource(["rd"], Directory(session))
    site.add_resource(["fw"], FirmwareImage(session))
    context, port = await lwm2m_context(site, config)
    session.port = port
    contexts = [context]
    bs_context = None
    try:
        bs_port = None
        if config.get("bootstrap"):
            bs_site = resource.Site()
            bs_site.add_resource(["bs"], BootstrapRequest(session))
            bs_dtls = bool(config["bootstrap"].get("dtls"))
            bs_context, bs_port = await lwm2m_context(bs_site, config, dtls=bs_dtls)
            contexts.append(bs_context)
        report(event="listening", port=port, bs_port=bs_port)
        if bs_context is not None:
            await session.bs_requested.wait()
            await bootstrap(bs_context, session, config["bootstrap"], port, config.get("dtls"))
        while session.registrations < config.get("registrations", 1):
            session.registered.clear()
            await session.registered.wait()
        for step in config.get("steps", []):
            await run_step(context, session, step)
        for task in session.background:
            await task
        report(event="steps_done")
        await session.deregistered.wait()
        report(event="done")
    finally:
        for ctx in contexts:
            await ctx.shutdown()


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    if os.environ.get("LWM2M_PEER_DEBUG"):
        # aiocoap's and tinydtls's own logs, on stderr (the tests show it on failure).
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    try:
        asyncio.run(asyncio.wait_for(main(settings), settings.get("timeout", 60)))
    except asyncio.TimeoutError:
        report(event="error", message="session timed out")
        sys.exit(1)
