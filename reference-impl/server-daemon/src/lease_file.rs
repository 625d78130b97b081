//! The lease file: loaded at start, then appended to by a writer thread that syncs once per
//! batch (group commit) and reports how far the file is durable, so replies wait for their
//! rows and never for each other's syncs. Compaction (Kea's lease file cleanup) writes the
//! leases in force to a new file and renames it over the old one. Both families' files
//! (Kea's DHCPv4 and DHCPv6 memfile CSV) go through the same writer: [`LeaseRecord`] says what
//! differs.

use dhcplab_memfile::{HEADER4, HEADER6, Lease4, Lease6, RowError, load4, load6};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use tokio::sync::watch;

/// Why the lease file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LeaseFileError {
    /// Reading, creating or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not a Kea lease file of the server's family; it is left untouched.
    #[error("{path}: {source}; not starting, so nothing in it is overwritten")]
    NotALeaseFile {
        /// The file.
        path: PathBuf,
        /// The fault in its header.
        #[source]
        source: RowError,
    },
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> LeaseFileError + '_ {
    move |source| LeaseFileError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A lease as one row of Kea's memfile CSV: what the loader and the writer need of a family.
pub trait LeaseRecord: Sized {
    /// The file's header line (without its line end).
    const HEADER: &'static str;
    /// The lease as one row (without its line end).
    fn to_row(&self) -> String;
    /// The leases in force in a whole file's text, and the rows skipped; an error when the
    /// header is not this family's.
    fn load_text(text: &str) -> Result<Loaded<Self>, RowError>;
}

impl LeaseRecord for Lease4 {
    const HEADER: &'static str = HEADER4;
    fn to_row(&self) -> String {
        Lease4::to_row(self)
    }
    fn load_text(text: &str) -> Result<Loaded<Self>, RowError> {
        load4(text).map(|l| Loaded {
            leases: l.leases.into_values().collect(),
            bad_rows: l.errors,
        })
    }
}

impl LeaseRecord for Lease6 {
    const HEADER: &'static str = HEADER6;
    fn to_row(&self) -> String {
        Lease6::to_row(self)
    }
    /// Rows whose hardware address could not be read keep their lease (Kea 2.2's
    /// `DHCPSRV_MEMFILE_READ_HWADDR_FAIL`); they are logged here as warnings.
    fn load_text(text: &str) -> Result<Loaded<Self>, RowError> {
        load6(text).map(|l| {
            for w in &l.warnings {
                tracing::warn!("lease file: {w}; lease kept without its hardware address");
            }
            Loaded {
                leases: l.leases.into_values().collect(),
                bad_rows: l.errors,
            }
        })
    }
}

/// What loading found.
#[derive(Debug)]
pub struct Loaded<L> {
    /// The leases in force.
    pub leases: Vec<L>,
    /// Rows that could not be read, with their line numbers; they were skipped.
    pub bad_rows: Vec<RowError>,
}

/// Loads the lease file at `path`, creating it (with Kea's header) when missing or empty.
pub fn load<L: LeaseRecord>(path: &Path) -> Result<Loaded<L>, LeaseFileError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io_error(path)(e)),
    };
    if bytes.is_empty() {
        let mut f = File::create(path).map_err(io_error(path))?;
        writeln!(f, "{}", L::HEADER).map_err(io_error(path))?;
        f.sync_all().map_err(io_error(path))?;
        return Ok(Loaded {
            leases: Vec::new(),
            bad_rows: Vec::new(),
        });
    }
    // Kea 2.2 writes some bytes of host names raw, not always valid UTF-8.
    let text = String::from_utf8_lossy(&bytes);
    let loaded = L::load_text(&text).map_err(|source| LeaseFileError::NotALeaseFile {
        path: path.to_path_buf(),
        source,
    })?;
    // A last line cut short (a crash in the middle of a write) is reported and skipped above;
    // it gets its line end now, so the next row appended starts a line of its own instead of
    // being glued to it and lost with it at the next load.
    if !bytes.ends_with(b"\n") {
        let mut f = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_error(path))?;
        f.write_all(b"\n").map_err(io_error(path))?;
        f.sync_all().map_err(io_error(path))?;
    }
    Ok(loaded)
}

/// How far the file is known to be on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durable {
    /// Every batch up to this sequence number is synced.
    UpTo(u64),
    /// A write or sync failed: nothing later can be promised.
    Failed(String),
}

enum Job {
    Rows { seq: u64, text: String },
    Compact { seq: u64, text: String },
}

/// The writer thread and the way to it.
#[derive(Debug)]
pub struct LeaseWriter {
    jobs: Option<mpsc::Sender<Job>>,
    durable: watch::Receiver<Durable>,
    thread: Option<JoinHandle<()>>,
    next_seq: u64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Rows { seq, .. } => write!(f, "Rows({seq})"),
            Job::Compact { seq, .. } => write!(f, "Compact({seq})"),
        }
    }
}

impl LeaseWriter {
    /// Starts the writer appending to `path` (which [`load`] made sure exists).
    pub fn start(path: &Path) -> Result<Self, LeaseFileError> {
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io_error(path))?;
        let (jobs, rx) = mpsc::channel();
        let (tx, durable) = watch::channel(Durable::UpTo(0));
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("lease-writer".into())
            .spawn(move || writer(path, file, rx, tx))
            .map_err(|e| LeaseFileError::Io {
                path: PathBuf::from("lease writer thread"),
                source: e,
            })?;
        Ok(Self {
            jobs: Some(jobs),
            durable,
            thread: Some(thread),
            next_seq: 1,
        })
    }

    /// Queues rows (each ending in a newline); returns the sequence number to wait for.
    pub fn append(&mut self, text: String) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.send(Job::Rows { seq, text });
        seq
    }

    /// Queues a rewrite of the whole file with `leases`; returns the sequence number.
    pub fn compact<L: LeaseRecord>(&mut self, leases: &[L]) -> u64 {
        let mut text = String::with_capacity(leases.len() * 80 + L::HEADER.len() + 1);
        text.push_str(L::HEADER);
        text.push('\n');
        for l in leases {
            text.push_str(&l.to_row());
            text.push('\n');
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.send(Job::Compact { seq, text });
        seq
    }

    fn send(&mut self, job: Job) {
        if let Some(jobs) = &self.jobs {
            // A send fails only when the thread ended after a failure, which `durable` reports.
            let _ = jobs.send(job);
        }
    }

    /// The highest sequence number queued so far.
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// A receiver of durability reports.
    pub fn durable(&self) -> watch::Receiver<Durable> {
        self.durable.clone()
    }

    /// Waits until every queued job is on disk and stops the thread.
    pub fn finish(mut self) -> Durable {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.durable.borrow().clone()
    }
}

impl Drop for LeaseWriter {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer(
    path: PathBuf,
    mut file: File,
    jobs: mpsc::Receiver<Job>,
    durable: watch::Sender<Durable>,
) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter());
        let mut done = 0;
        let result = (|| -> io::Result<()> {
            for job in batch {
                match job {
                    Job::Rows { seq, text } => {
                        file.write_all(text.as_bytes())?;
                        done = seq;
                    }
                    Job::Compact { seq, text } => {
                        file.sync_data()?;
                        file = rewrite(&path, &text)?;
                        done = seq;
                    }
                }
            }
            file.sync_data()
        })();
        match result {
            Ok(()) => {
                durable.send_replace(Durable::UpTo(done));
            }
            Err(e) => {
                tracing::error!(
                    "lease file {}: {e}; no reply that needs a lease will be sent",
                    path.display()
                );
                durable.send_replace(Durable::Failed(format!("{}: {e}", path.display())));
                return;
            }
        }
    }
}

/// Writes `text` to `path` through a temporary file and a rename, so a crash leaves either the
/// old file or the new one, and syncs the directory so the rename itself is durable. The lease
/// file's compaction and the DHCPv6 server DUID file are written this way.
pub fn replace_file(path: &Path, text: &str) -> io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".new");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// [`replace_file`], then the new file open for appending.
fn rewrite(path: &Path, text: &str) -> io::Result<File> {
    replace_file(path, text)?;
    OpenOptions::new().append(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn lease(n: u8, expire: u64) -> Lease4 {
        Lease4 {
            address: Ipv4Addr::new(192, 0, 2, n),
            hwaddr: vec![2, 0, 0, 0, 0, n],
            client_id: Vec::new(),
            valid_lifetime: 60,
            expire,
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: 0,
            user_context: None,
        }
    }

    #[test]
    fn rows_then_compaction_then_rows_load_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leases4.csv");
        assert!(load::<Lease4>(&path).expect("creates").leases.is_empty());
        let mut w = LeaseWriter::start(&path).expect("writer");
        for n in 1..=3 {
            w.append(format!("{}\n", lease(n, 100).to_row()));
        }
        let mut deleted = lease(2, 40);
        deleted.valid_lifetime = 0;
        w.append(format!("{}\n", deleted.to_row()));
        let seq = w.compact(&[lease(1, 100), lease(3, 100)]);
        w.append(format!("{}\n", lease(4, 100).to_row()));
        assert!(seq > 0);
        assert_eq!(w.finish(), Durable::UpTo(6));
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text.lines().count(),
            4,
            "header, two compacted rows, one appended:\n{text}"
        );
        let back = load::<Lease4>(&path).expect("load");
        let mut addrs: Vec<u8> = back.leases.iter().map(|l| l.address.octets()[3]).collect();
        addrs.sort_unstable();
        assert_eq!(addrs, vec![1, 3, 4]);
    }

    fn lease6(n: u16, kind: dhcplab_memfile::LeaseType) -> Lease6 {
        Lease6 {
            address: std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n),
            duid: vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
            valid_lifetime: 4000,
            expire: 1_800_000_000,
            subnet_id: 1,
            preferred_lifetime: 3000,
            lease_type: kind,
            iaid: u32::from(n),
            prefix_len: if kind == dhcplab_memfile::LeaseType::Pd {
                64
            } else {
                128
            },
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            hwaddr: None,
            state: 0,
            user_context: None,
        }
    }

    #[test]
    fn dhcpv6_rows_are_written_under_keas_v6_header_and_compacted() {
        use dhcplab_memfile::LeaseType;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kea-leases6.csv");
        assert!(load::<Lease6>(&path).expect("creates").leases.is_empty());
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!("{HEADER6}\n"),
            "a new file is Kea's v6 header alone"
        );
        let mut w = LeaseWriter::start(&path).expect("writer");
        w.append(format!("{}\n", lease6(1, LeaseType::Na).to_row()));
        w.append(format!("{}\n", lease6(2, LeaseType::Pd).to_row()));
        let mut deleted = lease6(1, LeaseType::Na);
        deleted.valid_lifetime = 0;
        w.append(format!("{}\n", deleted.to_row()));
        assert_eq!(w.finish(), Durable::UpTo(3));
        let back = load::<Lease6>(&path).expect("load");
        assert_eq!(back.leases, vec![lease6(2, LeaseType::Pd)]);
        let mut w = LeaseWriter::start(&path).expect("writer");
        w.compact(&back.leases);
        w.finish();
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            format!("{HEADER6}\n{}\n", lease6(2, LeaseType::Pd).to_row())
        );
    }

    #[test]
    fn a_dhcpv4_lease_file_is_not_taken_as_a_dhcpv6_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leases.csv");
        let v4 = format!("{HEADER4}\n{}\n", lease(1, 9).to_row());
        std::fs::write(&path, &v4).expect("write");
        assert!(matches!(
            load::<Lease6>(&path),
            Err(LeaseFileError::NotALeaseFile { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), v4);
    }

    #[test]
    fn replace_file_leaves_only_the_new_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kea-dhcp6-serverid");
        replace_file(&path, "00:01\n").expect("first");
        replace_file(&path, "00:03:00:01:02:00:00:00:00:01\n").expect("second");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "00:03:00:01:02:00:00:00:00:01\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
    }

    #[test]
    fn a_foreign_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, "my notes\n").expect("write");
        assert!(matches!(
            load::<Lease4>(&path),
            Err(LeaseFileError::NotALeaseFile { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "my notes\n");
    }

    #[test]
    fn bad_rows_are_reported_and_the_rest_loads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leases4.csv");
        let text = format!(
            "{HEADER4}\n{}\n192.0.2.x,broken\n{}\n",
            lease(1, 9).to_row(),
            lease(2, 9).to_row()
        );
        std::fs::write(&path, text).expect("write");
        let loaded = load::<Lease4>(&path).expect("load");
        assert_eq!(loaded.leases.len(), 2);
        assert_eq!(loaded.bad_rows.len(), 1);
        assert_eq!(loaded.bad_rows[0].line, 3);
    }
}
