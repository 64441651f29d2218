//! Two ready [`FirmwareSink`]s: [`FileSink`] streams the image into a file, [`MemorySink`]
//! keeps it in memory (tests, small images).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{FirmwareError, FirmwareSink};

/// A package check run by [`MemorySink::finish`].
pub type IntegrityCheck = fn(&[u8]) -> Result<(), String>;

/// Keeps the image in a `Vec` (up to an optional capacity), for tests and small images.
///
/// ```
/// use lwm2m_client::firmware::{FirmwareError, FirmwareSink, MemorySink};
/// let mut sink = MemorySink::with_capacity_limit(4);
/// sink.begin(None)?;
/// sink.write_chunk(0, b"abc")?;
/// assert!(matches!(sink.write_chunk(3, b"de"), Err(FirmwareError::NotEnoughFlash(_))));
/// sink.abort();
/// assert!(sink.data().is_empty());
/// # Ok::<(), FirmwareError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    data: Vec<u8>,
    limit: Option<usize>,
    check: Option<IntegrityCheck>,
    fail_apply: bool,
    finished: bool,
    applied: Vec<Vec<u8>>,
    writes: usize,
}

impl MemorySink {
    /// An unlimited sink.
    pub fn new() -> Self {
        MemorySink::default()
    }

    /// A sink that refuses packages larger than `limit` bytes (result 2, not enough flash).
    pub fn with_capacity_limit(limit: usize) -> Self {
        MemorySink {
            limit: Some(limit),
            ..MemorySink::default()
        }
    }

    /// Checks every finished package with `check` (an `Err` is result 5, integrity check
    /// failure).
    #[must_use]
    pub fn with_integrity_check(mut self, check: IntegrityCheck) -> Self {
        self.check = Some(check);
        self
    }

    /// Makes [`apply`](FirmwareSink::apply) fail (result 8), to test the failure path.
    #[must_use]
    pub fn failing_apply(mut self) -> Self {
        self.fail_apply = true;
        self
    }

    /// The bytes of the current (or last) package.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Whether the current package passed [`finish`](FirmwareSink::finish).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Every package installed by [`apply`](FirmwareSink::apply), oldest first.
    pub fn applied(&self) -> &[Vec<u8>] {
        &self.applied
    }

    /// How many `write_chunk` calls the current package took.
    pub fn writes(&self) -> usize {
        self.writes
    }
}

impl FirmwareSink for MemorySink {
    fn begin(&mut self, size: Option<u64>) -> Result<(), FirmwareError> {
        self.data.clear();
        self.finished = false;
        self.writes = 0;
        if let (Some(limit), Some(size)) = (self.limit, size) {
            if usize::try_from(size).map_or(true, |s| s > limit) {
                return Err(FirmwareError::NotEnoughFlash(alloc::format!(
                    "{size} bytes announced, room for {limit}"
                )));
            }
        }
        Ok(())
    }

    fn write_chunk(&mut self, offset: u64, data: &[u8]) -> Result<(), FirmwareError> {
        if usize::try_from(offset).ok() != Some(self.data.len()) {
            return Err(FirmwareError::ConnectionLost(alloc::format!(
                "chunk at {offset}, expected {}",
                self.data.len()
            )));
        }
        let total = self.data.len().saturating_add(data.len());
        if self.limit.is_some_and(|limit| total > limit) {
            return Err(FirmwareError::NotEnoughFlash(alloc::format!(
                "{total} bytes do not fit"
            )));
        }
        self.data.extend_from_slice(data);
        self.writes += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FirmwareError> {
        if let Some(check) = self.check {
            check(&self.data).map_err(FirmwareError::IntegrityCheckFailure)?;
        }
        self.finished = true;
        Ok(())
    }

    fn abort(&mut self) {
        self.data.clear();
        self.finished = false;
    }

    fn apply(&mut self) -> Result<(), FirmwareError> {
        if self.fail_apply || !self.finished {
            return Err(FirmwareError::UpdateFailed(
                "the test sink refuses to install".into(),
            ));
        }
        self.applied.push(self.data.clone());
        Ok(())
    }
}

/// What [`FileSink::apply`](FirmwareSink::apply) runs with the path of the finished image.
pub type ApplyHook = Box<dyn FnMut(&Path) -> Result<(), FirmwareError> + Send>;

/// Streams the image into `<path>.part`, and renames it to `path` once complete and synced:
/// a half-written image never sits under the final name.
///
/// [`apply`](FirmwareSink::apply) runs the hook given with [`on_apply`](Self::on_apply) (by
/// default it only checks that the image is there).
///
/// ```
/// use lwm2m_client::firmware::{FileSink, FirmwareSink};
/// let dir = std::env::temp_dir().join(format!("fw-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let mut sink = FileSink::new(dir.join("image.bin"));
/// sink.begin(Some(6))?;
/// sink.write_chunk(0, b"abc")?;
/// sink.write_chunk(3, b"def")?;
/// sink.finish()?;
/// assert_eq!(std::fs::read(dir.join("image.bin"))?, b"abcdef");
/// sink.apply()?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileSink {
    path: PathBuf,
    file: Option<File>,
    limit: Option<u64>,
    written: u64,
    hook: Option<ApplyHook>,
}

impl core::fmt::Debug for FileSink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FileSink")
            .field("path", &self.path)
            .field("written", &self.written)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl FileSink {
    /// A sink writing the image to `path` (through `<path>.part`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSink {
            path: path.into(),
            file: None,
            limit: None,
            written: 0,
            hook: None,
        }
    }

    /// Refuses images larger than `bytes` (result 2, not enough flash).
    #[must_use]
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.limit = Some(bytes);
        self
    }

    /// Runs `hook` with the image's path when Update is executed.
    #[must_use]
    pub fn on_apply(
        mut self,
        hook: impl FnMut(&Path) -> Result<(), FirmwareError> + Send + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Where the image is written while it arrives (a fleet of idle sinks keeps only `path`).
    fn part(&self) -> PathBuf {
        let mut part = self.path.clone().into_os_string();
        part.push(".part");
        PathBuf::from(part)
    }

    /// Where the finished image is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn too_large(&self, size: u64) -> Option<FirmwareError> {
        let limit = self.limit?;
        (size > limit).then(|| {
            FirmwareError::NotEnoughFlash(alloc::format!(
                "{size} bytes, {} allows {limit}",
                self.path.display()
            ))
        })
    }
}

impl FirmwareSink for FileSink {
    fn begin(&mut self, size: Option<u64>) -> Result<(), FirmwareError> {
        self.abort();
        if let Some(e) = size.and_then(|s| self.too_large(s)) {
            return Err(e);
        }
        let file = File::create(self.part()).map_err(|e| FirmwareError::from_io(&e))?;
        self.file = Some(file);
        self.written = 0;
        Ok(())
    }

    fn write_chunk(&mut self, offset: u64, data: &[u8]) -> Result<(), FirmwareError> {
        let end = offset.saturating_add(data.len() as u64);
        if let Some(e) = self.too_large(end) {
            return Err(e);
        }
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| FirmwareError::ConnectionLost("no download in progress".into()))?;
        if offset != self.written {
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| FirmwareError::from_io(&e))?;
        }
        file.write_all(data)
            .map_err(|e| FirmwareError::from_io(&e))?;
        self.written = end;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), FirmwareError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| FirmwareError::ConnectionLost("no download in progress".into()))?;
        file.sync_all().map_err(|e| FirmwareError::from_io(&e))?;
        drop(file);
        std::fs::rename(self.part(), &self.path).map_err(|e| FirmwareError::from_io(&e))
    }

    fn abort(&mut self) {
        if self.file.take().is_some() {
            // Nothing to do if it is already gone.
            let _ = std::fs::remove_file(self.part());
        }
        self.written = 0;
    }

    fn apply(&mut self) -> Result<(), FirmwareError> {
        if !self.path.exists() {
            return Err(FirmwareError::UpdateFailed(alloc::format!(
                "{} is missing",
                self.path.display()
            )));
        }
        match self.hook.as_mut() {
            Some(hook) => hook(&self.path),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lwm2m-sink-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn file_sink_keeps_half_images_out_of_the_final_name_and_aborts_cleanly() {
        let dir = temp_dir("abort");
        let image = dir.join("fw.bin");
        let mut sink = FileSink::new(&image);
        sink.begin(None).unwrap();
        sink.write_chunk(0, b"half").unwrap();
        assert!(!image.exists());
        assert!(dir.join("fw.bin.part").exists());
        sink.abort();
        assert!(!dir.join("fw.bin.part").exists());
        assert!(matches!(sink.apply(), Err(FirmwareError::UpdateFailed(_))));
        assert!(matches!(
            sink.write_chunk(4, b"more"),
            Err(FirmwareError::ConnectionLost(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn file_sink_refuses_what_exceeds_max_size_and_runs_the_apply_hook() {
        let dir = temp_dir("limit");
        let image = dir.join("fw.bin");
        let mut sink = FileSink::new(&image).max_size(8);
        assert!(matches!(
            sink.begin(Some(9)),
            Err(FirmwareError::NotEnoughFlash(_))
        ));
        sink.begin(Some(8)).unwrap();
        sink.write_chunk(0, b"12345").unwrap();
        assert!(matches!(
            sink.write_chunk(5, b"6789"),
            Err(FirmwareError::NotEnoughFlash(_))
        ));
        let (tx, rx) = std::sync::mpsc::channel();
        let mut sink = FileSink::new(&image).on_apply(move |path| {
            tx.send(std::fs::read(path).unwrap()).unwrap();
            Ok(())
        });
        sink.begin(None).unwrap();
        sink.write_chunk(0, b"new image").unwrap();
        sink.finish().unwrap();
        sink.apply().unwrap();
        assert_eq!(rx.recv().unwrap(), b"new image");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn memory_sink_checks_offsets_and_integrity() {
        let mut sink = MemorySink::new().with_integrity_check(|d| {
            if d.len() == 3 {
                Ok(())
            } else {
                Err("length".into())
            }
        });
        sink.begin(None).unwrap();
        assert!(sink.write_chunk(1, b"x").is_err());
        sink.write_chunk(0, b"ab").unwrap();
        assert!(matches!(
            sink.finish(),
            Err(FirmwareError::IntegrityCheckFailure(_))
        ));
        sink.write_chunk(2, b"c").unwrap();
        sink.finish().unwrap();
        sink.apply().unwrap();
        assert_eq!(sink.applied(), [b"abc".to_vec()]);
    }
}
