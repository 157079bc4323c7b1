//! Test helpers: building layer tars entry by entry, including hostile raw paths the `tar` crate's
//! own path setters refuse.

use tar::{EntryType, Header};

/// Builds a tar archive in memory.
pub(crate) struct TarBuilder {
    b: tar::Builder<Vec<u8>>,
}

impl TarBuilder {
    pub(crate) fn new() -> Self {
        TarBuilder {
            b: tar::Builder::new(Vec::new()),
        }
    }

    /// Appends an entry with raw (unchecked) path and link name bytes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn raw(
        &mut self,
        kind: EntryType,
        path: &str,
        link: &str,
        mode: u32,
        owner: (u64, u64),
        dev: (u32, u32),
        data: &[u8],
    ) -> &mut Self {
        let mut h = Header::new_gnu();
        {
            let old = h.as_old_mut();
            old.name[..path.len()].copy_from_slice(path.as_bytes());
            old.linkname[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(owner.0);
        h.set_gid(owner.1);
        h.set_mtime(1_600_000_000);
        h.set_size(data.len() as u64);
        if matches!(kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(dev.0).unwrap();
            h.set_device_minor(dev.1).unwrap();
        }
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }

    pub(crate) fn file(&mut self, path: &str, data: &[u8]) -> &mut Self {
        self.raw(EntryType::Regular, path, "", 0o644, (0, 0), (0, 0), data)
    }

    pub(crate) fn file_mode(&mut self, path: &str, mode: u32, owner: (u64, u64), data: &[u8]) -> &mut Self {
        self.raw(EntryType::Regular, path, "", mode, owner, (0, 0), data)
    }

    pub(crate) fn dir(&mut self, path: &str) -> &mut Self {
        self.raw(EntryType::Directory, path, "", 0o755, (0, 0), (0, 0), b"")
    }

    pub(crate) fn symlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.raw(EntryType::Symlink, path, target, 0o777, (0, 0), (0, 0), b"")
    }

    pub(crate) fn hardlink(&mut self, path: &str, target: &str) -> &mut Self {
        self.raw(EntryType::Link, path, target, 0o644, (0, 0), (0, 0), b"")
    }

    pub(crate) fn char_dev(&mut self, path: &str, major: u32, minor: u32) -> &mut Self {
        self.raw(EntryType::Char, path, "", 0o666, (0, 0), (major, minor), b"")
    }

    pub(crate) fn fifo(&mut self, path: &str) -> &mut Self {
        self.raw(EntryType::Fifo, path, "", 0o600, (0, 0), (0, 0), b"")
    }

    /// PAX records applying to the next entry.
    pub(crate) fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        self.b.append_pax_extensions(records.iter().copied()).unwrap();
        self
    }

    pub(crate) fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}
