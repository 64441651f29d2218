//! [`ObservationStore`]: the observations the server set up on its clients.
//!
//! An observation belongs to a registration and is identified by the CoAP token of its Observe
//! request. A new Register of the same endpoint, a De-register and an expiry void every
//! observation of the registration ([`ObservationStore::remove_all`]).

use std::collections::HashMap;

use lwm2m_codec::coap::Token;
use lwm2m_model::Path;

use super::StoreError;
use crate::registration::RegistrationId;
use crate::Timestamp;

/// One observation: who, which path, under which token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The registration the observation belongs to.
    pub registration: RegistrationId,
    /// The token of the Observe request (notifications carry it).
    pub token: Token,
    /// The observed path.
    pub path: Path,
    /// The Accept of the Observe request, if any.
    pub content_format: Option<u16>,
    /// When it was established.
    pub created_at: Timestamp,
}

/// Storage of observations by registration and token.
pub trait ObservationStore: Send {
    /// Adds an observation, replacing (and returning) one with the same registration and token.
    fn put(&mut self, observation: Observation) -> Result<Option<Observation>, StoreError>;

    /// The observation of this registration with this token.
    fn get(
        &self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError>;

    /// Removes one observation.
    fn remove(
        &mut self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError>;

    /// Removes every observation of a registration (on re-Register, De-register, expiry).
    fn remove_all(&mut self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError>;

    /// Every observation of a registration.
    fn list(&self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError>;
}

/// Observations in a hash map per registration.
///
/// ```
/// use lwm2m_codec::coap::Token;
/// use lwm2m_model::Path;
/// use lwm2m_server::store::{MemoryObservationStore, Observation, ObservationStore};
/// use lwm2m_server::Timestamp;
///
/// let mut store = MemoryObservationStore::default();
/// let reg = "5a3f".parse()?;
/// let token = Token::new(&[0xCA, 0xFE])?;
/// store.put(Observation {
///     registration: reg,
///     token,
///     path: "/3/0/9".parse()?,
///     content_format: None,
///     created_at: Timestamp::UNIX_EPOCH,
/// })?;
/// assert_eq!(store.get(reg, &token)?.map(|o| o.path.to_string()), Some("/3/0/9".into()));
/// assert_eq!(store.remove_all(reg)?.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryObservationStore {
    by_registration: HashMap<RegistrationId, HashMap<Token, Observation>>,
}

impl MemoryObservationStore {
    /// How many observations it holds in all.
    pub fn len(&self) -> usize {
        self.by_registration.values().map(HashMap::len).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.by_registration.is_empty()
    }
}

impl ObservationStore for MemoryObservationStore {
    fn put(&mut self, observation: Observation) -> Result<Option<Observation>, StoreError> {
        Ok(self
            .by_registration
            .entry(observation.registration)
            .or_default()
            .insert(observation.token, observation))
    }

    fn get(
        &self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        Ok(self
            .by_registration
            .get(&registration)
            .and_then(|m| m.get(token))
            .cloned())
    }

    fn remove(
        &mut self,
        registration: RegistrationId,
        token: &Token,
    ) -> Result<Option<Observation>, StoreError> {
        let Some(map) = self.by_registration.get_mut(&registration) else {
            return Ok(None);
        };
        let removed = map.remove(token);
        if map.is_empty() {
            self.by_registration.remove(&registration);
        }
        Ok(removed)
    }

    fn remove_all(&mut self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        Ok(self
            .by_registration
            .remove(&registration)
            .map(|m| m.into_values().collect())
            .unwrap_or_default())
    }

    fn list(&self, registration: RegistrationId) -> Result<Vec<Observation>, StoreError> {
        Ok(self
            .by_registration
            .get(&registration)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(reg: &str, token: u64, path: &str) -> Observation {
        Observation {
            registration: reg.parse().unwrap(),
            token: Token::from_u64(token),
            path: path.parse().unwrap(),
            content_format: Some(11542),
            created_at: Timestamp::from_unix_secs(token),
        }
    }

    #[test]
    fn put_replace_remove() {
        let mut store = MemoryObservationStore::default();
        assert!(store.is_empty());
        assert_eq!(store.put(obs("a", 1, "/3/0/9")).unwrap(), None);
        assert_eq!(store.put(obs("a", 2, "/3/0/7")).unwrap(), None);
        assert_eq!(store.put(obs("b", 1, "/4/0")).unwrap(), None);
        let old = store.put(obs("a", 1, "/3/0/8")).unwrap().unwrap();
        assert_eq!(old.path.to_string(), "/3/0/9");
        assert_eq!(store.len(), 3);
        let a = "a".parse().unwrap();
        let b = "b".parse().unwrap();
        assert_eq!(store.list(a).unwrap().len(), 2);
        assert_eq!(
            store
                .get(b, &Token::from_u64(1))
                .unwrap()
                .unwrap()
                .path
                .to_string(),
            "/4/0"
        );
        assert_eq!(store.get(b, &Token::from_u64(2)).unwrap(), None);
        assert!(store.remove(b, &Token::from_u64(1)).unwrap().is_some());
        assert!(store.remove(b, &Token::from_u64(1)).unwrap().is_none());
        assert_eq!(store.remove_all(a).unwrap().len(), 2);
        assert!(store.list(a).unwrap().is_empty());
        assert!(store.is_empty());
    }
}
