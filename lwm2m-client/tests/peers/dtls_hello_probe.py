"""Sends a DTLS 1.2 ClientHello offering TLS_PSK_WITH_AES_128_CCM_8 to a DTLS server on
127.0.0.1, answers its HelloVerifyRequest with the cookie, and reports what the server says to
the second ClientHello. It tells apart a server that refuses a hello from one that refuses
this particular hello (lwm2m-client/tests/aiocoap_server_dtls.rs).

Usage: dtls_hello_probe.py PORT WITH_RENEGOTIATION_INFO(0|1)

The hello carries the extended_master_secret extension (RFC 7627), and with the second
argument 1 also an empty renegotiation_info extension (RFC 5746 section 3.4). One JSON line:
  {"event": "probe", "renegotiation_info": bool, "record_type": 21|22|null,
   "handshake_type": 2|null, "alert": [level, description]|null}
"""

import json
import os
import socket
import struct
import sys

TLS_PSK_WITH_AES_128_CCM_8 = 0xC0A8
EXTENDED_MASTER_SECRET = 0x0017
RENEGOTIATION_INFO = 0xFF01


def extension(kind, body):
    return struct.pack(">HH", kind, len(body)) + body


def client_hello(random, cookie, sequence, with_ri):
    extensions = extension(EXTENDED_MASTER_SECRET, b"")
    if with_ri:
        extensions += extension(RENEGOTIATION_INFO, b"\x00")
    body = (
        b"\xfe\xfd"
        + random
        + b"\x00"  # no session id
        + bytes([len(cookie)])
        + cookie
        + struct.pack(">HH", 2, TLS_PSK_WITH_AES_128_CCM_8)
        + b"\x01\x00"  # null compression only
        + struct.pack(">H", len(extensions))
        + extensions
    )
    length = len(body).to_bytes(3, "big")
    # msg_type 1, length, message_seq, fragment_offset 0, fragment_length
    handshake = b"\x01" + length + struct.pack(">H", sequence) + b"\x00\x00\x00" + length + body
    # content type 22, DTLS 1.2, epoch 0, sequence number, length
    return (
        b"\x16\xfe\xfd\x00\x00"
        + sequence.to_bytes(6, "big")
        + struct.pack(">H", len(handshake))
        + handshake
    )


def main(port, with_ri):
    server = ("127.0.0.1", port)
    random = os.urandom(32)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(client_hello(random, b"", 0, with_ri), server)
        verify = sock.recv(2048)
        # record header 13, handshake header 12, server_version 2, cookie length 1
        if verify[0] != 22 or verify[13] != 3:
            raise RuntimeError(f"no HelloVerifyRequest: {verify.hex()}")
        cookie = verify[28 : 28 + verify[27]]
        sock.sendto(client_hello(random, cookie, 1, with_ri), server)
        records = [sock.recv(4096)]
        # tinydtls sends a warning alert before its fatal one: read until a fatal alert, a
        # handshake message or a quiet second.
        sock.settimeout(1)
        while records[-1][0] == 21 and records[-1][13] != 2:
            try:
                records.append(sock.recv(4096))
            except socket.timeout:
                break
    answer = records[-1]
    report = {
        "event": "probe",
        "renegotiation_info": with_ri,
        "record_type": answer[0],
        "handshake_type": answer[13] if answer[0] == 22 else None,
        "alert": [answer[13], answer[14]] if answer[0] == 21 else None,
    }
    print(json.dumps(report, sort_keys=True), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] == "1")
