//! Two hosts joined by a veth pair, each in a network namespace the test creates, for tests
//! that run real DHCP stacks: nothing touches the default namespace's interfaces. Every
//! namespace, process and file carries the test's prefix and is removed when its handle is
//! dropped, on success and on panic alike; `ip netns list | grep dltest-` shows leftovers of a
//! killed run.
//!
//! Addresses: the server side has 192.0.2.1/24 (RFC 5737 TEST-NET-1).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when the test may create namespaces (it runs as root). Under CI (`CI` set) a missing
/// privilege fails the calling test, since CI runs as root; elsewhere the test is reported as
/// skipped.
///
/// # Panics
/// Under CI when not root.
pub fn can_create_namespaces() -> bool {
    let root = is_root();
    assert!(
        root || std::env::var_os("CI").is_none(),
        "namespace tests need root; CI runs as root"
    );
    if !root {
        eprintln!("SKIPPED: namespace tests need root");
    }
    root
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// True when `program` is on the PATH. Under CI its absence fails the calling test, since
/// `ci/test` installs every stack the tests use.
///
/// # Panics
/// Under CI when the program is missing.
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{program} is missing; ci/test installs it"
    );
    if !found {
        eprintln!("SKIPPED: {program} is not installed");
    }
    found
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The user and group id of nobody, whom [`Netns::command_as_nobody`] runs as.
pub const NOBODY: u32 = 65534;

/// A network namespace, deleted (with every process still in it) on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates `name`; loopback up, IPv6 duplicate address detection off (so link-local
    /// addresses are usable at once).
    ///
    /// # Panics
    /// When `ip netns add` fails.
    pub fn new(name: &str) -> Self {
        ip(&["netns", "add", name]).unwrap_or_else(|e| panic!("{e}"));
        let ns = Self {
            name: name.to_string(),
        };
        ns.ip(&["link", "set", "lo", "up"]);
        let _ = Command::new("ip")
            .args(["netns", "exec", name, "sysctl", "-qw"])
            .args([
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ])
            .status();
        ns
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`.
    ///
    /// # Panics
    /// When it fails.
    pub fn ip(&self, args: &[&str]) {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all).unwrap_or_else(|e| panic!("{e}"));
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// A command that runs `binary` inside the namespace as the user nobody, holding only
    /// the capabilities a systemd `unit` gives (its `AmbientCapabilities=`) and no way to gain
    /// others: what the unit promises the daemon needs. `dir` becomes nobody's (mode 0755),
    /// and `binary` runs from a copy in it, so that a build under /root does not stand in the
    /// way; every folder above `dir` must be open to all (the caller's part).
    ///
    /// # Panics
    /// When `dir` cannot be handed over or the unit names no capabilities.
    pub fn command_as_nobody(&self, unit: &str, dir: &Path, binary: &Path) -> Command {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).expect("chown");
        let copy = dir.join(binary.file_name().unwrap_or_default());
        std::fs::copy(binary, &copy).expect("copy the binary");
        let caps = unit
            .lines()
            .find_map(|l| l.strip_prefix("AmbientCapabilities="))
            .expect("the unit names its capabilities")
            .split_whitespace()
            .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
            .collect::<Vec<_>>()
            .join(",");
        let mut c = self.command("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--no-new-privs",
        ])
        .arg(format!("--inh-caps=-all,{caps}"))
        .arg(format!("--ambient-caps=-all,{caps}"))
        .arg(format!("--bounding-set=-all,{caps}"))
        .arg(copy);
        c
    }

    /// The IPv4 addresses on `device`.
    pub fn addresses(&self, device: &str) -> Vec<String> {
        let out = Command::new("ip")
            .args(["-n", &self.name, "-4", "-o", "addr", "show", "dev", device])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                words.find(|w| *w == "inet")?;
                words.next().map(str::to_string)
            })
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let pids = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// A process, stopped with SIGTERM (then SIGKILL after 3 s) on drop.
#[derive(Debug)]
pub struct Process {
    child: Child,
    what: String,
}

impl Process {
    /// Starts `command` with its output to `log`.
    ///
    /// # Panics
    /// When it cannot start.
    pub fn start(mut command: Command, what: &str, log: &Path) -> Self {
        let out = std::fs::File::create(log).expect("process log");
        let err = out.try_clone().expect("process log");
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        Self {
            child,
            what: what.to_string(),
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (a name as `kill` takes it: `TERM`, `HUP`, `ALRM`).
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
    }

    /// Waits at most `limit` for the process to end; its exit code when it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<Option<i32>> {
        let end = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code());
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// True while the process runs.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What the process is, for messages.
    pub fn what(&self) -> &str {
        &self.what
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.running() {
            self.signal("TERM");
            if self.wait_exit(Duration::from_secs(3)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Polls `check` every 20 ms until it is true or `limit` passes; whether it became true.
pub fn wait_for(limit: Duration, check: impl FnMut() -> bool) -> bool {
    dhcplab_adapters::wait_until(limit, Duration::from_millis(20), check)
}

/// A server host and a client host joined by a veth pair: `v-srv` (192.0.2.1/24) in the
/// server namespace, `v-cli` (no address) in the client namespace, both up. Also a scratch
/// directory for configurations, leases and logs.
#[derive(Debug)]
pub struct Pair {
    /// The server's namespace.
    pub server: Netns,
    /// The client's namespace.
    pub client: Netns,
    /// Files of the test.
    pub dir: PathBuf,
    _dir: tempfile::TempDir,
}

/// The server's address on `v-srv`.
pub const SERVER_ADDRESS: &str = "192.0.2.1";

static PAIRS: AtomicU32 = AtomicU32::new(0);

impl Pair {
    /// Creates the two namespaces, named `dltest-PID-N-s` and `-c`.
    ///
    /// # Panics
    /// When a step fails.
    pub fn new() -> Self {
        let n = PAIRS.fetch_add(1, Ordering::SeqCst);
        let prefix = format!("dltest-{}-{n}", std::process::id());
        let server = Netns::new(&format!("{prefix}-s"));
        let client = Netns::new(&format!("{prefix}-c"));
        server.ip(&[
            "link",
            "add",
            "v-srv",
            "type",
            "veth",
            "peer",
            "name",
            "v-cli",
            "netns",
            client.name(),
        ]);
        server.ip(&[
            "addr",
            "add",
            &format!("{SERVER_ADDRESS}/24"),
            "dev",
            "v-srv",
        ]);
        server.ip(&["link", "set", "v-srv", "up"]);
        client.ip(&["link", "set", "v-cli", "address", "02:00:5e:00:53:01"]);
        client.ip(&["link", "set", "v-cli", "up"]);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir()
            .expect("tempdir");
        Self {
            server,
            client,
            dir: dir.path().to_path_buf(),
            _dir: dir,
        }
    }
}

impl Default for Pair {
    fn default() -> Self {
        Self::new()
    }
}
