//! The per-source Register rate limit: a token bucket per source, kept as one "theoretical
//! arrival time" (GCRA) per source, so a source costs one map entry and is forgotten as soon as
//! its bucket is full again.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use core::time::Duration;

use super::{RateLimit, RateLimitKey};
use crate::Timestamp;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    config: RateLimit,
    /// Per source: the time at which its bucket would be full again.
    full_at: HashMap<SocketAddr, Timestamp>,
    /// The shared budget of sources that did not fit in the table.
    overflow: Timestamp,
    /// No pruning scan before this (a full table of busy sources would otherwise be scanned on
    /// every request).
    next_prune: Timestamp,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimit) -> RateLimiter {
        RateLimiter {
            config,
            full_at: HashMap::new(),
            overflow: Timestamp::UNIX_EPOCH,
            next_prune: Timestamp::UNIX_EPOCH,
        }
    }

    /// Takes one Register from `peer`'s budget, or says how long until one is available.
    pub(crate) fn check(&mut self, now: Timestamp, peer: SocketAddr) -> Result<(), Duration> {
        let key = match self.config.key {
            RateLimitKey::Ip => SocketAddr::new(canonical_ip(peer.ip()), 0),
            RateLimitKey::Address => peer,
        };
        let interval = self.config.interval;
        // The bucket holds `burst` tokens: it may run `burst` intervals ahead of now.
        let tolerance = interval.saturating_mul(self.config.burst);
        if !self.full_at.contains_key(&key) && self.full_at.len() >= self.config.max_sources {
            self.prune(now);
        }
        let tracked =
            self.full_at.len() < self.config.max_sources || self.full_at.contains_key(&key);
        let slot = if tracked {
            self.full_at.entry(key).or_insert(now)
        } else {
            &mut self.overflow
        };
        let base = (*slot).max(now);
        let after = base + interval;
        let ahead = after - now;
        if ahead > tolerance {
            return Err(ahead.saturating_sub(tolerance));
        }
        *slot = after;
        Ok(())
    }

    /// Forgets sources whose bucket is full again.
    fn prune(&mut self, now: Timestamp) {
        if now < self.next_prune {
            return;
        }
        self.full_at.retain(|_, full_at| *full_at > now);
        self.next_prune = now + self.config.interval;
    }

    #[cfg(test)]
    pub(crate) fn tracked(&self) -> usize {
        self.full_at.len()
    }
}

/// IPv4-mapped IPv6 addresses count as their IPv4 address.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, max_sources: usize, key: RateLimitKey) -> RateLimiter {
        RateLimiter::new(RateLimit {
            burst,
            interval: Duration::from_secs(2),
            key,
            max_sources,
            ..RateLimit::default()
        })
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn burst_then_one_per_interval() {
        let mut rl = limiter(3, 10, RateLimitKey::Ip);
        let t0 = Timestamp::from_unix_secs(100);
        for _ in 0..3 {
            assert_eq!(rl.check(t0, addr("10.0.0.1:1")), Ok(()));
        }
        assert_eq!(
            rl.check(t0, addr("10.0.0.1:2")),
            Err(Duration::from_secs(2))
        );
        // Another source is unaffected.
        assert_eq!(rl.check(t0, addr("10.0.0.2:1")), Ok(()));
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(
            rl.check(t1, addr("10.0.0.1:1")),
            Err(Duration::from_millis(1_500))
        );
        let t2 = t0 + Duration::from_secs(2);
        assert_eq!(rl.check(t2, addr("10.0.0.1:1")), Ok(()));
        assert!(rl.check(t2, addr("10.0.0.1:1")).is_err());
        // A mapped IPv4 address is the same source.
        assert!(rl.check(t2, addr("[::ffff:10.0.0.1]:7")).is_err());
    }

    #[test]
    fn per_address_key() {
        let mut rl = limiter(1, 10, RateLimitKey::Address);
        let t = Timestamp::from_unix_secs(1);
        assert_eq!(rl.check(t, addr("10.0.0.1:1")), Ok(()));
        assert!(rl.check(t, addr("10.0.0.1:1")).is_err());
        assert_eq!(rl.check(t, addr("10.0.0.1:2")), Ok(()));
    }

    #[test]
    fn bounded_table_with_shared_overflow() {
        let mut rl = limiter(2, 4, RateLimitKey::Ip);
        let t = Timestamp::from_unix_secs(1);
        for i in 1..=4 {
            assert_eq!(rl.check(t, addr(&format!("10.0.0.{i}:1"))), Ok(()));
        }
        assert_eq!(rl.tracked(), 4);
        // Sources 5.. share the overflow budget of 2.
        assert_eq!(rl.check(t, addr("10.0.1.1:1")), Ok(()));
        assert_eq!(rl.check(t, addr("10.0.1.2:1")), Ok(()));
        assert!(rl.check(t, addr("10.0.1.3:1")).is_err());
        assert_eq!(rl.tracked(), 4);
        // Once the tracked buckets are full again they are pruned and new sources get their own.
        let later = t + Duration::from_secs(10);
        assert_eq!(rl.check(later, addr("10.0.1.3:1")), Ok(()));
        assert_eq!(rl.tracked(), 1);
    }
}
