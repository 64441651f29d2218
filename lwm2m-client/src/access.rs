//! Access control (digest §14): which rights a server has on an object instance.
//!
//! With one server account everything but the Security object is allowed. With several, the
//! Access Control object decides: the instance for `(o, i)` (or `(o, 65535)` for Create), its
//! ACL entry for the server, else full rights for its owner, else the default entry `ACL[0]`.
//! Access Control instances themselves are readable by every server and writable only by their
//! owner; servers never create or delete them (the client does, on Create and Delete).

use core::hash::Hash;

use lwm2m_model::{AccessRights, Path};
use lwm2m_objects::AccessControl;

use crate::client::Client;
use crate::error::DmError;

/// The Object Instance ID of the Access Control instance that holds Create rights.
pub const CREATE_INSTANCE: u16 = 65_535;

/// The rights of server `ssid` from one Access Control instance (§14.3 step 2).
pub(crate) fn rights_from(ac: &AccessControl, ssid: u16) -> AccessRights {
    let acl = ac.acl.as_ref();
    let entry = |id: u16| {
        acl.and_then(|m| m.get(id))
            .map(|&v| AccessRights::from_bits_truncate(u16::try_from(v).unwrap_or(0)))
    };
    if let Some(rights) = entry(ssid) {
        return rights;
    }
    if ac.access_control_owner == i64::from(ssid) {
        return AccessRights::FULL;
    }
    entry(0).unwrap_or(AccessRights::NONE)
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// Whether access control applies (more than one LwM2M server account).
    pub(crate) fn access_control_applies(&self) -> bool {
        self.server_store().is_some_and(|s| s.len() > 1)
    }

    /// The Access Control instance for `(object, instance)`, with its id.
    pub(crate) fn access_instance(
        &self,
        object: u16,
        instance: u16,
    ) -> Option<(u16, &AccessControl)> {
        self.access_store()?.iter().find(|(_, ac)| {
            ac.object_id == i64::from(object) && ac.object_instance_id == i64::from(instance)
        })
    }

    /// The rights of server `ssid` on instance `instance` of `object` (65535: the object, for
    /// Create).
    pub(crate) fn rights(&self, ssid: u16, object: u16, instance: u16) -> AccessRights {
        if !self.access_control_applies() {
            return AccessRights::FULL | AccessRights::CREATE;
        }
        if object == 2 {
            let owner = self
                .access_store()
                .and_then(|s| s.get(instance))
                .is_some_and(|ac| ac.access_control_owner == i64::from(ssid));
            return if owner && instance != CREATE_INSTANCE {
                AccessRights::READ | AccessRights::WRITE
            } else {
                AccessRights::READ
            };
        }
        self.access_instance(object, instance)
            .map_or(AccessRights::NONE, |(_, ac)| rights_from(ac, ssid))
    }

    /// 4.01 unless server `ssid` has `needed` on the instance of `path` (the object's Create
    /// instance for an object path).
    pub(crate) fn require(
        &self,
        ssid: u16,
        path: &Path,
        needed: AccessRights,
    ) -> Result<(), DmError> {
        let object = path.object_id().unwrap_or_default();
        let instance = path.instance_id().unwrap_or(CREATE_INSTANCE);
        if self.rights(ssid, object, instance).contains(needed) {
            Ok(())
        } else {
            Err(DmError::Unauthorized { ssid, path: *path })
        }
    }

    /// After a successful Create by `ssid` with several servers: an Access Control instance
    /// owned by the creator with full rights for it.
    pub(crate) fn add_access_instance(&mut self, ssid: u16, object: u16, instance: u16) {
        if !self.access_control_applies() || object == 2 {
            return;
        }
        let Some(store) = self.access_store_mut() else {
            return;
        };
        let id = (0..=lwm2m_model::MAX_ID).find(|id| store.get(*id).is_none());
        if let Some(id) = id {
            store.insert(
                id,
                AccessControl {
                    object_id: i64::from(object),
                    object_instance_id: i64::from(instance),
                    acl: Some([(ssid, AccessRights::FULL.to_acl_value())].into()),
                    access_control_owner: i64::from(ssid),
                },
            );
            self.objects_changed = true;
        }
    }

    /// After a Delete: the instance's Access Control instance goes too.
    pub(crate) fn remove_access_instance(&mut self, object: u16, instance: u16) {
        let Some(id) = self.access_instance(object, instance).map(|(id, _)| id) else {
            return;
        };
        if let Some(store) = self.access_store_mut() {
            store.remove(id);
            self.objects_changed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ac(acl: &[(u16, i64)], owner: i64) -> AccessControl {
        AccessControl {
            object_id: 3,
            object_instance_id: 0,
            acl: Some(acl.iter().copied().collect()),
            access_control_owner: owner,
        }
    }

    #[test]
    fn ts_example_acls() {
        // AC instance 2 of the TS example: (3,0) [101]=15, [102]=1, owner 101.
        let a = ac(&[(101, 15), (102, 1)], 101);
        assert_eq!(rights_from(&a, 101), AccessRights::FULL);
        assert_eq!(rights_from(&a, 102), AccessRights::READ);
        assert_eq!(rights_from(&a, 103), AccessRights::NONE);
        // AC instance 3: (4,0) [101]=1, [0]=1: everyone reads through the default.
        let b = ac(&[(101, 1), (0, 1)], 101);
        assert_eq!(rights_from(&b, 103), AccessRights::READ);
        // The owner without its own entry has full access; the default does not cover it.
        let c = ac(&[(0, 1)], 101);
        assert_eq!(rights_from(&c, 101), AccessRights::FULL);
        // No ACL at all: only the owner.
        let d = AccessControl {
            acl: None,
            ..ac(&[], 7)
        };
        assert_eq!(rights_from(&d, 7), AccessRights::FULL);
        assert_eq!(rights_from(&d, 8), AccessRights::NONE);
    }
}
