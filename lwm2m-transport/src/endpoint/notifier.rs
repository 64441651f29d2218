//! The notifier side of Observe (RFC 7641): accepting a registration into a relation keyed by
//! (peer, token), numbering and sending notifications (Confirmable or not, at least one
//! Confirmable per 24 hours, at most one in flight, a newer one replacing it), and ending
//! relations on RST, timeout, deregistration or replacement.

use core::hash::Hash;

use lwm2m_codec::coap::Type;

use super::reliable::Owner;
use super::responder::{ReplyTo, Sent};
use super::{ensure_room, Endpoint};
use crate::error::{EndpointError, Table};
use crate::event::{Event, IncomingId, RelationEnd, RelationId};
use crate::message::{self, Extras, Response};
use crate::observe::Relation;
use crate::time::Instant;

impl<P: Clone + Eq + Hash> Endpoint<P> {
    /// `accept_observation`.
    pub(super) fn accept(
        &mut self,
        now: Instant,
        id: IncomingId,
        response: &Response,
    ) -> Result<RelationId, EndpointError> {
        let Some(incoming) = self.incoming.get(&id) else {
            return Err(EndpointError::UnknownIncoming(id));
        };
        if !incoming.registration {
            return Err(EndpointError::NotObserveRequest(id));
        }
        if !response.code().is_success() {
            return Err(EndpointError::NotSuccess);
        }
        let replacing = self
            .relations
            .by_token
            .contains_key(&(incoming.peer, incoming.token));
        if !replacing {
            let max = self.config.limits.max_relations;
            ensure_room(Table::Relations, self.relations.len(), max)?;
        }
        let Some(incoming) = self.take_incoming(id) else {
            return Err(EndpointError::UnknownIncoming(id));
        };
        let relation_id = RelationId(self.next_id());
        let mut relation = Relation {
            peer: incoming.peer,
            token: incoming.token,
            key: incoming.key,
            sequence: 0,
            con_mid: None,
            non_mid: None,
            last_con: Some(now),
        };
        let sequence = relation.next_sequence();
        if let Some(old) = self.relations.insert(relation_id, relation) {
            self.end_relation(old, Some(RelationEnd::Replaced));
        }
        self.peers.retain(incoming.peer);
        match self.send_response(now, &incoming, response, Some((sequence, relation_id))) {
            Ok(sent) => {
                if let (Sent::Separate { mid, confirmable }, Some(r)) =
                    (sent, self.relations.map.get_mut(&relation_id))
                {
                    if confirmable {
                        r.con_mid = Some(mid);
                    } else {
                        r.non_mid = Some(mid);
                    }
                }
                Ok(relation_id)
            }
            Err(e) => {
                self.end_relation(relation_id, None);
                Err(e)
            }
        }
    }

    /// `notify`.
    pub(super) fn send_notification(
        &mut self,
        now: Instant,
        relation_id: RelationId,
        response: &Response,
    ) -> Result<(), EndpointError> {
        let interval = self.config.confirmable_notification_interval;
        let default_confirmable = self.config.confirmable_notifications;
        let Some(relation) = self.relations.map.get_mut(&relation_id) else {
            return Err(EndpointError::UnknownRelation(relation_id));
        };
        let (pk, token, key) = (relation.peer, relation.token, relation.key);
        let wanted = response.confirmable.unwrap_or(default_confirmable);
        if !response.code().is_success() {
            // A final response without Observe ends the relation (RFC 7641 §3.2, §4.2).
            self.end_relation(relation_id, None);
            let to = ReplyTo {
                pk,
                mid: 0,
                token,
                confirmable: wanted,
                acked: true,
            };
            let Some(slice) = self.slice_body(now, (pk, key), None, response) else {
                return Ok(());
            };
            let extras = Extras {
                block2: slice.block2,
                size2: slice.size2,
                etag: slice.etag.as_ref().map(|e| &e[..]),
                ..Extras::default()
            };
            let payload = response
                .payload()
                .get(slice.start..slice.end)
                .unwrap_or(&[]);
            let head = response.template.head.clone();
            self.reply(
                now,
                to,
                &head,
                &extras,
                payload,
                Some(wanted),
                Owner::Response,
            )?;
            return Ok(());
        }
        let sequence = relation.next_sequence();
        let due = relation.last_con.is_none_or(|t| now >= t + interval);
        // At most one Confirmable notification in flight: a newer one replaces it (RFC 7641
        // §4.5.2), as a Confirmable message continuing its back-off.
        let confirmable = relation.con_mid.is_some() || due || wanted;
        let (replaced, previous_non) = (relation.con_mid.take(), relation.non_mid.take());
        let owner = super::reliable::Owner::Notification(relation_id);
        let inherit = replaced.and_then(|mid| self.untrack_owned((pk, mid), owner));
        if let Some(mid) = previous_non {
            self.untrack_owned((pk, mid), owner);
        }
        let Some(slice) = self.slice_body(now, (pk, key), None, response) else {
            return Ok(());
        };
        let extras = Extras {
            observe: Some(sequence),
            block2: slice.block2,
            size2: slice.size2,
            etag: slice.etag.as_ref().map(|e| &e[..]),
            ..Extras::default()
        };
        let payload = response
            .payload()
            .get(slice.start..slice.end)
            .unwrap_or(&[]);
        let ty = if confirmable {
            Type::Confirmable
        } else {
            Type::NonConfirmable
        };
        let mid = self.peers.next_mid(now, pk);
        let bytes = message::encode(&response.template.head, ty, mid, token, &extras, payload)?;
        self.send_tracked_with(now, pk, mid, bytes, confirmable, owner, inherit);
        if let Some(relation) = self.relations.map.get_mut(&relation_id) {
            if confirmable {
                relation.con_mid = Some(mid);
                relation.last_con = Some(now);
            } else {
                relation.non_mid = Some(mid);
            }
        }
        Ok(())
    }

    /// Removes a relation; with a reason, tells the application. `false` if it did not exist.
    pub(super) fn end_relation(&mut self, id: RelationId, reason: Option<RelationEnd>) -> bool {
        let Some(relation) = self.relations.remove(id) else {
            return false;
        };
        let owner = Owner::Notification(id);
        for mid in [relation.con_mid, relation.non_mid].into_iter().flatten() {
            self.untrack_owned((relation.peer, mid), owner);
        }
        self.peers.release(relation.peer);
        if let (Some(reason), Some(peer)) = (reason, self.addr(relation.peer)) {
            self.events.push_back(Event::RelationEnded {
                relation: id,
                peer,
                reason,
            });
        }
        true
    }
}
