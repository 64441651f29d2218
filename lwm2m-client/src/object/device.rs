//! [`DeviceObject`]: the Device object (3) with its executable resources.

use alloc::vec::Vec;

use lwm2m_codec::execute::ExecuteArgs;
use lwm2m_model::{ObjectDefinition, ObjectInstance, Path, Resource};
use lwm2m_objects::{Device, TypedObject};

use super::store::merge;
use super::{instance_path, ObjectHandler, WriteMode};
use crate::error::DmError;

/// Reboot (`/3/0/4`).
pub const REBOOT: u16 = 4;
/// Factory Reset (`/3/0/5`).
pub const FACTORY_RESET: u16 = 5;
/// Reset Error Code (`/3/0/12`).
pub const RESET_ERROR_CODE: u16 = 12;

/// The single Device instance `/3/0`.
///
/// - Reboot (4) and Factory Reset (5) succeed and leave the action to the application, which
///   gets a [`ClientEvent::Executed`](crate::ClientEvent::Executed) after the 2.04 went out.
/// - Reset Error Code (12) brings Error Code (11) back to the single instance 0 = "no error".
/// - [`set_error`](Self::set_error) / [`clear_error`](Self::clear_error) keep Error Code in the
///   shape the TS asks for (one instance per active error, `0` alone when there is none).
/// - The instance can never be deleted and no other can be created (4.05).
///
/// ```
/// use lwm2m_client::DeviceObject;
/// use lwm2m_objects::Device;
///
/// let mut device = DeviceObject::new(Device { supported_binding_and_modes: "U".into(), ..Device::default() });
/// device.set_error(1); // low battery
/// device.set_error(4); // low signal
/// assert_eq!(device.device().error_code.values().copied().collect::<Vec<_>>(), [1, 4]);
/// device.clear_error(1);
/// device.clear_error(4);
/// assert_eq!(device.device().error_code.values().copied().collect::<Vec<_>>(), [0]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceObject {
    device: Device,
    executables: Vec<u16>,
}

impl DeviceObject {
    /// The Device instance with these values; Reboot, Factory Reset and Reset Error Code are
    /// supported. An empty Error Code becomes the single "no error" instance.
    pub fn new(mut device: Device) -> Self {
        if device.error_code.is_empty() {
            device.error_code = [(0, 0)].into();
        }
        DeviceObject {
            device,
            executables: alloc::vec![REBOOT, FACTORY_RESET, RESET_ERROR_CODE],
        }
    }

    /// Supports only these executable resources (Reboot is mandatory and always kept); the
    /// others answer 4.04, and Discover does not list them.
    #[must_use]
    pub fn with_executables(mut self, executables: &[u16]) -> Self {
        let mut list: Vec<u16> = executables
            .iter()
            .copied()
            .filter(|id| [REBOOT, FACTORY_RESET, RESET_ERROR_CODE].contains(id))
            .collect();
        if !list.contains(&REBOOT) {
            list.push(REBOOT);
        }
        list.sort_unstable();
        list.dedup();
        self.executables = list;
        self
    }

    /// The values.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The values, to change them (battery level, memory, time ...). Tell the client with
    /// [`Client::changed`](crate::Client::changed), or use
    /// [`Client::update_object`](crate::Client::update_object).
    pub fn device_mut(&mut self) -> &mut Device {
        &mut self.device
    }

    /// Adds an active error code (1-8, digest §15.1), replacing "no error".
    pub fn set_error(&mut self, code: i64) {
        let codes = &mut self.device.error_code;
        if codes.values().any(|&c| c == code) {
            return;
        }
        codes.retain(|_, c| *c != 0);
        let next = codes.keys().next_back().map_or(0, |k| k.saturating_add(1));
        codes.insert(next, code);
    }

    /// Removes an error code; with none left, Error Code is the single "no error" instance.
    pub fn clear_error(&mut self, code: i64) {
        let codes = &mut self.device.error_code;
        codes.retain(|_, c| *c != code);
        if codes.is_empty() {
            codes.insert(0, 0);
        }
    }

    /// Error Code back to the single "no error" instance (what Reset Error Code does).
    pub fn reset_errors(&mut self) {
        self.device.error_code = [(0, 0)].into();
    }
}

fn path(resource: u16) -> Path {
    Path::resource(3, 0, resource).unwrap_or(Path::ROOT)
}

impl ObjectHandler for DeviceObject {
    fn definition(&self) -> &ObjectDefinition {
        Device::DEFINITION
    }

    fn instances(&self) -> Vec<u16> {
        alloc::vec![0]
    }

    fn read(&self, instance: u16) -> Result<ObjectInstance, DmError> {
        if instance != 0 {
            return Err(DmError::NotFound(instance_path(3, instance)));
        }
        Ok(self.device.to_instance(0))
    }

    fn resources(&self, instance: u16) -> Vec<u16> {
        let mut ids: Vec<u16> = self
            .read(instance)
            .map(|i| i.resources().map(Resource::id).collect())
            .unwrap_or_default();
        ids.extend(&self.executables);
        ids.sort_unstable();
        ids
    }

    fn write(
        &mut self,
        instance: u16,
        resources: Vec<Resource>,
        mode: WriteMode,
    ) -> Result<(), DmError> {
        let mut current = self.read(instance)?;
        merge(Device::DEFINITION, &mut current, resources, mode);
        let bad = |e| DmError::bad_request(instance_path(3, 0), alloc::format!("{e}"));
        let device = Device::from_instance(&current).map_err(bad)?;
        device.validate().map_err(bad)?;
        self.device = device;
        Ok(())
    }

    fn execute(
        &mut self,
        instance: u16,
        resource: u16,
        _arguments: &ExecuteArgs<'_>,
    ) -> Result<(), DmError> {
        if instance != 0 || !self.executables.contains(&resource) {
            return Err(DmError::NotFound(path(resource)));
        }
        if resource == RESET_ERROR_CODE {
            self.reset_errors();
        }
        Ok(())
    }
}
