//! The agent's files in its state directory, as dhcpagent keeps them in /etc/dhcp: the lease
//! of each interface (`IF.dhc`, mode 0600, replaced atomically), the agent's DUID (`duid`,
//! the raw bytes, as dhcpagent's) and each interface's IAID (`IF.iaid`, four bytes in network
//! order; dhcpagent keeps all IAIDs in one undocumented file). DHCPv6 uses the same DUID (dhcpagent
//! keeps one for the host) and IAID; each interface's DHCPv6 binding is `IF.dh6` (the text of
//! [`dhcplab_client6::lease_file`], mode 0600, replaced atomically).

use dhcplab_client::Lease;
use dhcplab_client::lease_file::{self, LeaseFileError};
use dhcplab_client6::Binding;
use dhcplab_client6::lease_file::{self as binding_file, BindingFileError};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why a stored file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The lease file is damaged.
    #[error("{path}: {source}")]
    Lease {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        #[source]
        source: LeaseFileError,
    },
    /// The DHCPv6 binding file is damaged.
    #[error("{path}: {source}")]
    Binding {
        /// The file.
        path: PathBuf,
        /// What is wrong and where.
        #[source]
        source: BindingFileError,
    },
    /// The DUID or IAID file has the wrong size.
    #[error("{path}: {what}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The files under `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Where interface `name` keeps its lease.
    pub fn lease_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.dhc"))
    }

    /// The saved lease of interface `name`; `Ok(None)` when there is none.
    pub fn load_lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        load(self.lease_path(name), |bytes, path| {
            lease_file::decode(bytes).map_err(|source| StoreError::Lease { path, source })
        })
    }

    /// Replaces the lease file of interface `name`.
    pub fn save_lease(&self, name: &str, lease: &Lease) -> Result<(), StoreError> {
        self.replace(
            &self.lease_path(name),
            lease_file::encode(lease).as_bytes(),
            0o600,
        )
    }

    /// Removes the lease file of interface `name`.
    pub fn forget_lease(&self, name: &str) -> Result<(), StoreError> {
        remove(self.lease_path(name))
    }

    /// Where interface `name` keeps its DHCPv6 binding.
    pub fn binding_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.dh6"))
    }

    /// The saved DHCPv6 binding of interface `name`; `Ok(None)` when there is none.
    pub fn load_binding(&self, name: &str) -> Result<Option<Binding>, StoreError> {
        load(self.binding_path(name), |bytes, path| {
            binding_file::decode(bytes).map_err(|source| StoreError::Binding { path, source })
        })
    }

    /// Replaces the DHCPv6 binding file of interface `name`.
    pub fn save_binding(&self, name: &str, binding: &Binding) -> Result<(), StoreError> {
        self.replace(
            &self.binding_path(name),
            binding_file::encode(binding).as_bytes(),
            0o600,
        )
    }

    /// Removes the DHCPv6 binding file of interface `name`.
    pub fn forget_binding(&self, name: &str) -> Result<(), StoreError> {
        remove(self.binding_path(name))
    }

    /// Replaces the agent's DUID with `duid`.
    pub fn save_duid(&self, duid: &[u8]) -> Result<(), StoreError> {
        self.replace(&self.dir.join("duid"), duid, 0o644)
    }

    /// The agent's DUID; `make` gives a new one, which is stored, when there is none. A
    /// damaged file is reported through `warn` and replaced.
    pub fn duid(
        &self,
        make: impl FnOnce() -> Vec<u8>,
        warn: &mut dyn FnMut(&StoreError),
    ) -> Result<Vec<u8>, StoreError> {
        let path = self.dir.join("duid");
        match fs::read(&path) {
            Ok(d) if (3..=130).contains(&d.len()) => return Ok(d),
            Ok(d) => warn(&StoreError::Damaged {
                path: path.clone(),
                what: format!("{} bytes is not a DUID; a new one is made", d.len()),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path, source }),
        }
        let duid = make();
        self.replace(&path, &duid, 0o644)?;
        Ok(duid)
    }

    /// The IAID of interface `name`; `hint` (its index, as dhcpagent's) is stored when there
    /// is none. A damaged file is reported through `warn` and replaced.
    pub fn iaid(
        &self,
        name: &str,
        hint: u32,
        warn: &mut dyn FnMut(&StoreError),
    ) -> Result<u32, StoreError> {
        let path = self.dir.join(format!("{name}.iaid"));
        match fs::read(&path) {
            Ok(d) => match <[u8; 4]>::try_from(d.as_slice()) {
                Ok(b) => return Ok(u32::from_be_bytes(b)),
                Err(_) => warn(&StoreError::Damaged {
                    path: path.clone(),
                    what: format!("{} bytes is not an IAID; a new one is made", d.len()),
                }),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path, source }),
        }
        self.replace(&path, &hint.to_be_bytes(), 0o644)?;
        Ok(hint)
    }

    /// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over
    /// `path`, so a crash leaves the old file or the new one, never half of one.
    fn replace(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(io)?;
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(io)
    }
}

/// The file at `path` read by `decode` (given the bytes and the path, for its errors);
/// `Ok(None)` when there is no file.
fn load<T>(
    path: PathBuf,
    decode: impl FnOnce(&[u8], PathBuf) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    match fs::read(&path) {
        Ok(bytes) => decode(&bytes, path).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io { path, source }),
    }
}

/// Removes `path`; one that is not there is no error.
fn remove(path: PathBuf) -> Result<(), StoreError> {
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Io { path, source: e }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_client6::{IaBinding, IaKind, Lease6};

    #[test]
    fn a_dhcpv6_binding_is_kept_in_if_dh6_and_a_damaged_one_says_where() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path());
        assert!(store.load_binding("eth0").expect("none yet").is_none());
        let binding = Binding {
            server_id: vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2],
            server_unicast: None,
            reply: Some(vec![7, 0, 0, 1]),
            ias: vec![IaBinding {
                kind: IaKind::Na,
                iaid: 4,
                renew_at: None,
                rebind_at: None,
                leases: vec![Lease6 {
                    address: "2001:db8::100".parse().expect("ip"),
                    prefix_len: 128,
                    preferred_until: None,
                    valid_until: None,
                }],
            }],
        };
        store.save_binding("eth0", &binding).expect("save");
        let path = dir.path().join("eth0.dh6");
        let mode = std::fs::metadata(&path).expect("file").permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
        assert_eq!(store.load_binding("eth0").expect("load"), Some(binding));
        assert!(store.load_binding("eth1").expect("other").is_none());

        std::fs::write(&path, "dhcplab-binding6 1\nserver zz\n").expect("damage");
        let e = store.load_binding("eth0").expect_err("damaged");
        assert!(e.to_string().contains("eth0.dh6: line 2: server:"), "{e}");
        store.forget_binding("eth0").expect("forget");
        assert!(!path.exists());
        store
            .forget_binding("eth0")
            .expect("forgetting twice is fine");

        store
            .save_duid(&[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1])
            .expect("duid");
        let kept = store
            .duid(|| panic!("the saved DUID is used"), &mut |_| {})
            .expect("duid");
        assert_eq!(kept, vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1]);
    }
}
