//! DHCPv4 servers: the reference server, kea-dhcp4, ISC dhcpd and dnsmasq, serving one subnet
//! on one interface with a router and DNS server option.

use crate::{AdapterError, InNamespace, arg, write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A DHCPv4 server stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The reference server (`dhcplab server`).
    Reference,
    /// kea-dhcp4 2.2.
    Kea,
    /// ISC dhcpd 4.4.
    Dhcpd,
    /// dnsmasq 2.90.
    Dnsmasq,
}

/// What a server serves, and where its files go.
#[derive(Debug, Clone)]
pub struct ServerSetup {
    /// The interface it serves on.
    pub iface: String,
    /// Its address there, also the router and DNS server it hands out; the subnet is its /24.
    pub address: Ipv4Addr,
    /// The first and last address of the pool.
    pub pool: (Ipv4Addr, Ipv4Addr),
    /// The lease time, in seconds (dnsmasq serves at least 120).
    pub lease: u32,
    /// The directory every file goes in.
    pub dir: PathBuf,
    /// The `dhcplab` binary, for the reference server.
    pub dhcplab: PathBuf,
}

impl Server {
    /// Every server, in a fixed order.
    pub const ALL: [Server; 4] = [
        Server::Reference,
        Server::Kea,
        Server::Dhcpd,
        Server::Dnsmasq,
    ];

    /// The program it runs.
    pub fn program(self) -> &'static str {
        match self {
            Server::Reference => "dhcplab",
            Server::Kea => "kea-dhcp4",
            Server::Dhcpd => "dhcpd",
            Server::Dnsmasq => "dnsmasq",
        }
    }

    /// Its name in `dhcplab stacks` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Server::Reference => "reference",
            Server::Kea => "kea",
            Server::Dhcpd => "dhcpd",
            Server::Dnsmasq => "dnsmasq",
        }
    }

    /// Writes the server's configuration (and empty lease file) under `setup.dir` and returns
    /// the command that runs it in the foreground in the host's namespace.
    pub fn command(
        self,
        setup: &ServerSetup,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        let d = &setup.dir;
        let a = setup.address;
        let o = a.octets();
        let (net, first, last) = (
            Ipv4Addr::new(o[0], o[1], o[2], 0),
            setup.pool.0,
            setup.pool.1,
        );
        let lease = setup.lease;
        Ok(match self {
            Server::Reference | Server::Kea => {
                let config = serde_json::json!({ "Dhcp4": {
                    "valid-lifetime": lease,
                    "subnet4": [ { "id": 1, "subnet": format!("{net}/24"),
                        "pools": [ { "pool": format!("{first} - {last}") } ],
                        "option-data": [ { "name": "routers", "data": a.to_string() },
                                         { "name": "domain-name-servers", "data": a.to_string() } ] } ]
                } });
                self.kea_command(config, &setup.iface, d, &setup.dhcplab, in_ns)?
            }
            Server::Dhcpd => {
                let config = format!(
                    "authoritative;\nddns-update-style none;\n\
                     default-lease-time {lease}; max-lease-time {lease};\n\
                     subnet {net} netmask 255.255.255.0 {{\n  range {first} {last};\n  \
                     option routers {a};\n  option domain-name-servers {a};\n}}\n"
                );
                write(&d.join("dhcpd.conf"), &config)?;
                write(&d.join("dhcpd.leases"), "")?;
                let mut c = in_ns("dhcpd");
                c.args(["-4", "-f", "-d", "-cf"])
                    .arg(d.join("dhcpd.conf"))
                    .arg("-lf")
                    .arg(d.join("dhcpd.leases"))
                    .arg("-pf")
                    .arg(d.join("dhcpd.pid"))
                    .arg(&setup.iface);
                c
            }
            Server::Dnsmasq => {
                let config = format!(
                    "port=0\nno-resolv\nno-hosts\ninterface={}\nbind-interfaces\n\
                     dhcp-authoritative\nno-ping\nlog-dhcp\nlog-facility=-\n\
                     dhcp-leasefile={}\npid-file={}\n\
                     dhcp-range={first},{last},255.255.255.0,{}\n\
                     dhcp-option=option:router,{a}\n\
                     dhcp-option=option:dns-server,{a}\n",
                    setup.iface,
                    d.join("dnsmasq.leases").display(),
                    d.join("dnsmasq.pid").display(),
                    lease.max(120)
                );
                write(&d.join("dnsmasq.conf"), &config)?;
                // -d: foreground and root (-k would drop to nobody, who cannot write here).
                let mut c = in_ns("dnsmasq");
                c.arg("-d").arg("-C").arg(d.join("dnsmasq.conf"));
                c
            }
        })
    }

    /// For the servers that read Kea's configuration language (the reference server and
    /// kea-dhcp4): writes `config` under `dir` ([`Server::write_kea_config`]) and returns the
    /// command that runs the server on it in the foreground. The other servers do not read
    /// it: an error.
    pub fn kea_command(
        self,
        config: serde_json::Value,
        iface: &str,
        dir: &Path,
        dhcplab: &Path,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        let path = self.write_kea_config(config, iface, dir)?;
        let mut c = if self == Server::Reference {
            let mut c = in_ns(&arg(dhcplab));
            c.arg("server");
            c
        } else {
            let mut c = in_ns("kea-dhcp4");
            c.env("KEA_PIDFILE_DIR", dir).env("KEA_LOCKFILE_DIR", dir);
            c
        };
        c.arg("-c").arg(&path);
        Ok(c)
    }

    /// Writes the Kea configuration `config` for a server of this kind under `dir`, its files
    /// moved there (memfile lease file `leases4.csv` with no cleanup, log `server.log`, control
    /// socket `server.sock`), serving `iface` with raw sockets; the file's path.
    pub fn write_kea_config(
        self,
        mut config: serde_json::Value,
        iface: &str,
        dir: &Path,
    ) -> Result<PathBuf, AdapterError> {
        if !matches!(self, Server::Reference | Server::Kea) {
            return Err(AdapterError::NotKea(self.program()));
        }
        let Some(d4) = config.get_mut("Dhcp4").filter(|d| d.is_object()) else {
            return Err(AdapterError::NoDhcp4);
        };
        if self == Server::Kea {
            for lib in d4
                .get_mut("hooks-libraries")
                .and_then(serde_json::Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let Some(path) = lib.get("library").and_then(serde_json::Value::as_str) else {
                    continue;
                };
                // Kea's own libraries by file name: where this machine's Kea keeps them.
                let file = path.rsplit('/').next().unwrap_or(path);
                if !Path::new(path).is_file() {
                    if let Some(found) = kea_hook(file) {
                        lib["library"] = serde_json::json!(found);
                    }
                }
            }
        }
        d4["interfaces-config"] =
            serde_json::json!({ "interfaces": [ iface ], "dhcp-socket-type": "raw" });
        tie_to(iface, d4);
        d4["lease-database"] = serde_json::json!({ "type": "memfile", "persist": true,
            "name": dir.join("leases4.csv"), "lfc-interval": 0 });
        d4["loggers"] = serde_json::json!([ { "name": "kea-dhcp4", "severity": "DEBUG",
            "output_options": [ { "output": dir.join("server.log") } ] } ]);
        d4["control-socket"] = serde_json::json!({ "socket-type": "unix",
            "socket-name": crate::socket_path(self.control_socket(dir))? });
        let path = dir.join("dhcp4.json");
        write(&path, &config.to_string())?;
        Ok(path)
    }

    /// The control socket of a server started with `kea_command` in `dir`.
    pub fn control_socket(self, dir: &Path) -> PathBuf {
        dir.join("server.sock")
    }

    /// Gives a server started with `kea_command` in `dir` the Kea configuration `config`:
    /// the file is rewritten as `kea_command` writes it and the server told to reload it
    /// (`config-reload` on its control socket, which answers once the new configuration is
    /// in force); leases are kept. The server's answer when it refuses.
    pub fn reconfigure(
        self,
        config: serde_json::Value,
        iface: &str,
        dir: &Path,
    ) -> Result<(), String> {
        self.write_kea_config(config, iface, dir)
            .map_err(|e| e.to_string())?;
        let answer = crate::exchange(
            &self.control_socket(dir),
            Duration::from_secs(10),
            r#"{"command": "config-reload"}"#,
        )
        .map_err(|e| format!("{}: {e}", self.control_socket(dir).display()))?;
        let value: serde_json::Value = serde_json::from_str(&answer)
            .map_err(|e| format!("config-reload answer is not JSON: {e}: {answer}"))?;
        match value.get("result").and_then(serde_json::Value::as_i64) {
            Some(0) => Ok(()),
            _ => Err(format!("config-reload: {answer}")),
        }
    }

    /// The server's own log file, when it writes one beside its output.
    pub fn log(self, dir: &Path) -> Option<PathBuf> {
        matches!(self, Server::Reference | Server::Kea).then(|| dir.join("server.log"))
    }
}

impl Server {
    /// Where this start's lines begin in the server's own log under `dir` (its length now): a
    /// restarted kea-dhcp4 appends to the log of the start before. Take it before starting.
    pub fn log_mark(self, dir: &Path) -> u64 {
        self.log(dir)
            .and_then(|l| std::fs::metadata(l).ok())
            .map_or(0, |m| m.len())
    }

    /// True when the server started with `command` or `kea_command` in `dir` answers: it
    /// listens on UDP port 67 in the host's namespace and, for kea-dhcp4, has logged
    /// DHCP4_STARTED after `mark` ([`Server::log_mark`]): it binds its socket before it loads
    /// its leases, and drops what comes in between.
    pub fn ready(self, dir: &Path, mark: u64, in_ns: InNamespace<'_>) -> bool {
        listening(in_ns)
            && (self != Server::Kea
                || std::fs::read(dir.join("server.log")).is_ok_and(|log| {
                    let from = usize::try_from(mark).unwrap_or(usize::MAX);
                    log.get(from..)
                        .is_some_and(|new| new.windows(13).any(|w| w == b"DHCP4_STARTED"))
                }))
    }
}

/// Where this machine's Kea keeps its hook library `file` (`libdhcp_run_script.so`):
/// Debian's multiarch directory, `/usr/lib/<triplet>/kea/hooks`, or `/usr/lib/kea/hooks`.
pub fn kea_hook(file: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("kea/hooks"))
        .collect();
    dirs.sort();
    dirs.push(PathBuf::from("/usr/lib/kea/hooks"));
    dirs.into_iter().map(|d| d.join(file)).find(|p| p.is_file())
}

/// Ties the subnets and shared networks of the `Dhcp4` map `d4` that name an interface to
/// `iface`: a scenario's server has one interface, whatever the configuration calls it.
fn tie_to(iface: &str, d4: &mut serde_json::Value) {
    let tie = |list: Option<&mut serde_json::Value>| {
        for item in list
            .and_then(serde_json::Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(name) = item.get_mut("interface") {
                *name = iface.into();
            }
        }
    };
    tie(d4.get_mut("subnet4"));
    tie(d4.get_mut("shared-networks"));
    for network in d4
        .get_mut("shared-networks")
        .and_then(serde_json::Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        tie(network.get_mut("subnet4"));
    }
}

/// True when something in the host's namespace listens on UDP port 67.
fn listening(in_ns: InNamespace<'_>) -> bool {
    in_ns("ss")
        .args(["-Hlun", "sport = :67"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_configuration_serves_the_hosts_interface_and_keeps_files_in_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = serde_json::json!({ "Dhcp4": {
            "interfaces-config": { "interfaces": [ "eth0" ] },
            "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "interface": "eth0" },
                         { "id": 2, "subnet": "198.51.100.0/24" } ],
            "shared-networks": [ { "name": "n", "interface": "eth0",
                "subnet4": [ { "id": 3, "subnet": "203.0.113.0/24", "interface": "eth0" } ] } ] } });
        let path = Server::Kea
            .write_kea_config(config, "dlabt0", dir.path())
            .expect("written");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
        let d4 = &written["Dhcp4"];
        assert_eq!(d4["interfaces-config"]["interfaces"][0], "dlabt0");
        assert_eq!(d4["subnet4"][0]["interface"], "dlabt0");
        assert!(d4["subnet4"][1].get("interface").is_none());
        assert_eq!(d4["shared-networks"][0]["interface"], "dlabt0");
        assert_eq!(
            d4["shared-networks"][0]["subnet4"][0]["interface"],
            "dlabt0"
        );
        let inside = |key: &str| {
            let p = PathBuf::from(d4.pointer(key).and_then(|v| v.as_str()).unwrap_or(""));
            p.starts_with(dir.path())
        };
        assert!(inside("/lease-database/name"));
        assert!(inside("/control-socket/socket-name"));
        assert!(inside("/loggers/0/output_options/0/output"));
        assert!(matches!(
            Server::Dnsmasq.write_kea_config(serde_json::json!({}), "x", dir.path()),
            Err(AdapterError::NotKea(_))
        ));
        let deep = dir.path().join("d".repeat(120));
        let e = Server::Kea
            .write_kea_config(serde_json::json!({"Dhcp4": {}}), "x", &deep)
            .expect_err("too long a socket path");
        assert!(e.to_string().contains("use a shorter directory"), "{e}");
        assert!(matches!(
            Server::Kea.write_kea_config(serde_json::json!({"Dhcp6": {}}), "x", dir.path()),
            Err(AdapterError::NoDhcp4)
        ));
    }
}
