"""aiocoap as a client of the endpoint under test (lwm2m-transport/tests/interop_clients.rs).

Usage: aiocoap_client.py BASE_URI NOTIFICATIONS UPLOAD_BYTES

Prints one line per result, which the Rust test asserts on:
  GET <code> <payload>
  OBSERVE <code> <observe option> <payload>
  NOTIFY <payload>          (NOTIFICATIONS times, then the observation is cancelled)
  PUT <code> <payload>      (a Block1 upload of UPLOAD_BYTES bytes: byte i is i % 251)
  DONE
"""

import asyncio
import sys

import aiocoap


async def main(base, notifications, upload_bytes):
    context = await aiocoap.Context.create_client_context()
    try:
        response = await context.request(
            aiocoap.Message(code=aiocoap.GET, uri=base + "/hello")
        ).response
        print("GET", response.code, response.payload.decode().strip(), flush=True)

        request = aiocoap.Message(code=aiocoap.GET, uri=base + "/counter", observe=0)
        pending = context.request(request)
        first = await pending.response
        print("OBSERVE", first.code, first.opt.observe, first.payload.decode().strip(), flush=True)
        seen = 0
        async for notification in pending.observation:
            print("NOTIFY", notification.payload.decode().strip(), flush=True)
            seen += 1
            if seen >= notifications:
                pending.observation.cancel()
                break
        # Stay a moment: the notifier's next notification (every 100 ms) meets the cancelled
        # observation and is rejected, which ends the relation on the server.
        await asyncio.sleep(0.5)

        body = bytes(i % 251 for i in range(upload_bytes))
        upload = aiocoap.Message(code=aiocoap.PUT, uri=base + "/upload", payload=body)
        upload.opt.content_format = 42
        response = await context.request(upload).response
        print("PUT", response.code, response.payload.decode().strip(), flush=True)
        print("DONE", flush=True)
    finally:
        await context.shutdown()


if __name__ == "__main__":
    base, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    asyncio.run(asyncio.wait_for(main(base, count, size), 30))
