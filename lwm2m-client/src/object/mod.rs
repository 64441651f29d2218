//! The object API a device developer implements: [`ObjectHandler`], one per LwM2M object, with a
//! method per operation. Every method but [`definition`](ObjectHandler::definition) and
//! [`instances`](ObjectHandler::instances) has a default that answers 4.05 Method Not Allowed, so
//! an object implements only what applies to it.
//!
//! The client checks everything the object definition decides before it calls a handler: that
//! the resource exists and allows the operation, the types of written values, the mandatory
//! resources of a Create, access rights. A handler only does the object's own job.
//!
//! Ready implementations: [`TypedStore`] keeps instances of any generated typed object (Security,
//! Server, Access Control, Connectivity Monitoring, Location, Connectivity Statistics, IPSO ...)
//! and [`DeviceObject`] is the Device object with its reboot, factory-reset and error-code
//! behaviour.

mod device;
pub(crate) mod firmware;
mod store;

use alloc::vec::Vec;
use core::any::Any;

use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_model::{ObjectDefinition, ObjectInstance, Path, Resource};

use crate::error::DmError;

pub use device::DeviceObject;
pub use firmware::FirmwareObject;
pub use store::TypedStore;

/// How a Write changes an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteMode {
    /// `PUT /o/i`: the instance is replaced. Writable resources absent from the payload are
    /// removed (or reset to their defaults).
    ReplaceInstance,
    /// `PUT /o/i/r`: each given resource is replaced whole (a multiple resource gets exactly the
    /// given resource instances).
    ReplaceResources,
    /// `POST /o/i` (partial update): given single resources are replaced; the given instances of
    /// a multiple resource are added or replaced and its other instances kept.
    Update,
}

/// One LwM2M object of the device: its definition, its instances, and the operations it
/// supports.
///
/// A minimal read-only sensor (object 3303) only reads:
///
/// ```
/// use lwm2m_client::{DmError, ObjectHandler};
/// use lwm2m_model::{ObjectDefinition, ObjectInstance, Resource};
/// use lwm2m_objects::{Temperature, TypedObject};
///
/// struct Thermometer { celsius: f64 }
///
/// impl ObjectHandler for Thermometer {
///     fn definition(&self) -> &ObjectDefinition { Temperature::DEFINITION }
///     fn instances(&self) -> Vec<u16> { vec![0] }
///     fn read(&self, _instance: u16) -> Result<ObjectInstance, DmError> {
///         Ok(ObjectInstance::with_resources(0, [Resource::single(5700, self.celsius)]))
///     }
/// }
///
/// let t = Thermometer { celsius: 21.5 };
/// assert_eq!(t.read_resource(0, 5700)?.as_single(), Some(&21.5.into()));
/// let mut t = t;
/// assert_eq!(t.delete(0).unwrap_err().code(), lwm2m_codec::coap::Code::METHOD_NOT_ALLOWED);
/// # Ok::<(), DmError>(())
/// ```
pub trait ObjectHandler: Any + Send {
    /// The object definition (id, version, resources with their operations and types).
    fn definition(&self) -> &ObjectDefinition;

    /// The ids of the existing instances, in increasing order.
    fn instances(&self) -> Vec<u16>;

    /// Every resource of `instance` that has a value. The client leaves out the resources a
    /// server may not read (per the definition).
    fn read(&self, instance: u16) -> Result<ObjectInstance, DmError> {
        Err(DmError::MethodNotAllowed(instance_path(
            self.definition().id,
            instance,
        )))
    }

    /// One resource of `instance`; the default picks it out of [`read`](Self::read) (4.04 when
    /// it has no value).
    fn read_resource(&self, instance: u16, resource: u16) -> Result<Resource, DmError> {
        let mut all = self.read(instance)?;
        all.remove(resource).ok_or_else(|| {
            DmError::NotFound(
                Path::resource(self.definition().id, instance, resource)
                    .unwrap_or(instance_path(self.definition().id, instance)),
            )
        })
    }

    /// The instantiated resources of `instance` (what Discover lists): by default those
    /// [`read`](Self::read) returns plus the mandatory executable resources.
    fn resources(&self, instance: u16) -> Vec<u16> {
        let mut ids: Vec<u16> = self
            .read(instance)
            .map(|i| i.resources().map(Resource::id).collect())
            .unwrap_or_default();
        for r in self.definition().resources.iter() {
            if r.is_executable() && r.mandatory && !ids.contains(&r.id) {
                ids.push(r.id);
            }
        }
        ids.sort_unstable();
        ids
    }

    /// Writes `resources` (already checked against the definition: writable, right types) into
    /// `instance`.
    fn write(
        &mut self,
        instance: u16,
        resources: Vec<Resource>,
        mode: WriteMode,
    ) -> Result<(), DmError> {
        let _ = (resources, mode);
        Err(DmError::MethodNotAllowed(instance_path(
            self.definition().id,
            instance,
        )))
    }

    /// Executes `resource` of `instance` with the (validated) arguments. The client answers
    /// 2.04 before the application acts on the resulting [`ClientEvent::Executed`].
    ///
    /// [`ClientEvent::Executed`]: crate::ClientEvent::Executed
    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        arguments: &ExecuteArgs<'_>,
    ) -> Result<(), DmError> {
        let _ = arguments;
        Err(DmError::MethodNotAllowed(
            Path::resource(self.definition().id, instance, resource)
                .unwrap_or(instance_path(self.definition().id, instance)),
        ))
    }

    /// Creates an instance (its id is free, its mandatory resources are present, values for
    /// read-only and unknown resources were dropped).
    fn create(&mut self, instance: ObjectInstance) -> Result<(), DmError> {
        let _ = instance;
        Err(DmError::MethodNotAllowed(object_path(self.definition().id)))
    }

    /// Deletes an instance.
    fn delete(&mut self, instance: u16) -> Result<(), DmError> {
        Err(DmError::MethodNotAllowed(instance_path(
            self.definition().id,
            instance,
        )))
    }
}

/// `/o/i` (or `/o` when `instance` is not a valid id).
pub(crate) fn instance_path(object: u16, instance: u16) -> Path {
    Path::object_instance(object, instance).unwrap_or_else(|_| object_path(object))
}

/// `/o` (or the root for the reserved id 65535).
pub(crate) fn object_path(object: u16) -> Path {
    Path::object(object).unwrap_or(Path::ROOT)
}
