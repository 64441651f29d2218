//! Endpoint configuration: the RFC 7252 §4.8 [`TransmissionParameters`], the memory [`Limits`] of
//! every table, and the behaviour knobs of [`Config`].
//!
//! All three are plain structs with public fields and RFC defaults; [`Config::validate`] (called by
//! [`Endpoint::new`](crate::Endpoint::new)) rejects values the engine cannot work with.
//!
//! ```
//! use core::time::Duration;
//! use lwm2m_transport::Config;
//! let mut config = Config::default();
//! config.transmission.nstart = 4;
//! config.block_size = 256;
//! config.empty_ack_delay = Some(Duration::from_millis(500));
//! assert!(config.validate().is_ok());
//! assert_eq!(config.transmission.max_transmit_wait(), Duration::from_secs(93));
//! ```

use core::time::Duration;

use lwm2m_codec::coap::Block;

use crate::error::ConfigError;

/// CoAP transmission parameters (RFC 7252 §4.8) and the values derived from them (§4.8.2).
#[derive(Debug, Clone, PartialEq)]
pub struct TransmissionParameters {
    /// `ACK_TIMEOUT`: the first retransmission timeout is drawn from
    /// `[ack_timeout, ack_timeout × ack_random_factor]`. Default 2 s.
    pub ack_timeout: Duration,
    /// `ACK_RANDOM_FACTOR`, at least 1.0. Default 1.5.
    pub ack_random_factor: f64,
    /// `MAX_RETRANSMIT`: retransmissions of a Confirmable message before giving up. Default 4.
    pub max_retransmit: u8,
    /// NSTART: outstanding interactions per peer; further requests wait in a FIFO queue.
    /// Default 1.
    pub nstart: usize,
    /// `MAX_LATENCY`: the longest a datagram is expected to travel. Default 100 s.
    pub max_latency: Duration,
    /// `PROCESSING_DELAY`: the longest a peer takes to acknowledge. Default 2 s.
    pub processing_delay: Duration,
}

impl Default for TransmissionParameters {
    fn default() -> TransmissionParameters {
        TransmissionParameters {
            ack_timeout: Duration::from_secs(2),
            ack_random_factor: 1.5,
            max_retransmit: 4,
            nstart: 1,
            max_latency: Duration::from_secs(100),
            processing_delay: Duration::from_secs(2),
        }
    }
}

impl TransmissionParameters {
    /// `ack_timeout × (2^max_retransmit − 1) × ack_random_factor`: the longest time from the
    /// first transmission of a Confirmable message to its last retransmission (45 s by default).
    pub fn max_transmit_span(&self) -> Duration {
        self.scaled((1u64 << self.max_retransmit.min(40)) - 1)
    }

    /// `ack_timeout × (2^(max_retransmit + 1) − 1) × ack_random_factor`: the longest time from
    /// the first transmission of a Confirmable message until the sender gives up (93 s by
    /// default).
    pub fn max_transmit_wait(&self) -> Duration {
        self.scaled((1u64 << (self.max_retransmit.min(40) + 1)) - 1)
    }

    /// `2 × max_latency + processing_delay` (202 s by default).
    pub fn max_rtt(&self) -> Duration {
        self.max_latency
            .saturating_mul(2)
            .saturating_add(self.processing_delay)
    }

    /// `max_transmit_span + 2 × max_latency + processing_delay` (247 s by default): how long a
    /// message id stays reserved, and how long duplicates are detected.
    pub fn exchange_lifetime(&self) -> Duration {
        self.max_transmit_span().saturating_add(self.max_rtt())
    }

    /// `max_transmit_span + max_latency` (145 s by default).
    pub fn non_lifetime(&self) -> Duration {
        self.max_transmit_span().saturating_add(self.max_latency)
    }

    #[allow(
        clippy::cast_precision_loss,
        reason = "durations of up to 2^52 µs (142 years) convert exactly"
    )]
    fn scaled(&self, multiplier: u64) -> Duration {
        let micros = self.ack_timeout.as_micros() as f64
            * multiplier as f64
            * self.ack_random_factor.max(1.0);
        if micros.is_finite() && micros < u64::MAX as f64 {
            Duration::from_micros(micros as u64)
        } else {
            Duration::MAX
        }
    }
}

/// Caps on every table the endpoint keeps, so a peer (or many) cannot make it grow without bound.
///
/// Caches (duplicate detection, the Block2 response cache, partial Block1 bodies, idle peer
/// entries) expire by time and, when full, evict their oldest entry. Tables that hold something
/// the application is waiting for (outgoing exchanges, observations, requests awaiting a
/// response, observe relations) refuse new entries instead: the API call returns
/// [`EndpointError::TableFull`](crate::EndpointError::TableFull), and an incoming request that finds
/// no room is answered 5.03 Service Unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Peers with state (message-id counter, request queue). An idle peer's entry lives for
    /// `EXCHANGE_LIFETIME` after its last message; when full, the longest-idle peer is evicted, and
    /// datagrams from new peers are dropped if none is idle. Default 65 536.
    pub max_peers: usize,
    /// Outgoing exchanges, queued ones included (`start_request`, `ping`). Default 4 096.
    pub max_outgoing: usize,
    /// Requests queued behind NSTART per peer. Default 1 024.
    pub max_queued_per_peer: usize,
    /// Incoming requests delivered to the application and not yet answered. Default 4 096.
    pub max_incoming: usize,
    /// Duplicate-detection entries (peer, message id) with their cached replies; each lives
    /// `EXCHANGE_LIFETIME`. Default 32 768.
    pub max_dedup_entries: usize,
    /// Established observations on the observer side. Default 4 096.
    pub max_observations: usize,
    /// Observe relations on the notifier side. Default 4 096.
    pub max_relations: usize,
    /// Largest body reassembled for one exchange (Block1 on the server side, Block2 on the client
    /// side). A larger Block1 upload is answered 4.13 with Size1; a larger Block2 download fails
    /// with [`ExchangeError::BodyTooLarge`](crate::ExchangeError::BodyTooLarge). Default 8 MiB.
    pub max_body_size: usize,
    /// Bytes held by all reassemblies together (both directions). Past it, a Block1 block is
    /// answered 5.03 and a Block2 download fails. Default 64 MiB.
    pub max_reassembly_bytes: usize,
    /// Block1 uploads being reassembled at once; when full the oldest is dropped (its next block
    /// gets 4.08). Each expires `EXCHANGE_LIFETIME` after its last block. Default 256.
    pub max_reassemblies: usize,
    /// Bodies kept to serve later Block2 blocks; each expires `EXCHANGE_LIFETIME` after its last
    /// use, the oldest is evicted when full. Default 1 024.
    pub max_block2_cache_entries: usize,
    /// Bytes held by the Block2 response cache. Default 64 MiB.
    pub max_block2_cache_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_peers: 65_536,
            max_outgoing: 4_096,
            max_queued_per_peer: 1_024,
            max_incoming: 4_096,
            max_dedup_entries: 32_768,
            max_observations: 4_096,
            max_relations: 4_096,
            max_body_size: 8 << 20,
            max_reassembly_bytes: 64 << 20,
            max_reassemblies: 256,
            max_block2_cache_entries: 1_024,
            max_block2_cache_bytes: 64 << 20,
        }
    }
}

/// Everything an [`Endpoint`](crate::Endpoint) can be tuned with.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Retransmission timing, NSTART and the derived lifetimes.
    pub transmission: TransmissionParameters,
    /// Table caps.
    pub limits: Limits,
    /// Block size for block-wise transfers: 16, 32, …, 1024 bytes. Bodies larger than this are
    /// sent in blocks; a peer asking for smaller blocks gets them. Default 1024.
    pub block_size: u32,
    /// After how long without an application response an incoming Confirmable request is
    /// acknowledged with an empty ACK (the response then follows separately). `None`: only when
    /// the application calls [`Endpoint::acknowledge`](crate::Endpoint::acknowledge). Default 1 s,
    /// half of `ACK_TIMEOUT`, before the peer's first retransmission.
    pub empty_ack_delay: Option<Duration>,
    /// How long a requester waits for a response after an empty ACK, or after sending a
    /// Non-confirmable request. Default 93 s (`MAX_TRANSMIT_WAIT`).
    pub response_timeout: Duration,
    /// Send notifications as Confirmable messages by default (a [`Response`](crate::Response)
    /// may override it per notification). Default `false`.
    pub confirmable_notifications: bool,
    /// A relation's notification is sent Confirmable if the last Confirmable one is older than
    /// this (RFC 7641 §4.5: at least once every 24 hours). Default 24 h.
    pub confirmable_notification_interval: Duration,
    /// Ask for `block_size` blocks in the first GET (early Block2 negotiation, RFC 7959 §2.4)
    /// when it is smaller than 1024. Default `true`.
    pub early_block2_negotiation: bool,
    /// Keep a relation whose Confirmable notification was never acknowledged, and report
    /// [`Event::NotificationTimedOut`](crate::Event::NotificationTimedOut) instead of ending it
    /// (an LwM2M client storing notifications while its server is offline sends the next one on
    /// the same relation). Default `false`: the relation ends (RFC 7641 §4.5).
    pub keep_relations_on_timeout: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            transmission: TransmissionParameters::default(),
            limits: Limits::default(),
            block_size: 1024,
            empty_ack_delay: Some(Duration::from_secs(1)),
            response_timeout: Duration::from_secs(93),
            confirmable_notifications: false,
            confirmable_notification_interval: Duration::from_secs(24 * 3600),
            early_block2_negotiation: true,
            keep_relations_on_timeout: false,
        }
    }
}

impl Config {
    /// Checks that the values make sense: a power-of-two block size of 16-1024, a finite
    /// `ACK_RANDOM_FACTOR` ≥ 1, a non-zero `ACK_TIMEOUT` and NSTART, and non-zero table caps.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.transmission;
        if t.ack_timeout.is_zero() {
            return Err(ConfigError::ZeroAckTimeout);
        }
        if !t.ack_random_factor.is_finite() || t.ack_random_factor < 1.0 {
            return Err(ConfigError::AckRandomFactor {
                value: t.ack_random_factor,
            });
        }
        if t.max_retransmit > 20 {
            return Err(ConfigError::MaxRetransmit {
                value: t.max_retransmit,
            });
        }
        if t.nstart == 0 {
            return Err(ConfigError::ZeroLimit { name: "nstart" });
        }
        Block::szx_for_size(self.block_size).map_err(|_| ConfigError::BlockSize {
            size: self.block_size,
        })?;
        let l = &self.limits;
        for (name, value) in [
            ("max_peers", l.max_peers),
            ("max_outgoing", l.max_outgoing),
            ("max_queued_per_peer", l.max_queued_per_peer),
            ("max_incoming", l.max_incoming),
            ("max_dedup_entries", l.max_dedup_entries),
            ("max_observations", l.max_observations),
            ("max_relations", l.max_relations),
            ("max_body_size", l.max_body_size),
            ("max_reassembly_bytes", l.max_reassembly_bytes),
            ("max_reassemblies", l.max_reassemblies),
            ("max_block2_cache_entries", l.max_block2_cache_entries),
            ("max_block2_cache_bytes", l.max_block2_cache_bytes),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroLimit { name });
            }
        }
        Ok(())
    }

    /// The size exponent of [`Config::block_size`] (6 if it is invalid).
    pub(crate) fn szx(&self) -> u8 {
        Block::szx_for_size(self.block_size).unwrap_or(Block::MAX_SZX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_parameters_match_rfc_7252_section_4_8_2() {
        let t = TransmissionParameters::default();
        assert_eq!(t.max_transmit_span(), Duration::from_secs(45));
        assert_eq!(t.max_transmit_wait(), Duration::from_secs(93));
        assert_eq!(t.max_rtt(), Duration::from_secs(202));
        assert_eq!(t.exchange_lifetime(), Duration::from_secs(247));
        assert_eq!(t.non_lifetime(), Duration::from_secs(145));
    }

    #[test]
    fn validation_names_the_bad_value() {
        assert!(Config::default().validate().is_ok());
        let c = Config {
            block_size: 100,
            ..Config::default()
        };
        assert_eq!(c.validate(), Err(ConfigError::BlockSize { size: 100 }));
        let mut c = Config {
            transmission: TransmissionParameters {
                ack_random_factor: 0.5,
                ..TransmissionParameters::default()
            },
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::AckRandomFactor { .. })
        ));
        c.transmission = TransmissionParameters::default();
        c.limits = Limits {
            max_relations: 0,
            ..Limits::default()
        };
        assert_eq!(
            c.validate(),
            Err(ConfigError::ZeroLimit {
                name: "max_relations"
            })
        );
        c.limits = Limits::default();
        c.transmission.max_retransmit = 21;
        assert!(c.validate().is_err());
        c.transmission.max_retransmit = 20;
        assert!(c.validate().is_ok());
        assert!(c.transmission.exchange_lifetime() > Duration::from_secs(3_000_000));
    }
}
