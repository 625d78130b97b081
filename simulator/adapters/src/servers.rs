//! DHCPv4 servers: the reference server, kea-dhcp4, ISC dhcpd and dnsmasq, serving one subnet
//! on one interface with a router and DNS server option.

use crate::{AdapterError, InNamespace, arg, write};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    /// kea-dhcp4): writes `config` under `dir`, its files moved there (memfile lease file
    /// `leases4.csv` with no cleanup, log `server.log`, the reference server's control socket
    /// `server.sock`), serving `iface` with raw sockets, and returns the command that runs it
    /// in the foreground. The other servers do not read it: an error.
    pub fn kea_command(
        self,
        mut config: serde_json::Value,
        iface: &str,
        dir: &Path,
        dhcplab: &Path,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        if !matches!(self, Server::Reference | Server::Kea) {
            return Err(AdapterError::NotKea(self.program()));
        }
        let Some(d4) = config.get_mut("Dhcp4").filter(|d| d.is_object()) else {
            return Err(AdapterError::NoDhcp4);
        };
        d4["interfaces-config"] =
            serde_json::json!({ "interfaces": [ iface ], "dhcp-socket-type": "raw" });
        d4["lease-database"] = serde_json::json!({ "type": "memfile", "persist": true,
            "name": dir.join("leases4.csv"), "lfc-interval": 0 });
        d4["loggers"] = serde_json::json!([ { "name": "kea-dhcp4", "severity": "DEBUG",
            "output_options": [ { "output": dir.join("server.log") } ] } ]);
        if self == Server::Reference {
            d4["control-socket"] = serde_json::json!({ "socket-type": "unix",
                "socket-name": dir.join("server.sock") });
        }
        let path = dir.join("dhcp4.json");
        write(&path, &config.to_string())?;
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

/// True when something in the host's namespace listens on UDP port 67.
fn listening(in_ns: InNamespace<'_>) -> bool {
    in_ns("ss")
        .args(["-Hlun", "sport = :67"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}
