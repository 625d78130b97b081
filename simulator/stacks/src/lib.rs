//! The DHCP stacks dhcplab knows: the reference server and client, and the real stacks of
//! Debian 12 (Kea, ISC dhcpd and dhclient, dnsmasq, busybox udhcpc, dhcpcd). For each: its
//! role, the features a scenario may require of it, its program, and how to read its version.
//! `dhcplab stacks` prints this; TAP mode (issue 7) picks adapters and skips scenarios by it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A DHCP server.
    Server,
    /// A DHCP client.
    Client,
}

impl Role {
    /// `server` or `client`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// A stack dhcplab can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stack {
    /// Its name on the command line (`--server kea`).
    pub name: &'static str,
    /// Server or client.
    pub role: Role,
    /// The program, found on the PATH (and in /usr/sbin, /sbin); empty for the reference
    /// stack, which is this binary.
    pub program: &'static str,
    /// Arguments that make the program print its version.
    pub version_args: &'static [&'static str],
    /// Features a scenario may require (`requires = [...]`): `v4`, `v6`, `short-lifetimes`
    /// (leases under 2 minutes), `bootp`, `hooks`, `ha`.
    pub features: &'static [&'static str],
    /// The Debian package that provides it.
    pub package: &'static str,
}

/// Every stack, servers first.
pub const STACKS: &[Stack] = &[
    Stack {
        name: "reference",
        role: Role::Server,
        program: "",
        version_args: &[],
        features: &["v4", "v6", "short-lifetimes", "bootp"],
        package: "",
    },
    Stack {
        name: "kea",
        role: Role::Server,
        program: "kea-dhcp4",
        version_args: &["-v"],
        features: &["v4", "short-lifetimes", "bootp", "hooks", "ha"],
        package: "kea-dhcp4-server",
    },
    Stack {
        name: "kea6",
        role: Role::Server,
        program: "kea-dhcp6",
        version_args: &["-v"],
        features: &["v6", "short-lifetimes", "hooks", "ha"],
        package: "kea-dhcp6-server",
    },
    Stack {
        name: "dhcpd",
        role: Role::Server,
        program: "dhcpd",
        version_args: &["--version"],
        features: &["v4", "v6", "short-lifetimes", "bootp"],
        package: "isc-dhcp-server",
    },
    Stack {
        // dnsmasq's shortest lease is 2 minutes.
        name: "dnsmasq",
        role: Role::Server,
        program: "dnsmasq",
        version_args: &["--version"],
        features: &["v4", "v6", "bootp"],
        package: "dnsmasq",
    },
    Stack {
        name: "reference",
        role: Role::Client,
        program: "",
        version_args: &[],
        features: &["v4", "v6", "short-lifetimes", "bootp"],
        package: "",
    },
    Stack {
        name: "dhclient",
        role: Role::Client,
        program: "dhclient",
        version_args: &["--version"],
        features: &["v4", "v6", "short-lifetimes"],
        package: "isc-dhcp-client",
    },
    Stack {
        name: "udhcpc",
        role: Role::Client,
        program: "udhcpc",
        version_args: &["--help"],
        features: &["v4", "short-lifetimes"],
        package: "udhcpc",
    },
    Stack {
        name: "dhcpcd",
        role: Role::Client,
        program: "dhcpcd",
        version_args: &["--version"],
        features: &["v4", "v6", "short-lifetimes"],
        package: "dhcpcd-base",
    },
];

/// The stack named `name` in `role`.
pub fn find(role: Role, name: &str) -> Option<&'static Stack> {
    STACKS.iter().find(|s| s.role == role && s.name == name)
}

/// Whether and where a stack is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Built into this binary.
    BuiltIn {
        /// dhcplab's version.
        version: String,
    },
    /// Found at this path, with the version it printed (`None` when it printed none).
    Installed {
        /// The program.
        path: PathBuf,
        /// Its version, as `2.2.0` or `4.4.3-P1`.
        version: Option<String>,
    },
    /// Not found.
    Missing,
}

/// How long a program may take to print its version.
const VERSION_TIMEOUT: Duration = Duration::from_secs(5);

impl Stack {
    /// Looks for the stack's program and asks it for its version.
    pub fn presence(&self) -> Presence {
        if self.program.is_empty() {
            return Presence::BuiltIn {
                version: env!("CARGO_PKG_VERSION").to_string(),
            };
        }
        match locate(self.program) {
            None => Presence::Missing,
            Some(path) => {
                let version = output_of(&path, self.version_args).and_then(|o| version_in(&o));
                Presence::Installed { path, version }
            }
        }
    }
}

/// The program `name` on the PATH, then in /usr/sbin and /sbin (where Debian puts servers,
/// outside a user's PATH).
pub fn locate(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What `program args` prints on stdout and stderr, waiting at most [`VERSION_TIMEOUT`].
fn output_of(program: &Path, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let began = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if began.elapsed() < VERSION_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut text);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    Some(text)
}

/// The first version number in a program's output: `2.2.0`, `4.4.3-P1`, `1.35.0`, `2.90`.
pub fn version_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let boundary =
            |k: usize| k == 0 || !(bytes[k - 1].is_ascii_alphanumeric() || bytes[k - 1] == b'.');
        let starts = boundary(i) || (bytes[i - 1] == b'v' && boundary(i - 1));
        if bytes[i].is_ascii_digit() && starts {
            let start = i;
            let mut end = i;
            let mut dots = 0;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                dots += usize::from(bytes[end] == b'.');
                end += 1;
            }
            let number = text[start..end].trim_end_matches('.');
            if dots >= 1 && number.contains('.') {
                let mut version = number.to_string();
                let rest = &text[end..];
                if let Some(p) = rest.strip_prefix("-P")
                    && let Some(n) = p.split(|c: char| !c.is_ascii_digit()).next()
                    && !n.is_empty()
                {
                    version.push_str(&format!("-P{n}"));
                }
                return Some(version);
            }
            i = end;
        }
        i += 1;
    }
    None
}

/// Every stack and its presence as JSON: `[{"name", "role", "installed", "path", "version",
/// "features", "package"}]`.
pub fn json(found: &[(&Stack, Presence)]) -> serde_json::Value {
    let rows: Vec<_> = found
        .iter()
        .map(|(s, p)| {
            let (installed, path, version) = match p {
                Presence::BuiltIn { version } => (true, None, Some(version.clone())),
                Presence::Installed { path, version } => {
                    (true, Some(path.display().to_string()), version.clone())
                }
                Presence::Missing => (false, None, None),
            };
            serde_json::json!({
                "name": s.name,
                "role": s.role.name(),
                "installed": installed,
                "path": path,
                "version": version,
                "features": s.features,
                "package": s.package,
            })
        })
        .collect();
    serde_json::Value::Array(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_each_stack_prints() {
        for (text, want) in [
            ("2.2.0\n", "2.2.0"),
            ("isc-dhcpd-4.4.3-P1\n", "4.4.3-P1"),
            ("isc-dhclient-4.4.3-P1\n", "4.4.3-P1"),
            (
                "Dnsmasq version 2.90  Copyright (c) 2000-2024 Simon Kelley\n",
                "2.90",
            ),
            (
                "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n",
                "1.35.0",
            ),
            (
                "dhcpcd 9.4.1\nCopyright (c) 2006-2021 Roy Marples\n",
                "9.4.1",
            ),
        ] {
            assert_eq!(version_in(text).as_deref(), Some(want), "{text}");
        }
        assert_eq!(version_in("no version here 12\n"), None);
        assert_eq!(version_in(""), None);
    }

    #[test]
    fn names_are_unique_per_role_and_the_reference_is_built_in() {
        for s in STACKS {
            assert_eq!(
                STACKS
                    .iter()
                    .filter(|t| t.role == s.role && t.name == s.name)
                    .count(),
                1
            );
            assert!(
                s.features.iter().any(|f| *f == "v4" || *f == "v6"),
                "{}",
                s.name
            );
        }
        let r = find(Role::Server, "reference").expect("reference server");
        assert!(matches!(r.presence(), Presence::BuiltIn { .. }));
        assert!(find(Role::Client, "kea").is_none());
        // Both reference stacks run DHCPv6 (`dhcplab server` with a Dhcp6 map, `dhcplab agent
        // -6`); udhcpc has none.
        for role in [Role::Server, Role::Client] {
            assert!(find(role, "reference").is_some_and(|s| s.features.contains(&"v6")));
        }
        assert!(find(Role::Client, "udhcpc").is_some_and(|s| !s.features.contains(&"v6")));
    }

    #[test]
    fn a_missing_program_is_missing() {
        let s = Stack {
            program: "dhcplab-no-such-program",
            ..STACKS[1]
        };
        assert_eq!(s.presence(), Presence::Missing);
    }
}
