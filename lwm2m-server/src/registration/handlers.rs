//! Register, Update and De-register: validation, table change, the change and event held in
//! the open batch (see `batch.rs`) until it is committed to the store.

use std::net::SocketAddr;

use lwm2m_codec::coap::Code;
use lwm2m_codec::ContentFormat;
use lwm2m_model::{RegisterParams, UpdateParams};

use super::registrar::RequestView;
use super::{
    CompactObjectLinks, IdentityVerdict, Refusal, Registrar, Registration, RegistrationEvent,
    RegistrationId, RegistrationOperation, RegistrationResponse, UnknownParameters,
};
use crate::Timestamp;

impl Registrar {
    /// Routes a request on `/rd` to its handler.
    pub(super) fn dispatch(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &RequestView<'_>,
    ) -> Result<RegistrationResponse, Refusal> {
        let mut path = request.message.uri_path()?;
        if path.next() != Some("rd") {
            return Err(Refusal::NotRegistrationInterface);
        }
        let code = request.message.code();
        match (path.next(), path.next()) {
            (None, _) if code == Code::POST => self.register(now, peer, request),
            (None, _) => Err(Refusal::MethodNotAllowed { method: code }),
            (Some(id), None) => {
                let id = RegistrationId::parse(id).map_err(|_| Refusal::UnknownRegistration)?;
                match code {
                    Code::POST => self.update(now, peer, id, request),
                    Code::DELETE => self.deregister(peer, id),
                    _ if self.table.contains(id) => Err(Refusal::MethodNotAllowed { method: code }),
                    _ => Err(Refusal::UnknownRegistration),
                }
            }
            (Some(_), Some(_)) => Err(Refusal::NotRegistrationInterface),
        }
    }

    fn register(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        request: &RequestView<'_>,
    ) -> Result<RegistrationResponse, Refusal> {
        // The rate limit comes first: a flood of bad Registers costs no parsing.
        if let Some(limiter) = &mut self.limiter {
            if let Err(retry_after) = limiter.check(now, peer) {
                return Err(Refusal::RateLimited {
                    retry_after,
                    response: self
                        .config
                        .register_rate_limit
                        .map(|r| r.response)
                        .unwrap_or_default(),
                });
            }
        }
        self.check_confirmable(request)?;
        check_content_format(request)?;
        let query = request.message.uri_query()?;
        let params = match self.config.unknown_parameters {
            UnknownParameters::Keep => RegisterParams::parse_lenient(query)?,
            UnknownParameters::Reject => RegisterParams::parse(query)?,
        };
        if params.additional.len() > self.config.max_additional_parameters {
            return Err(Refusal::TooManyParameters {
                limit: self.config.max_additional_parameters,
            });
        }
        let len = params.endpoint().len();
        if len > self.config.max_endpoint_len {
            return Err(Refusal::EndpointTooLong {
                len,
                limit: self.config.max_endpoint_len,
            });
        }
        if !params
            .lwm2m_version
            .is_supported_by(self.config.supported_version)
        {
            return Err(Refusal::UnsupportedVersion {
                client: params.lwm2m_version,
                server: self.config.supported_version,
            });
        }
        if request.payload.is_empty() {
            return Err(Refusal::MissingObjectLinks);
        }
        let links = CompactObjectLinks::parse(request.payload, self.config.max_object_links)?;
        self.check_identity(peer, params.endpoint(), RegistrationOperation::Register)?;

        let existing = self
            .table
            .by_endpoint(params.endpoint())
            .map(Registration::id);
        if existing.is_none() && self.table.len() >= self.config.max_registrations {
            return Err(Refusal::Full {
                limit: self.config.max_registrations,
            });
        }
        let id = self.fresh_id();
        let registration = Registration::new(id, params, links, peer, now);
        // `fresh_id` returned an unused id, so the insert cannot clash.
        let replaced = self
            .table
            .insert(registration.clone())
            .map_err(|_| Refusal::Internal("a fresh registration id clashed"))?;
        // Written to the store when the batch commits, before the answer goes out.
        self.batch.created(id);
        self.batch.registered += 1;
        let old_id = replaced.as_ref().map(Registration::id);
        let event = RegistrationEvent::Registered {
            registration,
            replaced: replaced.map(Box::new),
        };
        match old_id {
            // The replaced registration travels in the event, which the undo reads.
            Some(old_id) => self.batch.changed(old_id, event),
            None => self.batch.event(event),
        }
        Ok(RegistrationResponse::success(Code::CREATED, Some(id)))
    }

    fn update(
        &mut self,
        now: Timestamp,
        peer: SocketAddr,
        id: RegistrationId,
        request: &RequestView<'_>,
    ) -> Result<RegistrationResponse, Refusal> {
        let Some(current) = self.table.get(id) else {
            return Err(Refusal::UnknownRegistration);
        };
        self.check_confirmable(request)?;
        check_content_format(request)?;
        let update = UpdateParams::parse(request.message.uri_query()?)?;
        let links = if request.payload.is_empty() {
            None
        } else {
            Some(CompactObjectLinks::parse(
                request.payload,
                self.config.max_object_links,
            )?)
        };
        let endpoint = current.endpoint_arc().clone();
        self.check_identity(peer, &endpoint, RegistrationOperation::Update)?;
        let previous = current.clone();
        let Some(next) = self
            .table
            .update(id, |r| r.apply_update(&update, links, peer, now))
            .cloned()
        else {
            return Err(Refusal::Internal("an updated registration vanished"));
        };
        self.batch.updated += 1;
        self.batch.changed(
            id,
            RegistrationEvent::Updated {
                previous: Box::new(previous),
                current: next,
            },
        );
        Ok(RegistrationResponse::success(Code::CHANGED, None))
    }

    fn deregister(
        &mut self,
        peer: SocketAddr,
        id: RegistrationId,
    ) -> Result<RegistrationResponse, Refusal> {
        let Some(current) = self.table.get(id) else {
            return Err(Refusal::UnknownRegistration);
        };
        let endpoint = current.endpoint_arc().clone();
        self.check_identity(peer, &endpoint, RegistrationOperation::Deregister)?;
        if let Some(registration) = self.table.remove(id) {
            self.batch.deregistered += 1;
            self.batch
                .changed(id, RegistrationEvent::Deregistered { registration });
        }
        Ok(RegistrationResponse::success(Code::DELETED, None))
    }

    fn check_confirmable(&self, request: &RequestView<'_>) -> Result<(), Refusal> {
        if self.config.require_confirmable && !request.confirmable {
            return Err(Refusal::NotConfirmable);
        }
        Ok(())
    }

    fn check_identity(
        &self,
        peer: SocketAddr,
        endpoint: &str,
        operation: RegistrationOperation,
    ) -> Result<(), Refusal> {
        match self.identity.check(peer, endpoint, operation) {
            IdentityVerdict::Accept => Ok(()),
            IdentityVerdict::Reject => Err(Refusal::IdentityMismatch),
        }
    }

    /// A random id no registration uses.
    fn fresh_id(&mut self) -> RegistrationId {
        loop {
            let id = RegistrationId::from_random(rand::Rng::next_u64(&mut self.rng));
            if !self.table.contains(id) {
                return id;
            }
        }
    }
}

/// A payload must be link-format; a missing Content-Format is tolerated (link-format assumed),
/// and an empty payload's Content-Format is not looked at.
fn check_content_format(request: &RequestView<'_>) -> Result<(), Refusal> {
    if request.payload.is_empty() {
        return Ok(());
    }
    match request.message.content_format()? {
        Some(ContentFormat::LINK_FORMAT) | None => Ok(()),
        Some(other) => Err(Refusal::ContentFormat(other)),
    }
}
