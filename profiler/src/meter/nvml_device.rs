//! One NVIDIA GPU as the NVML meter sees it: a small trait ([`NvmlDevice`]) with the real
//! implementation over nvml-wrapper ([`RealNvmlDevice`]) and a fake driven by a clock
//! ([`FakeNvmlDevice`], for tests: no GPU is needed to test the meter's measuring paths).
//!
//! Also the identity of a device ([`DeviceIdentity`]: NVML index, UUID, PCI bus id, MIG), which
//! is what [`crate::meter::nvml::nvml_index_for_cuda`] maps CUDA device numbers onto.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;
use serde::{Deserialize, Serialize};

use crate::meter::nvml::describe_nvml_error;
use crate::meter::rapl::SharedClock;

/// An NVML call that failed: the device does not support it, or another error (described).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceError {
    /// `NVML_ERROR_NOT_SUPPORTED`: the board does not have this (e.g. no energy counter before
    /// Volta, no MIG before Ampere).
    NotSupported,
    /// Any other failure, as a sentence ([`describe_nvml_error`]).
    Failed(String),
}

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceError::NotSupported => f.write_str("not supported by this device"),
            DeviceError::Failed(s) => f.write_str(s),
        }
    }
}

impl From<NvmlError> for DeviceError {
    fn from(e: NvmlError) -> Self {
        match e {
            NvmlError::NotSupported => DeviceError::NotSupported,
            other => DeviceError::Failed(describe_nvml_error(&other)),
        }
    }
}

/// What the NVML meter needs from one GPU. Implemented over nvml-wrapper by
/// [`RealNvmlDevice`] and by [`FakeNvmlDevice`] in tests.
pub trait NvmlDevice: Send + Sync {
    /// Product name, e.g. `NVIDIA H200`.
    fn name(&self) -> Result<String, DeviceError>;
    /// `GPU-xxxxxxxx-xxxx-…` (what `CUDA_VISIBLE_DEVICES` may name).
    fn uuid(&self) -> Result<String, DeviceError>;
    /// PCI bus id as NVML writes it, `DDDDDDDD:BB:DD.F` (e.g. `00000000:3B:00.0`).
    fn pci_bus_id(&self) -> Result<String, DeviceError>;
    /// Energy since the driver was loaded, millijoules (Volta and newer).
    fn total_energy_mj(&self) -> Result<u64, DeviceError>;
    /// Board power, milliwatts.
    fn power_mw(&self) -> Result<u32, DeviceError>;
    /// Whether MIG mode is currently enabled (`NotSupported` on boards without MIG).
    fn mig_mode_enabled(&self) -> Result<bool, DeviceError>;
    /// Enforced power limit, milliwatts.
    fn power_limit_mw(&self) -> Result<u32, DeviceError>;
    /// Whether the MIG device `mig_uuid` (`MIG-…`, from `CUDA_VISIBLE_DEVICES`) lives on this GPU;
    /// None when that cannot be found out.
    fn owns_mig_device(&self, mig_uuid: &str) -> Option<bool> {
        let _ = mig_uuid;
        None
    }
}

/// A GPU through NVML, looked up by its NVML index on every call (a handle lookup is cheap, and
/// holding the `Nvml` in an `Arc` lets the power-polling thread share it).
pub struct RealNvmlDevice {
    nvml: Arc<Nvml>,
    index: u32,
}

impl RealNvmlDevice {
    pub fn new(nvml: Arc<Nvml>, index: u32) -> Self {
        RealNvmlDevice { nvml, index }
    }

    pub fn nvml_index(&self) -> u32 {
        self.index
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&nvml_wrapper::Device) -> Result<T, NvmlError>,
    ) -> Result<T, DeviceError> {
        let d = self.nvml.device_by_index(self.index)?;
        Ok(f(&d)?)
    }
}

impl NvmlDevice for RealNvmlDevice {
    fn name(&self) -> Result<String, DeviceError> {
        self.with(|d| d.name())
    }
    fn uuid(&self) -> Result<String, DeviceError> {
        self.with(|d| d.uuid())
    }
    fn pci_bus_id(&self) -> Result<String, DeviceError> {
        self.with(|d| d.pci_info().map(|p| p.bus_id))
    }
    fn total_energy_mj(&self) -> Result<u64, DeviceError> {
        self.with(|d| d.total_energy_consumption())
    }
    fn power_mw(&self) -> Result<u32, DeviceError> {
        self.with(|d| d.power_usage())
    }
    fn mig_mode_enabled(&self) -> Result<bool, DeviceError> {
        // NVML_DEVICE_MIG_ENABLE = 1
        self.with(|d| d.mig_mode().map(|m| m.current == 1))
    }
    fn power_limit_mw(&self) -> Result<u32, DeviceError> {
        self.with(|d| d.enforced_power_limit())
    }
    fn owns_mig_device(&self, mig_uuid: &str) -> Option<bool> {
        // nvmlDeviceGetHandleByUUID accepts MIG UUIDs and returns the MIG device's handle; its
        // PCI bus id is taken to be its parent's (best effort: None when NVML does not say)
        let mig = self.nvml.device_by_uuid(mig_uuid).ok()?;
        let theirs = mig.pci_info().ok()?.bus_id;
        let ours = self.pci_bus_id().ok()?;
        Some(theirs.eq_ignore_ascii_case(&ours))
    }
}

/// Who a GPU is, as far as mapping a CUDA device number onto it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdentity {
    /// Index in NVML's enumeration (`nvmlDeviceGetHandleByIndex`, nvidia-smi's numbering).
    pub nvml_index: u32,
    /// `GPU-…`.
    pub uuid: String,
    /// `DDDDDDDD:BB:DD.F`.
    pub pci_bus_id: String,
    /// MIG mode enabled on this GPU.
    #[serde(default)]
    pub mig_enabled: bool,
    /// UUIDs of MIG devices known to live on this GPU (`MIG-…`), for `CUDA_VISIBLE_DEVICES`
    /// entries that name one.
    #[serde(default)]
    pub mig_uuids: Vec<String>,
}

impl DeviceIdentity {
    pub fn new(nvml_index: u32, uuid: impl Into<String>, pci_bus_id: impl Into<String>) -> Self {
        DeviceIdentity {
            nvml_index,
            uuid: uuid.into(),
            pci_bus_id: pci_bus_id.into(),
            mig_enabled: false,
            mig_uuids: vec![],
        }
    }

    /// MIG mode on, with the UUIDs of its MIG devices (may be empty when unknown).
    pub fn with_mig(mut self, mig_uuids: &[&str]) -> Self {
        self.mig_enabled = true;
        self.mig_uuids = mig_uuids.iter().map(|s| s.to_string()).collect();
        self
    }
}

/// A function of time (seconds on the fake's clock).
type Of<T> = Arc<dyn Fn(f64) -> T + Send + Sync>;

/// A fake GPU for tests: its energy counter and power are functions of the time of a shared
/// clock (e.g. [`crate::clock::ManualClock`]), so a test knows exactly what a window should read.
/// Clones share the read counters.
#[doc(hidden)]
#[derive(Clone)]
pub struct FakeNvmlDevice {
    clock: Arc<dyn SharedClock>,
    name: String,
    uuid: String,
    pci_bus_id: String,
    energy_mj: Option<Of<u64>>,
    power_mw: Option<Of<u32>>,
    mig: Result<bool, DeviceError>,
    mig_devices: Vec<String>,
    power_limit_mw: Result<u32, DeviceError>,
    energy_reads: Arc<AtomicUsize>,
    power_reads: Arc<AtomicUsize>,
}

#[doc(hidden)]
impl FakeNvmlDevice {
    /// A board drawing a constant 100 W whose energy counter (mJ) updates every 100 ms; no MIG;
    /// power limit 300 W.
    pub fn new(clock: Arc<dyn SharedClock>) -> Self {
        FakeNvmlDevice {
            clock,
            name: "Fake GPU".into(),
            uuid: "GPU-00000000-0000-0000-0000-000000000000".into(),
            pci_bus_id: "00000000:01:00.0".into(),
            energy_mj: None,
            power_mw: Some(Arc::new(|_| 100_000)),
            mig: Err(DeviceError::NotSupported),
            mig_devices: vec![],
            power_limit_mw: Ok(300_000),
            energy_reads: Arc::new(AtomicUsize::new(0)),
            power_reads: Arc::new(AtomicUsize::new(0)),
        }
        .with_stepped_energy(100.0, 0.1)
    }

    pub fn with_identity(mut self, name: &str, uuid: &str, pci_bus_id: &str) -> Self {
        self.name = name.into();
        self.uuid = uuid.into();
        self.pci_bus_id = pci_bus_id.into();
        self
    }

    /// Energy counter (mJ) as a function of time (seconds).
    pub fn with_energy_fn(mut self, f: impl Fn(f64) -> u64 + Send + Sync + 'static) -> Self {
        self.energy_mj = Some(Arc::new(f));
        self
    }

    /// A counter of a board at constant `watts` that the driver updates every `period_s`:
    /// `E(t) = watts × period × ⌊t / period⌋`, mJ.
    pub fn with_stepped_energy(self, watts: f64, period_s: f64) -> Self {
        self.with_energy_fn(move |t| {
            let steps = (t / period_s + 1e-9).floor();
            (watts * period_s * steps * 1e3).round() as u64
        })
    }

    /// No energy counter (pre-Volta): `total_energy_mj` is `NotSupported`.
    pub fn without_energy_counter(mut self) -> Self {
        self.energy_mj = None;
        self
    }

    /// Power (mW) as a function of time (seconds).
    pub fn with_power_fn(mut self, f: impl Fn(f64) -> u32 + Send + Sync + 'static) -> Self {
        self.power_mw = Some(Arc::new(f));
        self
    }

    /// No power reading either.
    pub fn without_power(mut self) -> Self {
        self.power_mw = None;
        self
    }

    pub fn with_mig(mut self, enabled: bool) -> Self {
        self.mig = Ok(enabled);
        self
    }

    /// MIG mode on, with these MIG devices (`MIG-…`) on this GPU.
    pub fn with_mig_devices(mut self, uuids: &[&str]) -> Self {
        self.mig = Ok(true);
        self.mig_devices = uuids.iter().map(|s| s.to_string()).collect();
        self
    }

    /// How many times the energy counter was read (all clones together).
    pub fn energy_reads(&self) -> usize {
        self.energy_reads.load(Ordering::SeqCst)
    }

    /// How many times the power was read (all clones together).
    pub fn power_reads(&self) -> usize {
        self.power_reads.load(Ordering::SeqCst)
    }

    fn t(&self) -> f64 {
        self.clock.now().as_secs_f64()
    }
}

impl NvmlDevice for FakeNvmlDevice {
    fn name(&self) -> Result<String, DeviceError> {
        Ok(self.name.clone())
    }
    fn uuid(&self) -> Result<String, DeviceError> {
        Ok(self.uuid.clone())
    }
    fn pci_bus_id(&self) -> Result<String, DeviceError> {
        Ok(self.pci_bus_id.clone())
    }
    fn total_energy_mj(&self) -> Result<u64, DeviceError> {
        self.energy_reads.fetch_add(1, Ordering::SeqCst);
        match &self.energy_mj {
            Some(f) => Ok(f(self.t())),
            None => Err(DeviceError::NotSupported),
        }
    }
    fn power_mw(&self) -> Result<u32, DeviceError> {
        self.power_reads.fetch_add(1, Ordering::SeqCst);
        match &self.power_mw {
            Some(f) => Ok(f(self.t())),
            None => Err(DeviceError::NotSupported),
        }
    }
    fn mig_mode_enabled(&self) -> Result<bool, DeviceError> {
        self.mig.clone()
    }
    fn power_limit_mw(&self) -> Result<u32, DeviceError> {
        self.power_limit_mw.clone()
    }
    fn owns_mig_device(&self, mig_uuid: &str) -> Option<bool> {
        Some(
            self.mig_devices
                .iter()
                .any(|m| m.eq_ignore_ascii_case(mig_uuid)),
        )
    }
}
