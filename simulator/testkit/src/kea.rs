//! A kea-dhcp4 2.2 process for interop tests: its own directory for every file, no DHCP
//! interfaces (so it serves no network), the lease commands hook, and its control socket.
//! The process is killed when the handle is dropped, also when a test fails.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running kea-dhcp4.
pub struct KeaDhcp4 {
    child: Child,
    socket: PathBuf,
}

/// Kea's lease commands hook, where this machine's Kea keeps it.
fn lease_cmds_hook() -> Option<PathBuf> {
    dhcplab_adapters::servers::kea_hook("libdhcp_lease_cmds.so")
}

/// True when kea-dhcp4 and its lease commands hook are installed. Under CI (`CI` set) their
/// absence fails the calling test, since `ci/test` installs them; elsewhere it is reported.
///
/// # Panics
/// Under CI when Kea is missing.
pub fn kea_available() -> bool {
    let found = Command::new("kea-dhcp4")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && lease_cmds_hook().is_some();
    assert!(
        found || std::env::var_os("CI").is_none(),
        "kea-dhcp4 2.2 with libdhcp_lease_cmds.so is missing; ci/test installs kea-dhcp4-server"
    );
    if !found {
        eprintln!("SKIPPED: kea-dhcp4 or its lease commands hook is not installed");
    }
    found
}

impl KeaDhcp4 {
    /// Starts kea-dhcp4 in `dir` with the lease file `leases` and one subnet, 192.0.2.0/24 with
    /// id 1, and waits (at most 10 s) for its control socket.
    ///
    /// # Panics
    /// When Kea does not start; the message holds Kea's log.
    pub fn start(dir: &Path, leases: &Path) -> Self {
        let socket = dir.join("kea4.sock");
        let log = dir.join("kea4.log");
        let hook = lease_cmds_hook().expect("lease commands hook");
        let config = serde_json::json!({ "Dhcp4": {
            "interfaces-config": { "interfaces": [] },
            "control-socket": { "socket-type": "unix", "socket-name": socket },
            "lease-database": { "type": "memfile", "persist": true, "name": leases, "lfc-interval": 0 },
            "hooks-libraries": [ { "library": hook } ],
            "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ] } ],
            "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": log } ] } ]
        } });
        let config_path = dir.join("kea4.json");
        std::fs::write(&config_path, config.to_string()).expect("write Kea configuration");
        let child = Command::new("kea-dhcp4")
            .arg("-c")
            .arg(&config_path)
            .env("KEA_PIDFILE_DIR", dir)
            .env("KEA_LOCKFILE_DIR", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn kea-dhcp4");
        let mut kea = Self { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        // The socket file appears when Kea binds it, a moment before it listens: wait until a
        // connection is taken.
        while UnixStream::connect(&kea.socket).is_err() {
            if Instant::now() > deadline || kea.child.try_wait().ok().flatten().is_some() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("kea-dhcp4 did not open its control socket; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kea
    }

    /// Sends one control command and returns Kea's answer.
    ///
    /// # Panics
    /// When the socket fails or the answer is not JSON.
    pub fn command(&self, command: &serde_json::Value) -> serde_json::Value {
        let mut stream =
            UnixStream::connect(&self.socket).expect("connect to Kea's control socket");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(command.to_string().as_bytes())
            .expect("send command");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read answer");
        serde_json::from_str(&answer).expect("Kea answers JSON")
    }
}

impl Drop for KeaDhcp4 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
