//! Just enough of the DTLS 1.2 record layer (RFC 6347 §4.1) for the demultiplexer: validating
//! record framing before a datagram reaches the DTLS library, recognising an epoch-0
//! `ClientHello`, and writing the few plaintext records this layer sends on its own
//! (`HelloVerifyRequest`, a fatal alert). Nothing here decrypts; every read is bounds-checked.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::RecordProblem;

/// `change_cipher_spec`.
pub(crate) const CHANGE_CIPHER_SPEC: u8 = 20;
/// `alert`.
pub(crate) const ALERT: u8 = 21;
/// `handshake`.
pub(crate) const HANDSHAKE: u8 = 22;
/// `application_data`.
pub(crate) const APPLICATION_DATA: u8 = 23;

/// Bytes in a record header: type, version, epoch, 48-bit sequence number, length.
pub(crate) const HEADER_LEN: usize = 13;
/// Bytes in a handshake message header: type, length, `message_seq`, fragment offset and length.
const HANDSHAKE_HEADER_LEN: usize = 12;
/// RFC 6347 §4.1: a record's length must not exceed 2^14 + 2048.
const MAX_RECORD_LEN: usize = 16_384 + 2_048;
/// The shortest encrypted record of the `CCM_8` suites: 8-byte explicit nonce + 8-byte tag.
const MIN_CIPHERTEXT: usize = 16;
/// DTLS 1.2 on the wire.
pub(crate) const DTLS_1_2: u16 = 0xFEFD;
/// DTLS 1.0 on the wire (`HelloVerifyRequest` uses it, RFC 6347 §4.2.1).
const DTLS_1_0: u16 = 0xFEFF;
const CLIENT_HELLO: u8 = 1;
const HELLO_VERIFY_REQUEST: u8 = 3;
/// `client_version` (2) + random (32).
const HELLO_FIXED_LEN: usize = 34;

/// One record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) content_type: u8,
    pub(crate) version: u16,
    pub(crate) epoch: u16,
    pub(crate) sequence: u64,
    pub(crate) length: usize,
}

impl RecordHeader {
    /// Parses and validates the header at the start of `bytes`.
    pub(crate) fn parse(bytes: &[u8]) -> Result<RecordHeader, RecordProblem> {
        let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(RecordProblem::TruncatedHeader {
                available: bytes.len(),
            });
        };
        let content_type = h[0];
        if !(CHANGE_CIPHER_SPEC..=APPLICATION_DATA).contains(&content_type) {
            return Err(RecordProblem::ContentType(content_type));
        }
        let version = u16::from_be_bytes([h[1], h[2]]);
        if version != DTLS_1_2 && version != DTLS_1_0 {
            return Err(RecordProblem::Version(version));
        }
        let epoch = u16::from_be_bytes([h[3], h[4]]);
        let sequence = u64::from_be_bytes([0, 0, h[5], h[6], h[7], h[8], h[9], h[10]]);
        let length = usize::from(u16::from_be_bytes([h[11], h[12]]));
        if length > MAX_RECORD_LEN {
            return Err(RecordProblem::Oversized(length));
        }
        Ok(RecordHeader {
            content_type,
            version,
            epoch,
            sequence,
            length,
        })
    }

    /// Appends the header to `out`.
    pub(crate) fn write(&self, out: &mut BytesMut) {
        out.put_u8(self.content_type);
        out.put_u16(self.version);
        out.put_u16(self.epoch);
        out.put_slice(&self.sequence.to_be_bytes()[2..]);
        out.put_u16(self.length as u16);
    }
}

/// What the demultiplexer needs to know about a well-formed datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
// Independent facts about one datagram's records, not states of one machine.
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Summary {
    /// Number of records.
    pub(crate) records: usize,
    /// A record of epoch 0 (plaintext handshake traffic).
    pub(crate) plaintext: bool,
    /// A handshake or `change_cipher_spec` record (of any epoch).
    pub(crate) handshake: bool,
    /// A handshake record of a non-zero epoch: an encrypted Finished (or renegotiation).
    pub(crate) encrypted_handshake: bool,
    /// An alert record of epoch 0 (unauthenticated).
    pub(crate) plaintext_alert: bool,
    /// A record of a non-zero epoch.
    pub(crate) encrypted: bool,
}

/// Checks that `datagram` is a sequence of well-formed records and summarises it.
pub(crate) fn validate(datagram: &[u8]) -> Result<Summary, (usize, RecordProblem)> {
    if datagram.is_empty() {
        return Err((0, RecordProblem::Empty));
    }
    let mut summary = Summary::default();
    for item in Records::new(datagram) {
        let (at, header, _) = item?;
        if header.content_type == APPLICATION_DATA && header.epoch == 0 {
            return Err((at, RecordProblem::PlaintextApplicationData));
        }
        if header.epoch != 0 && header.length < MIN_CIPHERTEXT {
            return Err((at, RecordProblem::ShortCiphertext(header.length)));
        }
        summary.records += 1;
        summary.plaintext |= header.epoch == 0;
        let handshake = header.content_type == HANDSHAKE;
        summary.handshake |= handshake || header.content_type == CHANGE_CIPHER_SPEC;
        summary.encrypted_handshake |= handshake && header.epoch != 0;
        summary.plaintext_alert |= header.content_type == ALERT && header.epoch == 0;
        summary.encrypted |= header.epoch != 0;
    }
    Ok(summary)
}

/// Iterates the records of a datagram: `(offset, header, fragment)`, stopping after the first
/// error.
pub(crate) struct Records<'a> {
    datagram: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Records<'a> {
    pub(crate) fn new(datagram: &'a [u8]) -> Records<'a> {
        Records {
            datagram,
            offset: 0,
            failed: false,
        }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<(usize, RecordHeader, &'a [u8]), (usize, RecordProblem)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self.datagram.get(self.offset..).filter(|r| !r.is_empty())?;
        let at = self.offset;
        let result = RecordHeader::parse(rest).and_then(|header| {
            let body = &rest[HEADER_LEN..];
            body.get(..header.length)
                .map(|fragment| (header, fragment))
                .ok_or(RecordProblem::TruncatedRecord {
                    length: header.length,
                    available: body.len(),
                })
        });
        match result {
            Ok((header, fragment)) => {
                self.offset = at + HEADER_LEN + header.length;
                Some(Ok((at, header, fragment)))
            }
            Err(problem) => {
                self.failed = true;
                Some(Err((at, problem)))
            }
        }
    }
}

/// A whole (unfragmented) `ClientHello` in the first record of a datagram, epoch 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientHello<'a> {
    /// The record header.
    pub(crate) header: RecordHeader,
    /// The handshake `message_seq` (0 before a `HelloVerifyRequest`, 1 after).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) message_seq: u16,
    /// The `ClientHello` body (after the 12-byte handshake header).
    #[cfg_attr(not(feature = "dtls-openssl"), allow(dead_code))]
    pub(crate) body: &'a [u8],
    /// `client_random`.
    pub(crate) random: &'a [u8; 32],
    /// Offset in `body` of the cookie length byte.
    #[cfg_attr(not(feature = "dtls-openssl"), allow(dead_code))]
    cookie_at: usize,
    /// The cookie (empty on a first `ClientHello`).
    pub(crate) cookie: &'a [u8],
}

/// Recognises an epoch-0 `ClientHello` as the first record of `datagram`: `Ok(None)` when the
/// first record is something else, `Err` when it is a `ClientHello` this layer cannot use.
pub(crate) fn client_hello(
    datagram: &[u8],
) -> Result<Option<ClientHello<'_>>, (usize, RecordProblem)> {
    let Some(first) = Records::new(datagram).next() else {
        return Ok(None);
    };
    let (_, header, fragment) = first?;
    if header.content_type != HANDSHAKE
        || header.epoch != 0
        || fragment.first() != Some(&CLIENT_HELLO)
    {
        return Ok(None);
    }
    let bad = |problem| Err((HEADER_LEN, problem));
    let Some(hs) = fragment.first_chunk::<HANDSHAKE_HEADER_LEN>() else {
        return bad(RecordProblem::TruncatedClientHello);
    };
    let length = u24(&hs[1..4]);
    let message_seq = u16::from_be_bytes([hs[4], hs[5]]);
    let fragment_offset = u24(&hs[6..9]);
    let fragment_length = u24(&hs[9..12]);
    let body = &fragment[HANDSHAKE_HEADER_LEN..];
    if fragment_offset != 0 || fragment_length != length {
        return bad(RecordProblem::FragmentedClientHello);
    }
    let Some(body) = body.get(..length) else {
        return bad(RecordProblem::TruncatedClientHello);
    };
    let Some(random) = body
        .get(2..HELLO_FIXED_LEN)
        .and_then(|r| r.first_chunk::<32>())
    else {
        return bad(RecordProblem::TruncatedClientHello);
    };
    let session_id_len = body.get(HELLO_FIXED_LEN).map(|&l| usize::from(l));
    let cookie_at = session_id_len.map(|l| HELLO_FIXED_LEN + 1 + l);
    let cookie = cookie_at.and_then(|at| {
        let len = usize::from(*body.get(at)?);
        body.get(at + 1..at + 1 + len).map(|c| (at, c))
    });
    let Some((cookie_at, cookie)) = cookie else {
        return bad(RecordProblem::TruncatedClientHello);
    };
    Ok(Some(ClientHello {
        header,
        message_seq,
        body,
        random,
        cookie_at,
        cookie,
    }))
}

fn u24(b: &[u8]) -> usize {
    b.iter().fold(0, |acc, &x| (acc << 8) | usize::from(x))
}

fn put_u24(out: &mut BytesMut, value: usize) {
    out.put_slice(&(value as u32).to_be_bytes()[1..]);
}

/// The `HelloVerifyRequest` answering `hello` with `cookie` (RFC 6347 §4.2.1): record version and
/// `server_version` DTLS 1.0, the `ClientHello`'s record sequence number, `message_seq` 0.
pub(crate) fn hello_verify_request(hello: &ClientHello<'_>, cookie: &[u8]) -> Bytes {
    let body_len = 3 + cookie.len();
    let mut out = BytesMut::with_capacity(HEADER_LEN + HANDSHAKE_HEADER_LEN + body_len);
    RecordHeader {
        content_type: HANDSHAKE,
        version: DTLS_1_0,
        epoch: 0,
        sequence: hello.header.sequence,
        length: HANDSHAKE_HEADER_LEN + body_len,
    }
    .write(&mut out);
    out.put_u8(HELLO_VERIFY_REQUEST);
    put_u24(&mut out, body_len);
    out.put_u16(0);
    put_u24(&mut out, 0);
    put_u24(&mut out, body_len);
    out.put_u16(DTLS_1_0);
    out.put_u8(cookie.len() as u8);
    out.put_slice(cookie);
    out.freeze()
}

/// The first `ClientHello` `hello` stands for: the same body without the cookie, `message_seq` 0,
/// record sequence `sequence`. A stateful DTLS server fed this answers with a `HelloVerifyRequest`
/// and then expects exactly `hello`, which is how a server session picks up a handshake whose
/// cookie exchange this layer did statelessly.
#[cfg_attr(not(feature = "dtls-openssl"), allow(dead_code))]
pub(crate) fn first_client_hello(hello: &ClientHello<'_>, sequence: u64) -> Bytes {
    let before = &hello.body[..hello.cookie_at];
    let after = &hello.body[hello.cookie_at + 1 + hello.cookie.len()..];
    let body_len = before.len() + 1 + after.len();
    let mut out = BytesMut::with_capacity(HEADER_LEN + HANDSHAKE_HEADER_LEN + body_len);
    RecordHeader {
        sequence,
        length: HANDSHAKE_HEADER_LEN + body_len,
        ..hello.header
    }
    .write(&mut out);
    out.put_u8(CLIENT_HELLO);
    put_u24(&mut out, body_len);
    out.put_u16(0);
    put_u24(&mut out, 0);
    put_u24(&mut out, body_len);
    out.put_slice(before);
    out.put_u8(0);
    out.put_slice(after);
    out.freeze()
}

/// A plaintext (epoch 0) fatal alert record.
pub(crate) fn fatal_alert(sequence: u64, description: u8) -> Bytes {
    let mut out = BytesMut::with_capacity(HEADER_LEN + 2);
    RecordHeader {
        content_type: ALERT,
        version: DTLS_1_2,
        epoch: 0,
        sequence,
        length: 2,
    }
    .write(&mut out);
    out.put_u8(2);
    out.put_u8(description);
    out.freeze()
}

/// Whether `datagram` is exactly one plaintext fatal `unexpected_message` alert: what a server
/// answers to a record of a session it does not hold (see `SessionTable`).
pub(crate) fn is_lost_session_alert(datagram: &[u8]) -> bool {
    matches!(
        datagram,
        [ALERT, 0xfe, 0xfd, 0, 0, _, _, _, _, _, _, 0, 2, 2, 10]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lost_session_alert_is_recognised_exactly() {
        let alert = fatal_alert(7, 10);
        assert!(is_lost_session_alert(&alert));
        assert!(!is_lost_session_alert(&fatal_alert(7, 40)));
        let mut epoch_one = alert.to_vec();
        epoch_one[4] = 1;
        assert!(!is_lost_session_alert(&epoch_one));
        assert!(!is_lost_session_alert(&alert[..14]));
    }

    /// A `ClientHello` record as OpenSSL sends it after a `HelloVerifyRequest` (trimmed extensions).
    fn hello(cookie: &[u8], record_seq: u64) -> Vec<u8> {
        let mut body = vec![0xFE, 0xFD];
        body.extend_from_slice(&[7; 32]);
        body.push(0); // session id
        body.push(cookie.len() as u8);
        body.extend_from_slice(cookie);
        body.extend_from_slice(&[0, 2, 0xC0, 0xA8, 1, 0]); // one suite, null compression
        let mut out = BytesMut::new();
        RecordHeader {
            content_type: HANDSHAKE,
            version: DTLS_1_2,
            epoch: 0,
            sequence: record_seq,
            length: HANDSHAKE_HEADER_LEN + body.len(),
        }
        .write(&mut out);
        out.put_u8(CLIENT_HELLO);
        put_u24(&mut out, body.len());
        out.put_u16(1);
        put_u24(&mut out, 0);
        put_u24(&mut out, body.len());
        out.put_slice(&body);
        out.to_vec()
    }

    #[test]
    fn recognises_client_hello_and_cookie() {
        let bytes = hello(b"cookie!", 5);
        let ch = client_hello(&bytes).unwrap().unwrap();
        assert_eq!(ch.cookie, b"cookie!");
        assert_eq!(ch.header.sequence, 5);
        assert_eq!(ch.message_seq, 1);
        assert_eq!(ch.random, &[7; 32]);
        assert_eq!(validate(&bytes).unwrap().records, 1);
    }

    #[test]
    fn first_hello_strips_the_cookie() {
        let bytes = hello(b"cookie!", 5);
        let ch = client_hello(&bytes).unwrap().unwrap();
        let first = first_client_hello(&ch, 4);
        let first = client_hello(&first).unwrap().unwrap();
        assert_eq!(first.cookie, b"");
        assert_eq!(first.message_seq, 0);
        assert_eq!(first.header.sequence, 4);
        assert_eq!(first.random, ch.random);
        assert_eq!(first.body.len(), ch.body.len() - 7);
        assert_eq!(
            &first.body[first.cookie_at + 1..],
            &ch.body[ch.cookie_at + 8..]
        );
    }

    #[test]
    fn hello_verify_request_layout() {
        let bytes = hello(b"", 3);
        let ch = client_hello(&bytes).unwrap().unwrap();
        let hvr = hello_verify_request(&ch, &[0xAA; 4]);
        assert_eq!(
            &hvr[..],
            &[
                22, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0, 3, 0, 19, // record header, seq echoed
                3, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 7, // handshake header
                0xFE, 0xFF, 4, 0xAA, 0xAA, 0xAA, 0xAA
            ][..]
        );
        assert!(validate(&hvr).unwrap().plaintext);
    }

    #[test]
    fn rejects_bad_framing_with_offsets() {
        assert_eq!(validate(&[]), Err((0, RecordProblem::Empty)));
        assert_eq!(
            validate(&[22, 0xFE]),
            Err((0, RecordProblem::TruncatedHeader { available: 2 }))
        );
        let mut two = hello(b"", 0);
        let first_len = two.len();
        two.extend_from_slice(&[99; 13]);
        assert_eq!(
            validate(&two),
            Err((first_len, RecordProblem::ContentType(99)))
        );
        let mut v = hello(b"", 0);
        v[1] = 3;
        assert_eq!(validate(&v), Err((0, RecordProblem::Version(0x03FD))));
        let mut t = hello(b"", 0);
        t.pop();
        assert!(matches!(
            validate(&t),
            Err((0, RecordProblem::TruncatedRecord { .. }))
        ));
        let mut plain = hello(b"", 0);
        plain[0] = APPLICATION_DATA;
        assert_eq!(
            validate(&plain),
            Err((0, RecordProblem::PlaintextApplicationData))
        );
        let short = [23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 15];
        let mut short = short.to_vec();
        short.extend_from_slice(&[0; 15]);
        assert_eq!(
            validate(&short),
            Err((0, RecordProblem::ShortCiphertext(15)))
        );
        short[12] = 16;
        short.push(0);
        assert_eq!(validate(&short).unwrap().records, 1);
        let alert = fatal_alert(9, 51);
        let (_, h, f) = Records::new(&alert).next().unwrap().unwrap();
        assert_eq!((h.content_type, h.sequence, f), (ALERT, 9, &[2u8, 51][..]));
    }

    #[test]
    fn fragmented_or_truncated_hellos_are_refused() {
        let mut frag = hello(b"", 0);
        frag[HEADER_LEN + 8] = 1; // fragment_offset = 1
        assert_eq!(
            client_hello(&frag).unwrap_err().1,
            RecordProblem::FragmentedClientHello
        );
        let mut short = hello(b"abc", 0);
        // Claim a cookie longer than the body.
        let at = HEADER_LEN + HANDSHAKE_HEADER_LEN + HELLO_FIXED_LEN + 1;
        short[at] = 200;
        assert_eq!(
            client_hello(&short).unwrap_err().1,
            RecordProblem::TruncatedClientHello
        );
    }

    proptest::proptest! {
        #[test]
        fn header_round_trips(
            content_type in CHANGE_CIPHER_SPEC..=APPLICATION_DATA,
            dtls10 in proptest::bool::ANY,
            epoch in proptest::num::u16::ANY,
            sequence in 0u64..(1 << 48),
            length in 0usize..=MAX_RECORD_LEN,
        ) {
            let header = RecordHeader {
                content_type,
                version: if dtls10 { DTLS_1_0 } else { DTLS_1_2 },
                epoch,
                sequence,
                length,
            };
            let mut out = BytesMut::new();
            header.write(&mut out);
            proptest::prop_assert_eq!(out.len(), HEADER_LEN);
            proptest::prop_assert_eq!(RecordHeader::parse(&out), Ok(header));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = validate(&bytes);
            let _ = client_hello(&bytes);
            let count = Records::new(&bytes).count();
            proptest::prop_assert!(count <= bytes.len() / HEADER_LEN + 1);
        }

        #[test]
        fn hello_surgery_keeps_everything_but_the_cookie(
            cookie in proptest::collection::vec(proptest::num::u8::ANY, 0..=255),
            seq in 0u64..(1 << 48),
        ) {
            let bytes = hello(&cookie, seq);
            let ch = client_hello(&bytes).unwrap().unwrap();
            proptest::prop_assert_eq!(ch.cookie, &cookie[..]);
            let first = first_client_hello(&ch, seq.saturating_sub(1));
            let first = client_hello(&first).unwrap().unwrap();
            proptest::prop_assert_eq!(first.cookie, &[][..]);
            proptest::prop_assert_eq!(first.body.len() + cookie.len(), ch.body.len());
            let hvr = hello_verify_request(&ch, &cookie);
            let (_, header, fragment) = Records::new(&hvr).next().unwrap().unwrap();
            proptest::prop_assert_eq!(header.sequence, seq);
            proptest::prop_assert_eq!(&fragment[HANDSHAKE_HEADER_LEN + 3..], &cookie[..]);
        }
    }
}
