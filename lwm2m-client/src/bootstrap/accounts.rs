//! The server accounts a bootstrap configured: Security instances (not the Bootstrap-Server's)
//! paired with Server instances by Short Server ID, checked at Bootstrap-Finish (digest §7.2
//! step 4) and turned into registrations.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hash::Hash;

use lwm2m_model::BindingMode;
use lwm2m_objects::{AccessControl, Security, Server, TypedObject};
use lwm2m_transport::Instant;

use crate::client::Client;
use crate::object::TypedStore;
use crate::registration::Registration;

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// The LwM2M server accounts of the Security and Server objects: `(ssid, peer)` for each, or
    /// what makes the configuration inconsistent.
    pub(crate) fn configured_accounts(&self) -> Result<Vec<(u16, P)>, String> {
        let resolve = self
            .bootstrap
            .as_ref()
            .map(|b| b.config.resolve)
            .ok_or_else(|| String::from("no Bootstrap-Server account"))?;
        let security = self
            .object::<TypedStore<Security>>(0)
            .ok_or_else(|| String::from("no Security object"))?;
        let server = self
            .object::<TypedStore<Server>>(1)
            .ok_or_else(|| String::from("no Server object"))?;
        let mut servers: BTreeMap<i64, &Server> = BTreeMap::new();
        for (i, s) in server.iter() {
            if servers.insert(s.short_server_id, s).is_some() {
                return Err(format!(
                    "/1/{i}: short server id {} twice",
                    s.short_server_id
                ));
            }
        }
        let mut accounts: Vec<(u16, P)> = Vec::new();
        for (i, s) in security.iter().filter(|(_, s)| !s.bootstrap_server) {
            let ssid = s
                .short_server_id
                .and_then(|v| u16::try_from(v).ok())
                .filter(|&v| v != 0 && v <= lwm2m_model::MAX_ID)
                .ok_or_else(|| format!("/0/{i}: no valid short server id"))?;
            if accounts.iter().any(|(a, _)| *a == ssid) {
                return Err(format!("/0/{i}: short server id {ssid} twice"));
            }
            let paired = servers
                .remove(&i64::from(ssid))
                .ok_or_else(|| format!("/0/{i}: no Server instance for ssid {ssid}"))?;
            if paired.lifetime <= 0 || u32::try_from(paired.lifetime).is_err() {
                return Err(format!("server {ssid}: lifetime {}", paired.lifetime));
            }
            if !matches!(
                BindingMode::parse(&paired.binding),
                Some(BindingMode::Udp | BindingMode::UdpQueue)
            ) {
                return Err(format!("server {ssid}: binding {:?}", paired.binding));
            }
            let peer = resolve(&s.lwm2m_server_uri)
                .ok_or_else(|| format!("/0/{i}: server URI {:?}", s.lwm2m_server_uri))?;
            accounts.push((ssid, peer));
        }
        if let Some(ssid) = servers.keys().next() {
            return Err(format!(
                "Server instance of ssid {ssid} has no Security instance"
            ));
        }
        if accounts.is_empty() {
            return Err(String::from("no LwM2M server account"));
        }
        Ok(accounts)
    }

    /// Makes `accounts` the client's registrations: a server still registered at the same
    /// address keeps its registration, every other one registers now; the others are dropped.
    pub(crate) fn apply_accounts(&mut self, now: Instant, accounts: &[(u16, P)]) {
        let removed: Vec<u16> = self
            .registrations
            .keys()
            .copied()
            .filter(|ssid| !accounts.iter().any(|(a, _)| a == ssid))
            .collect();
        for ssid in removed {
            self.deregister(now, ssid, None);
            self.end_observations_of(ssid);
            self.registrations.remove(&ssid);
        }
        for (ssid, peer) in accounts {
            let keep = self
                .registrations
                .get(ssid)
                .is_some_and(|r| r.is_registered() && &r.peer == peer);
            if !keep {
                self.end_observations_of(*ssid);
                self.registrations.insert(
                    *ssid,
                    Box::new(Registration::new_at(*ssid, peer.clone(), now)),
                );
            }
        }
        // Several servers need access control (digest §14.1).
        if accounts.len() > 1
            && !self.objects.contains_key(&2)
            && self
                .registry
                .insert_static(AccessControl::DEFINITION)
                .is_ok()
        {
            self.objects
                .insert(2, Box::new(TypedStore::<AccessControl>::new()));
        }
        self.objects_changed = false;
    }
}
