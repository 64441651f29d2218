"""A scripted OMA LwM2M 1.0 client written with aiocoap, registering with the lwm2m-rs server in
lwm2m-server/tests/aiocoap_client*.rs.

Usage: lwm2m_client.py SERVER_URI ENDPOINT [hold]

From one UDP socket (bound to 127.0.0.1, any port) it:
  1. sends malformed registration requests and reports the server's codes: no ep, a bad lt,
     a bad link payload, and an Update of an unknown /rd/xyz;
  2. registers (ep, lt=60, lwm2m=1.0, b=U, links </1/0>,</3/0>);
  3. serves the Device object: GET /3/0 answers the Device instance TLV of the LwM2M TS
     (test vector 1.1, 121 bytes) or a Discover link list, GET /3/0/0 the manufacturer (text
     or TLV), GET /3/0/9 the battery level, observable; PUT /3/0/9 (Write-Attributes), POST
     /3/0/4 (Execute) and PUT /3/0/14 (a Write of the UTC offset) report what they received;
     aiocoap itself answers 4.04 and 4.05 for other paths and methods;
  4. once the battery is observed, changes it three times (99, 98, 97), each a notification;
  5. waits for a GET /3/0/0 (the test's signal that it has seen the notifications), then
     sends an Update (lt=120) and a De-register, and an Update of the now unknown location.
With `hold`, it stops after step 2 and serves until it is killed (or the 60 s limit).

It prints one JSON object per line, which the Rust test asserts on:
  {"event": "request", "name": N, "code": "2.01", "location": "rd/..."}
  {"event": "served", "method": "GET", "path": "3/0", "accept": A|null, "observe": O|null}
  {"event": "written", "path": "3/0/14", "cf": C|null, "payload_hex": "..."}
  {"event": "attributes", "path": "3/0/9", "query": [...]}
  {"event": "executed", "path": "3/0/4", "payload": "..."}
  {"event": "notified", "value": V}
  {"event": "holding"}       (with `hold`, once registered)
  {"event": "done"}          (or "error" with a message)
"""

import asyncio
import json
import sys

import aiocoap
import aiocoap.resource as resource
from aiocoap.numbers.codes import Code

TEXT = 0
LINK_FORMAT = 40
TLV = 11542

# Test vector 1.1 of /work/shared/spec/test-vectors.md: the Device object instance of the
# LwM2M TS 6.4.3.1 (manufacturer "Open Mobile Alliance", battery 100, UTC offset "+02:00", ...).
DEVICE_TLV = bytes.fromhex(
    "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65 C8 01 16 4C 69 67 68"
    " 74 77 65 69 67 68 74 20 4D 32 4D 20 43 6C 69 65 6E 74 C8 02 09 33 34 35 30 30 30 31 32 33"
    " C3 03 31 2E 30 86 06 41 00 01 41 01 05 88 07 08 42 00 0E D8 42 01 13 88 87 08 41 00 7D 42"
    " 01 03 84 C1 09 64 C1 0A 0F 83 0B 41 00 00 C4 0D 51 82 42 8F C6 0E 2B 30 32 3A 30 30 C1 10"
    " 55"
)
MANUFACTURER = b"Open Mobile Alliance"
# The Discover answer for /3/0: resources, the battery's attributes, Error Code's dimension.
DISCOVER = b"</3/0>,</3/0/0>,</3/0/4>,</3/0/9>;pmin=10;pmax=60,</3/0/11>;dim=1"


def report(**fields):
    print(json.dumps(fields, sort_keys=True), flush=True)


def served(request, path):
    observe = request.opt.observe
    accept = request.opt.accept
    report(
        event="served",
        method=str(request.code),
        path=path,
        accept=None if accept is None else int(accept),
        observe=observe,
    )


def content(payload, cf):
    message = aiocoap.Message(code=Code.CONTENT, payload=payload)
    message.opt.content_format = cf
    return message


def tlv_integer_resource(ident, value):
    """A resource-with-value TLV holding a 1-byte integer (all values used here fit)."""
    return bytes([0xC1, ident, value])


class DeviceInstance(resource.Resource):
    async def render_get(self, request):
        served(request, "3/0")
        if request.opt.accept == LINK_FORMAT:
            return content(DISCOVER, LINK_FORMAT)
        if request.opt.accept not in (None, TLV):
            return aiocoap.Message(code=Code.NOT_ACCEPTABLE)
        return content(DEVICE_TLV, TLV)


class Manufacturer(resource.Resource):
    def __init__(self, signal):
        super().__init__()
        self.signal = signal

    async def render_get(self, request):
        served(request, "3/0/0")
        self.signal.set()
        if request.opt.accept == TLV:
            return content(bytes([0xC8, 0x00, len(MANUFACTURER)]) + MANUFACTURER, TLV)
        if request.opt.accept not in (None, TEXT):
            return aiocoap.Message(code=Code.NOT_ACCEPTABLE)
        return content(MANUFACTURER, TEXT)


class Battery(resource.ObservableResource):
    def __init__(self, observed):
        super().__init__()
        self.level = 100
        self.observed = observed

    async def add_observation(self, request, server_observation):
        await super().add_observation(request, server_observation)
        self.observed.set()

    async def render_get(self, request):
        served(request, "3/0/9")
        accept = request.opt.accept
        if accept == TEXT:
            return content(str(self.level).encode(), TEXT)
        if accept in (None, TLV):
            return content(tlv_integer_resource(9, self.level), TLV)
        return aiocoap.Message(code=Code.NOT_ACCEPTABLE)

    async def render_put(self, request):
        report(event="attributes", path="3/0/9", query=list(request.opt.uri_query))
        return aiocoap.Message(code=Code.CHANGED)

    def change(self, level):
        self.level = level
        self.updated_state()


class Reboot(resource.Resource):
    async def render_post(self, request):
        report(event="executed", path="3/0/4", payload=request.payload.decode(errors="replace"))
        return aiocoap.Message(code=Code.CHANGED)


class UtcOffset(resource.Resource):
    async def render_put(self, request):
        cf = request.opt.content_format
        report(
            event="written",
            path="3/0/14",
            cf=None if cf is None else int(cf),
            payload_hex=request.payload.hex(),
        )
        return aiocoap.Message(code=Code.CHANGED)


async def send(context, name, code, uri, query=(), payload=b"", cf=None):
    message = aiocoap.Message(code=code, uri=uri, payload=payload)
    if query:
        message.opt.uri_query = list(query)
    if cf is not None:
        message.opt.content_format = cf
    response = await context.request(message).response
    location = "/".join(response.opt.location_path)
    report(event="request", name=name, code=response.code.dotted, location=location)
    return response


async def main(server, endpoint, hold):
    observed = asyncio.Event()
    signal = asyncio.Event()
    battery = Battery(observed)
    site = resource.Site()
    site.add_resource(["3", "0"], DeviceInstance())
    site.add_resource(["3", "0", "0"], Manufacturer(signal))
    site.add_resource(["3", "0", "4"], Reboot())
    site.add_resource(["3", "0", "9"], battery)
    site.add_resource(["3", "0", "14"], UtcOffset())
    # A server context: its one UDP socket answers the LwM2M server's requests and sends ours,
    # so the server sees the registration come from the address it then manages.
    context = await aiocoap.Context.create_server_context(
        site, bind=("127.0.0.1", 0), transports=["udp6"]
    )
    links = b"</1/0>,</3/0>"
    rd = server + "/rd"
    try:
        await send(context, "register-without-ep", Code.POST, rd,
                   ["lt=60", "lwm2m=1.0", "b=U"], links, LINK_FORMAT)
        await send(context, "register-bad-lt", Code.POST, rd,
                   [f"ep={endpoint}-bad", "lt=abc", "lwm2m=1.0", "b=U"], links, LINK_FORMAT)
        await send(context, "register-bad-links", Code.POST, rd,
                   [f"ep={endpoint}-bad", "lt=60", "lwm2m=1.0", "b=U"], b"</3/0", LINK_FORMAT)
        await send(context, "update-unknown", Code.POST, rd + "/xyz", ["lt=60"])

        registered = await send(context, "register", Code.POST, rd,
                                [f"ep={endpoint}", "lt=60", "lwm2m=1.0", "b=U"], links,
                                LINK_FORMAT)
        location = server + "/" + "/".join(registered.opt.location_path)
        if hold:
            report(event="holding")
            await asyncio.Event().wait()

        await observed.wait()
        # The first GET /3/0/0 is the test's signal; it comes once the notifications are in.
        signal.clear()
        for level in (99, 98, 97):
            await asyncio.sleep(0.2)
            battery.change(level)
            report(event="notified", value=level)
        await signal.wait()

        await send(context, "update", Code.POST, location, ["lt=120"])
        await send(context, "deregister", Code.DELETE, location)
        await send(context, "update-after-deregister", Code.POST, location)
        report(event="done")
    finally:
        await context.shutdown()


if __name__ == "__main__":
    try:
        hold = sys.argv[3:] == ["hold"]
        asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], hold), 60))
    except asyncio.TimeoutError:
        report(event="error", message="session timed out")
        sys.exit(1)
