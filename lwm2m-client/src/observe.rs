//! Information reporting (digest §10): observations and their notification schedule.
//!
//! An observation remembers what was last sent and when. A change (reported by the application
//! or made by a server) marks it pending if it meets the change condition of its attributes (any
//! change, or a `gt`/`lt` crossing or an `st` step for a numeric resource); a pending
//! observation notifies as soon as `pmin` has passed since the last notification, and any
//! observation notifies when `pmax` has passed. Attributes are looked up at every decision, so a
//! Write-Attributes applies to running observations at once.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::hash::Hash;
use core::time::Duration;

use lwm2m_codec::coap::Code;
use lwm2m_codec::ContentFormat;
use lwm2m_model::{AccessRights, Level, Node, NotificationAttributes, Path, Value};
use lwm2m_transport::{Instant, RelationId, Response};

use crate::client::{Client, ClientEvent};
use crate::error::DmError;

/// One observation of a server.
#[derive(Debug, Clone)]
pub(crate) struct Observation {
    pub(crate) ssid: u16,
    pub(crate) path: Path,
    pub(crate) format: ContentFormat,
    /// The content of the last notification (or of the first response).
    pub(crate) last: Node,
    pub(crate) last_sent: Instant,
    /// A notifiable change waits for `pmin`.
    pub(crate) pending: bool,
}

/// Every observation, by the transport relation that carries it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observations {
    map: BTreeMap<RelationId, Observation>,
}

impl Observations {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn insert(&mut self, relation: RelationId, observation: Observation) {
        self.map.insert(relation, observation);
    }
}

/// The number of a single numeric resource node.
fn number(node: &Node) -> Option<f64> {
    let value = match node {
        Node::Resource(r) => r.as_single()?,
        Node::ResourceInstance(ri) => &ri.value,
        Node::Object(_) | Node::ObjectInstance(_) => return None,
    };
    match value {
        Value::Integer(_) | Value::Float(_) => value.as_number(),
        _ => None,
    }
}

/// Whether going from `last` to `current` calls for a notification under `attributes`
/// (digest §10.3: any change without thresholds; else a `gt` or `lt` crossing or an `st` step).
pub(crate) fn notifiable(last: &Node, current: &Node, attributes: &NotificationAttributes) -> bool {
    if last == current {
        return false;
    }
    let thresholds = attributes.gt.is_some() || attributes.lt.is_some() || attributes.st.is_some();
    let (Some(old), Some(new)) = (number(last), number(current)) else {
        return true;
    };
    if !thresholds {
        return true;
    }
    let crosses = |limit: Option<f64>| limit.is_some_and(|l| (old <= l) != (new <= l));
    let steps = attributes.st.is_some_and(|st| (new - old).abs() >= st);
    crosses(attributes.gt) || crosses(attributes.lt) || steps
}

fn seconds(s: u32) -> Duration {
    Duration::from_secs(u64::from(s))
}

/// When an observation must be looked at next: `pmin` after the last notification if a change
/// is pending, `pmax` after it in any case (`pmax` counts only when positive and not below
/// `pmin`).
fn due(observation: &Observation, attributes: &NotificationAttributes) -> Option<Instant> {
    let pmin = attributes.pmin.unwrap_or(0);
    let pending = observation
        .pending
        .then(|| observation.last_sent + seconds(pmin));
    let periodic = attributes
        .pmax
        .filter(|&pmax| pmax > 0 && pmax >= pmin)
        .map(|pmax| observation.last_sent + seconds(pmax));
    [pending, periodic].into_iter().flatten().min()
}

impl<P: Clone + Eq + Hash + 'static> Client<P> {
    /// The attributes that govern an observation: inherited, with the server's defaults.
    fn observation_attributes(&self, observation: &Observation) -> NotificationAttributes {
        let ssid = observation.ssid;
        let server = self
            .server_store()
            .and_then(|s| s.iter().find(|(_, s)| s.short_server_id == i64::from(ssid)))
            .map(|(_, s)| s);
        let default_pmin = server
            .and_then(|s| s.default_minimum_period)
            .and_then(|v| u32::try_from(v).ok());
        let default_pmax = server
            .and_then(|s| s.default_maximum_period)
            .and_then(|v| u32::try_from(v).ok());
        let mut attributes = self.attributes.effective(ssid, &observation.path);
        if !matches!(
            observation.path.level(),
            Level::Resource | Level::ResourceInstance
        ) {
            // Thresholds belong to resources (and their instances) only.
            attributes.gt = None;
            attributes.lt = None;
            attributes.st = None;
        }
        attributes.with_defaults(default_pmin, default_pmax)
    }

    /// When the next notification is due, whether or not its server can take it now.
    pub(crate) fn observation_due(&self) -> Option<Instant> {
        self.observations
            .map
            .values()
            .filter_map(|o| due(o, &self.observation_attributes(o)))
            .min()
    }

    /// When the observations need the client's attention: asleep, any due notification (it
    /// wakes the client); awake, those whose server can take them now (the others wait for
    /// the Update that makes their server ready).
    pub(crate) fn observation_deadline(&self) -> Option<Instant> {
        if self.queue.asleep {
            return self.observation_due();
        }
        self.observations
            .map
            .values()
            .filter(|o| self.may_notify(o.ssid))
            .filter_map(|o| due(o, &self.observation_attributes(o)))
            .min()
    }

    /// Whether a notification may go to server `ssid` now: the client is awake and the server
    /// registered, reachable and not in the middle of an Update.
    pub(crate) fn may_notify(&self, ssid: u16) -> bool {
        !self.queue.asleep
            && self
                .registrations
                .get(&ssid)
                .is_some_and(|r| r.ready_for_notifications())
    }

    /// Whether server `ssid` is unreachable (offline, or the client sleeps) and does not want
    /// its notifications stored (`/1/x/6` false): they are dropped.
    fn drops_notifications(&self, ssid: u16) -> bool {
        let offline = self.queue.asleep || self.registrations.get(&ssid).is_some_and(|r| r.offline);
        offline
            && !self
                .server_store()
                .and_then(|s| s.iter().find(|(_, s)| s.short_server_id == i64::from(ssid)))
                .is_none_or(|(_, s)| s.notification_storing_when_disabled_or_offline)
    }

    /// A Confirmable notification was never acknowledged: the server is unreachable. Its
    /// content is stored (the observation is pending again, so the newest value goes out
    /// once the server answers an Update) unless the server asked not to store.
    pub(crate) fn on_notification_timeout(&mut self, relation: RelationId) {
        let Some(o) = self.observations.map.get(&relation) else {
            return;
        };
        let ssid = o.ssid;
        if let Some(r) = self.registrations.get_mut(&ssid) {
            r.went_offline();
        }
        let store = !self.drops_notifications(ssid);
        if let Some(o) = self.observations.map.get_mut(&relation) {
            o.pending = store;
        }
    }

    /// Registers an accepted observation.
    pub(crate) fn start_observation(
        &mut self,
        now: Instant,
        relation: RelationId,
        ssid: u16,
        path: Path,
        format: ContentFormat,
        node: Node,
    ) {
        self.observations.insert(
            relation,
            Observation {
                ssid,
                path,
                format,
                last: node,
                last_sent: now,
                pending: false,
            },
        );
        self.events
            .push_back(ClientEvent::ObservationStarted { ssid, path });
    }

    pub(crate) fn on_relation_ended(&mut self, relation: RelationId) {
        if let Some(o) = self.observations.map.remove(&relation) {
            self.events.push_back(ClientEvent::ObservationEnded {
                ssid: o.ssid,
                path: o.path,
            });
        }
    }

    /// Drops every observation of a server (a new Register voids them).
    pub(crate) fn end_observations_of(&mut self, ssid: u16) {
        let ended: Vec<RelationId> = self
            .observations
            .map
            .iter()
            .filter(|(_, o)| o.ssid == ssid)
            .map(|(&r, _)| r)
            .collect();
        for relation in ended {
            self.endpoint.cancel_relation(relation).ok();
            self.on_relation_ended(relation);
        }
    }

    /// Looks at changes and timers and sends the notifications that are due.
    pub(crate) fn drive_observations(&mut self, now: Instant) {
        let changed = core::mem::take(&mut self.changed);
        let relations: Vec<RelationId> = self.observations.map.keys().copied().collect();
        for relation in relations {
            let Some(observation) = self.observations.map.get(&relation) else {
                continue;
            };
            let attributes = self.observation_attributes(observation);
            let touched = changed.iter().any(|c| {
                observation.path.is_ancestor_or_self_of(c) || c.is_ancestor_of(&observation.path)
            });
            let mut pending = observation.pending;
            if touched && !pending {
                match self.read_node(observation.ssid, &observation.path, false) {
                    Ok(current) => pending = notifiable(&observation.last, &current, &attributes),
                    Err(error) => {
                        self.end_with_error(now, relation, &error);
                        continue;
                    }
                }
            }
            let ssid = observation.ssid;
            let ready = self.may_notify(ssid);
            let drop_it = pending && !ready && self.drops_notifications(ssid);
            if drop_it {
                // Not stored: the change is forgotten, later ones compare with this value.
                if let Ok(current) = self.read_node(ssid, &observation.path, false) {
                    if let Some(o) = self.observations.map.get_mut(&relation) {
                        o.last = current;
                    }
                }
                pending = false;
            }
            let Some(observation) = self.observations.map.get_mut(&relation) else {
                continue;
            };
            observation.pending = pending;
            if ready && due(observation, &attributes).is_some_and(|at| at <= now) {
                self.notify(now, relation);
            }
        }
    }

    /// The observed path is gone (or no longer readable): a final error response ends it.
    fn end_with_error(&mut self, now: Instant, relation: RelationId, error: &DmError) {
        self.endpoint
            .notify(now, relation, Response::new(error.code()))
            .ok();
        self.on_relation_ended(relation);
    }

    fn notify(&mut self, now: Instant, relation: RelationId) {
        let Some(o) = self.observations.map.get(&relation) else {
            return;
        };
        let (ssid, path, format) = (o.ssid, o.path, o.format);
        let queue = self.binding_of(ssid) == lwm2m_model::BindingMode::UdpQueue;
        // A notification goes out only while the server may read the instance (§14.3 step 5).
        let readable = path.instance_id().is_none()
            || self
                .rights(
                    ssid,
                    path.object_id().unwrap_or_default(),
                    path.instance_id().unwrap_or_default(),
                )
                .contains(AccessRights::READ);
        let node = if readable {
            match self.read_node(ssid, &path, false) {
                Ok(node) => Some(node),
                Err(error) => {
                    self.end_with_error(now, relation, &error);
                    return;
                }
            }
        } else {
            None
        };
        let sent = node.as_ref().map(|node| {
            crate::content::encode(format, &path, node, &self.registry).and_then(|payload| {
                let response = Response::build(Code::CONTENT, |b| {
                    b.content_format(format.number());
                })
                .map_err(|e| DmError::internal(path, alloc::format!("{e}")))?;
                // In queue mode a notification is Confirmable: the client must know it arrived
                // before it sleeps (and store it if it did not).
                let response = if queue {
                    response.with_confirmable(true)
                } else {
                    response
                };
                self.endpoint
                    .notify(now, relation, response.with_payload(payload))
                    .map_err(|e| DmError::internal(path, alloc::format!("{e}")))
            })
        });
        if let Some(Err(_)) = sent {
            // The relation is gone (or the content cannot be encoded any more).
            self.observations.map.remove(&relation);
            self.endpoint.cancel_relation(relation).ok();
            self.events
                .push_back(ClientEvent::ObservationEnded { ssid, path });
            return;
        }
        if let Some(o) = self.observations.map.get_mut(&relation) {
            if let Some(node) = node {
                o.last = node;
            }
            o.last_sent = now;
            o.pending = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lwm2m_model::Resource;

    fn level(v: i64) -> Node {
        Node::Resource(Resource::single(9, v))
    }

    fn attrs(gt: Option<f64>, lt: Option<f64>, st: Option<f64>) -> NotificationAttributes {
        NotificationAttributes {
            pmin: None,
            pmax: None,
            gt,
            lt,
            st,
        }
    }

    #[test]
    fn ts_battery_examples() {
        // ?gt=45&st=10
        let a = attrs(Some(45.0), None, Some(10.0));
        for (from, to) in [(20, 35), (45, 50), (50, 40), (35, 20)] {
            assert!(notifiable(&level(from), &level(to), &a), "{from}->{to}");
        }
        assert!(!notifiable(&level(20), &level(25), &a));
        // ?lt=20&gt=85&st=10
        let b = attrs(Some(85.0), Some(20.0), Some(10.0));
        for (from, to) in [(17, 24), (75, 90), (50, 10), (87, 99)] {
            assert!(notifiable(&level(from), &level(to), &b), "{from}->{to}");
        }
        assert!(!notifiable(&level(50), &level(55), &b));
        // No thresholds: any change; no change never.
        assert!(notifiable(&level(1), &level(2), &attrs(None, None, None)));
        assert!(!notifiable(&level(2), &level(2), &attrs(None, None, None)));
    }

    #[test]
    fn due_honours_pmin_and_pmax() {
        let mut o = Observation {
            ssid: 1,
            path: "/3/0/9".parse().unwrap(),
            format: ContentFormat::Text,
            last: level(1),
            last_sent: Instant::from_secs(100),
            pending: false,
        };
        let a = NotificationAttributes {
            pmin: Some(10),
            pmax: Some(60),
            ..NotificationAttributes::default()
        };
        assert_eq!(due(&o, &a), Some(Instant::from_secs(160)));
        o.pending = true;
        assert_eq!(due(&o, &a), Some(Instant::from_secs(110)));
        // pmax below pmin is ignored; pmax 0 means none.
        let b = NotificationAttributes {
            pmin: Some(10),
            pmax: Some(5),
            ..NotificationAttributes::default()
        };
        assert_eq!(due(&o, &b), Some(Instant::from_secs(110)));
        o.pending = false;
        assert_eq!(due(&o, &b), None);
    }
}
