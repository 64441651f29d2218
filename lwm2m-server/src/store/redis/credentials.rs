//! [`RedisStore`]'s [`CredentialStore`]: `P:cred:{endpoint}` and the `P:psk:{identity}` and
//! `P:rpk:{hex}` indexes, changed together in watched MULTI/EXEC transactions, and the one-time
//! index of raw public keys stored before `P:rpk` existed.

use std::sync::atomic::Ordering;

use redis::Connection;

use super::{backend, glob_escape, unwatch, RedisStore, SCAN_BATCH};
use crate::store::credentials::{raw_public_key, raw_public_key_conflict};
use crate::store::records::{decode_credential, encode_credential};
use crate::store::{Credential, CredentialStore, SecurityInfo, StoreError};

fn psk_identity_of(info: &SecurityInfo) -> Option<&str> {
    match &info.credential {
        Credential::Psk { identity, .. } => Some(identity),
        _ => None,
    }
}

/// Why a credential cannot be stored: its PSK identity or raw public key belongs to another
/// endpoint, named.
enum Refusal {
    PskIdentity(String),
    RawPublicKey(String),
}

/// What one attempt of a credential's `put` did: `None` when a watched key changed (retry),
/// else the old record, or why nothing was stored.
type PutAttempt = Option<Result<Option<Vec<u8>>, Refusal>>;

impl RedisStore {
    /// Indexes the raw public keys of credentials stored before the `rpk` index existed, unless
    /// `P:rpk-indexed` says it is done. `SET NX`: an entry a store made meanwhile stays.
    fn index_raw_public_keys(&self, connection: &mut Connection) -> Result<(), StoreError> {
        if self.raw_public_keys_indexed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let marker = self.raw_public_keys_indexed_key();
        let done: bool = redis::cmd("EXISTS")
            .arg(&marker)
            .query(connection)
            .map_err(backend("check the raw public key index"))?;
        if !done {
            let prefix = format!("{}:cred:", self.prefix);
            let pattern = format!("{}*", glob_escape(&prefix));
            let keys = Self::scan(connection, &pattern)?;
            for batch in keys.chunks(SCAN_BATCH) {
                let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                    .arg(batch)
                    .query(connection)
                    .map_err(backend("read credentials"))?;
                let mut pipe = redis::pipe();
                let mut found = 0usize;
                for (key, value) in batch.iter().zip(values) {
                    let endpoint = key
                        .strip_prefix(prefix.as_bytes())
                        .and_then(|e| std::str::from_utf8(e).ok());
                    let (Some(endpoint), Some(value)) = (endpoint, value) else {
                        continue;
                    };
                    // An unreadable credential admits nobody; `get_by_endpoint` reports it.
                    let Ok(info) = decode_credential(endpoint, endpoint, &value) else {
                        continue;
                    };
                    if let Some(spki) = raw_public_key(&info) {
                        found += 1;
                        pipe.cmd("SET")
                            .arg(self.raw_public_key_key(spki))
                            .arg(endpoint)
                            .arg("NX")
                            .ignore();
                    }
                }
                if found > 0 {
                    let () = pipe
                        .query(connection)
                        .map_err(backend("index raw public keys"))?;
                }
            }
            redis::cmd("SET")
                .arg(&marker)
                .arg(1)
                .exec(connection)
                .map_err(backend("mark the raw public keys indexed"))?;
        }
        self.raw_public_keys_indexed.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Whether `endpoint`'s stored credential is the raw public key `spki` (watching it first,
    /// so a change before EXEC retries the transaction).
    fn holds_raw_public_key(
        &self,
        connection: &mut Connection,
        endpoint: &str,
        spki: &[u8],
    ) -> Result<bool, StoreError> {
        let key = self.credential_key(endpoint);
        redis::cmd("WATCH")
            .arg(&key)
            .exec(connection)
            .map_err(backend("watch a credential"))?;
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query(connection)
            .map_err(backend("read a credential"))?;
        Ok(value
            .and_then(|b| decode_credential(&key, endpoint, &b).ok())
            .is_some_and(|info| raw_public_key(&info) == Some(spki)))
    }

    /// Queues the removal of `spki`'s index entry if it names `endpoint` (watched, like
    /// [`Self::holds_raw_public_key`]): a key two endpoints shared before the index existed
    /// stays with the one it was indexed for.
    fn unindex_raw_public_key(
        &self,
        connection: &mut Connection,
        pipe: &mut redis::Pipeline,
        spki: &[u8],
        endpoint: &str,
    ) -> Result<(), StoreError> {
        let key = self.raw_public_key_key(spki);
        redis::cmd("WATCH")
            .arg(&key)
            .exec(connection)
            .map_err(backend("watch the raw public key index"))?;
        let owner: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query(connection)
            .map_err(backend("look up a raw public key"))?;
        if owner.as_deref() == Some(endpoint.as_bytes()) {
            pipe.del(key).ignore();
        }
        Ok(())
    }

    /// One attempt of [`CredentialStore::put`].
    fn try_put_credential(
        &self,
        connection: &mut Connection,
        info: &SecurityInfo,
        bytes: &[u8],
    ) -> Result<PutAttempt, StoreError> {
        let key = self.credential_key(&info.endpoint);
        let new_identity = psk_identity_of(info);
        let new_spki = raw_public_key(info);
        let mut watched = vec![key.clone()];
        watched.extend(new_identity.map(|i| self.psk_identity_key(i)));
        watched.extend(new_spki.map(|k| self.raw_public_key_key(k)));
        redis::cmd("WATCH")
            .arg(&watched)
            .exec(connection)
            .map_err(backend("watch a credential"))?;
        let mut values: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
            .arg(&watched)
            .query(connection)
            .map_err(backend("read a credential"))?;
        let key_owner = new_spki.and_then(|_| values.pop().flatten());
        let identity_owner = new_identity.and_then(|_| values.pop().flatten());
        let old = values.pop().flatten();
        if let Some(owner) = identity_owner.filter(|o| *o != info.endpoint.as_bytes()) {
            unwatch(connection);
            let owner = String::from_utf8_lossy(&owner).into_owned();
            return Ok(Some(Err(Refusal::PskIdentity(owner))));
        }
        if let (Some(spki), Some(owner)) = (new_spki, key_owner) {
            if owner != info.endpoint.as_bytes() {
                let owner = String::from_utf8_lossy(&owner).into_owned();
                // An entry whose endpoint no longer holds the key is stale: overwritten below.
                if self.holds_raw_public_key(connection, &owner, spki)? {
                    unwatch(connection);
                    return Ok(Some(Err(Refusal::RawPublicKey(owner))));
                }
            }
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        let old_info = old
            .as_ref()
            .and_then(|b| decode_credential(&key, &info.endpoint, b).ok());
        if let Some(old_info) = &old_info {
            if let Some(old_identity) = psk_identity_of(old_info) {
                if new_identity != Some(old_identity) {
                    pipe.del(self.psk_identity_key(old_identity)).ignore();
                }
            }
            if let Some(old_spki) = raw_public_key(old_info) {
                if new_spki != Some(old_spki) {
                    self.unindex_raw_public_key(connection, &mut pipe, old_spki, &info.endpoint)?;
                }
            }
        }
        pipe.set(&key, bytes).ignore();
        if let Some(identity) = new_identity {
            pipe.set(self.psk_identity_key(identity), &info.endpoint)
                .ignore();
        }
        if let Some(spki) = new_spki {
            pipe.set(self.raw_public_key_key(spki), &info.endpoint)
                .ignore();
        }
        let done: Option<()> = pipe
            .query(connection)
            .map_err(backend("store a credential"))?;
        Ok(done.map(|()| Ok(old)))
    }
}

impl CredentialStore for RedisStore {
    fn has_credentials(&self) -> Result<bool, StoreError> {
        let pattern = format!("{}:cred:*", glob_escape(&self.prefix));
        Ok(!Self::scan(&mut *self.lock()?, &pattern)?.is_empty())
    }

    fn get_by_endpoint(&self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let key = self.credential_key(endpoint);
        let value: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query(&mut *self.lock()?)
            .map_err(backend("read a credential"))?;
        value
            .map(|b| decode_credential(&key, endpoint, &b))
            .transpose()
    }

    fn get_by_psk_identity(&self, identity: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let owner: Option<String> = redis::cmd("GET")
            .arg(self.psk_identity_key(identity))
            .query(&mut *self.lock()?)
            .map_err(backend("look up a PSK identity"))?;
        let Some(endpoint) = owner else {
            return Ok(None);
        };
        // The two reads are not one snapshot: a credential re-keyed in between no longer has
        // this identity, and must not be handed out for it.
        Ok(self
            .get_by_endpoint(&endpoint)?
            .filter(|info| psk_identity_of(info) == Some(identity)))
    }

    fn get_by_raw_public_key(&self, spki: &[u8]) -> Result<Option<SecurityInfo>, StoreError> {
        let owner: Option<String> = {
            let connection = &mut *self.lock()?;
            self.index_raw_public_keys(connection)?;
            redis::cmd("GET")
                .arg(self.raw_public_key_key(spki))
                .query(connection)
                .map_err(backend("look up a raw public key"))?
        };
        let Some(endpoint) = owner else {
            return Ok(None);
        };
        // Not one snapshot either (and an entry may be stale): the credential must hold the key.
        Ok(self
            .get_by_endpoint(&endpoint)?
            .filter(|info| raw_public_key(info) == Some(spki)))
    }

    fn put(&mut self, info: SecurityInfo) -> Result<Option<SecurityInfo>, StoreError> {
        let key = self.credential_key(&info.endpoint);
        let bytes = encode_credential(&info.credential);
        if raw_public_key(&info).is_some() {
            self.index_raw_public_keys(&mut *self.lock()?)?;
        }
        let outcome = self.retry("store a credential", |connection| {
            self.try_put_credential(connection, &info, &bytes)
        })?;
        match outcome {
            Ok(old) => old
                .map(|b| decode_credential(&key, &info.endpoint, &b))
                .transpose(),
            Err(Refusal::PskIdentity(owner)) => Err(StoreError::Conflict(format!(
                "PSK identity {:?} belongs to endpoint {owner:?}",
                psk_identity_of(&info).unwrap_or_default()
            ))),
            Err(Refusal::RawPublicKey(owner)) => Err(raw_public_key_conflict(
                raw_public_key(&info).unwrap_or_default(),
                &owner,
            )),
        }
    }

    fn remove(&mut self, endpoint: &str) -> Result<Option<SecurityInfo>, StoreError> {
        let key = self.credential_key(endpoint);
        self.retry("remove a credential", |connection| {
            redis::cmd("WATCH")
                .arg(&key)
                .exec(connection)
                .map_err(backend("watch a credential"))?;
            let old: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query(connection)
                .map_err(backend("read a credential"))?;
            let Some(old) = old else {
                unwatch(connection);
                return Ok(Some(None));
            };
            let old = decode_credential(&key, endpoint, &old);
            let mut pipe = redis::pipe();
            pipe.atomic();
            if let Ok(old_info) = &old {
                if let Some(identity) = psk_identity_of(old_info) {
                    pipe.del(self.psk_identity_key(identity)).ignore();
                }
                if let Some(spki) = raw_public_key(old_info) {
                    self.unindex_raw_public_key(connection, &mut pipe, spki, endpoint)?;
                }
            }
            pipe.del(&key).ignore();
            let done: Option<()> = pipe
                .query(connection)
                .map_err(backend("remove a credential"))?;
            Ok(done.map(|()| Some(old)))
        })?
        .transpose()
    }
}
