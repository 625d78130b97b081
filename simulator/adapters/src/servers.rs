//! DHCPv4 servers: the reference server, kea-dhcp4, ISC dhcpd and dnsmasq, serving one subnet
//! on one interface with a router and DNS server option.

use crate::{AdapterError, InNamespace, arg, write};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The file name of Kea's high availability hook library.
const HA_LIBRARY: &str = "libdhcp_ha.so";
/// The control agent's configuration, beside the server's in its directory.
const CTRL_AGENT_CONFIG: &str = "ctrl-agent.json";
/// The control agent's log, beside the server's in its directory.
const CTRL_AGENT_LOG: &str = "ctrl-agent.log";

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
                dhcpd("-4", &config, d, &setup.iface, in_ns)?
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

    /// For ISC dhcpd and dnsmasq: the Kea configuration `config` translated into the server's
    /// own ([`crate::translate`]), written under `dir` (`dhcpd.conf` and `dhcpd.leases`, or
    /// `dnsmasq.conf` and `dnsmasq.leases`; a lease file already there is kept, so that a
    /// restarted server reloads its leases), and the command that runs it in the foreground
    /// on `iface`, where its address is `address`. The other servers read Kea's own
    /// configuration ([`Server::kea_command`]): an error.
    pub fn translated_command(
        self,
        config: &serde_json::Value,
        iface: &str,
        address: Ipv4Addr,
        dir: &Path,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        let target = self
            .translation()
            .ok_or(AdapterError::NotTranslated(self.program()))?;
        let text = target.translate(config, iface, address, dir)?;
        let (conf, leases) = match target {
            crate::translate::Target::Dhcpd => ("dhcpd.conf", "dhcpd.leases"),
            crate::translate::Target::Dnsmasq => ("dnsmasq.conf", "dnsmasq.leases"),
        };
        write(&dir.join(conf), text)?;
        if !dir.join(leases).exists() {
            write(&dir.join(leases), "")?;
        }
        Ok(match target {
            crate::translate::Target::Dhcpd => {
                let mut c = in_ns("dhcpd");
                c.args(["-4", "-f", "-d", "-cf"])
                    .arg(dir.join(conf))
                    .arg("-lf")
                    .arg(dir.join(leases))
                    .arg("-pf")
                    .arg(dir.join("dhcpd.pid"))
                    .arg(iface);
                c
            }
            crate::translate::Target::Dnsmasq => {
                // -d: foreground and root (-k would drop to nobody, who cannot write here).
                let mut c = in_ns("dnsmasq");
                c.arg("-d").arg("-C").arg(dir.join(conf));
                c
            }
        })
    }

    /// The translation of Kea's configuration this server takes, when it does not read Kea's
    /// own: ISC dhcpd's and dnsmasq's.
    pub fn translation(self) -> Option<crate::translate::Target> {
        match self {
            Server::Reference | Server::Kea => None,
            Server::Dhcpd => Some(crate::translate::Target::Dhcpd),
            Server::Dnsmasq => Some(crate::translate::Target::Dnsmasq),
        }
    }

    /// The DHCPv4 leases of a server started in `dir` with [`Server::translated_command`], as
    /// its lease file holds them (none before it wrote one). Kea's and the reference server's
    /// memfile is read by `dhcplab_memfile`.
    pub fn file_leases(
        self,
        dir: &Path,
    ) -> Result<Vec<crate::leasefiles::FileLease>, AdapterError> {
        let (name, parse): (_, fn(&str) -> _) = match self.translation() {
            Some(crate::translate::Target::Dhcpd) => {
                ("dhcpd.leases", crate::leasefiles::parse_dhcpd)
            }
            Some(crate::translate::Target::Dnsmasq) => {
                ("dnsmasq.leases", crate::leasefiles::parse_dnsmasq)
            }
            None => return Err(AdapterError::NotTranslated(self.program())),
        };
        let path = dir.join(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(AdapterError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        parse(&text).map_err(|source| AdapterError::LeaseFile {
            path: path.display().to_string(),
            source,
        })
    }

    /// Writes the Kea configuration `config` for a server of this kind under `dir`, its files
    /// moved there (memfile lease file `leases4.csv` with no cleanup, log `server.log`, control
    /// socket `server.sock`), serving `iface` with raw sockets; the file's path. The lease file
    /// is written unless the configuration says `"persist": false` (a crash test's negative
    /// case: the server keeps its leases in memory only).
    ///
    /// For kea-dhcp4 loading the high availability hook (`libdhcp_ha.so`) it also writes the
    /// configuration of the control agent the server needs ([`Server::ctrl_agent_command`]),
    /// `ctrl-agent.json`: listening on the `url` of this server's own peer
    /// (`this-server-name`), passing commands on to the control socket, logging to
    /// `ctrl-agent.log`, and taking the peer's `basic-auth-*` credentials, which the partner
    /// sends. A configuration without that hook, or whose HA runs its own HTTP listener
    /// (`http-dedicated-listener` with multi-threading), removes that file.
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
        tie_to(iface, "subnet4", d4);
        let persist = d4
            .pointer("/lease-database/persist")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true);
        d4["lease-database"] = serde_json::json!({ "type": "memfile", "persist": persist,
            "name": dir.join("leases4.csv"), "lfc-interval": 0 });
        d4["loggers"] = serde_json::json!([ { "name": "kea-dhcp4", "severity": "DEBUG",
            "output_options": [ { "output": dir.join("server.log") } ] } ]);
        let socket = crate::socket_path(self.control_socket(dir))?;
        d4["control-socket"] = serde_json::json!({ "socket-type": "unix", "socket-name": socket });
        if self == Server::Kea {
            write_ctrl_agent_config(d4, &socket, dir)?;
        }
        let path = dir.join("dhcp4.json");
        write(&path, config.to_string())?;
        Ok(path)
    }

    /// The control socket of a server started with `kea_command` in `dir`.
    pub fn control_socket(self, dir: &Path) -> PathBuf {
        dir.join("server.sock")
    }

    /// The command that runs kea-ctrl-agent in the foreground in the host's namespace, for a
    /// kea-dhcp4 whose configuration [`Server::write_kea_config`] wrote in `dir` with the high
    /// availability hook; None for any other server or configuration. Kea 2.2's HA (without
    /// its multi-threaded listener) needs one agent beside each kea-dhcp4: the partner POSTs
    /// its HA commands (ha-heartbeat, lease4-update, lease4-get-page, dhcp-disable, ...) to
    /// this server's peer `url`, where the agent listens and passes them on over the control
    /// socket. Its pid and lock files go in `dir`, as kea-dhcp4's do. Start it once the server
    /// is ready (its control socket is bound), and stop it with the server.
    pub fn ctrl_agent_command(self, dir: &Path, in_ns: InNamespace<'_>) -> Option<Command> {
        let config = dir.join(CTRL_AGENT_CONFIG);
        if self != Server::Kea || !config.is_file() {
            return None;
        }
        let mut c = in_ns("kea-ctrl-agent");
        c.env("KEA_PIDFILE_DIR", dir)
            .env("KEA_LOCKFILE_DIR", dir)
            .arg("-c")
            .arg(config);
        Some(c)
    }

    /// True when the control agent started with [`Server::ctrl_agent_command`] in `dir`
    /// listens on its HTTP port in the host's namespace, so that the partner's commands reach
    /// the server; false when there is no agent configuration there.
    pub fn ctrl_agent_ready(self, dir: &Path, in_ns: InNamespace<'_>) -> bool {
        let Some(port) = std::fs::read(dir.join(CTRL_AGENT_CONFIG))
            .ok()
            .and_then(|text| serde_json::from_slice::<Value>(&text).ok())
            .and_then(|c| {
                c.pointer("/Control-agent/http-port")
                    .and_then(Value::as_u64)
            })
        else {
            return false;
        };
        in_ns("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty())
    }

    /// The control agent's own log, when [`Server::write_kea_config`] configured one in `dir`.
    pub fn ctrl_agent_log(self, dir: &Path) -> Option<PathBuf> {
        (self == Server::Kea && dir.join(CTRL_AGENT_CONFIG).is_file())
            .then(|| dir.join(CTRL_AGENT_LOG))
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
        listening(67, in_ns) && (self != Server::Kea || logged_since(dir, mark, b"DHCP4_STARTED"))
    }
}

/// Writes ISC dhcpd's configuration `config` and an empty lease file under `dir` and returns
/// the command that runs it in the foreground on `iface`, for DHCPv4 (`family` `-4`: files
/// `dhcpd.*`) or DHCPv6 (`-6`: files `dhcpd6.*`).
pub(crate) fn dhcpd(
    family: &str,
    config: &str,
    dir: &Path,
    iface: &str,
    in_ns: InNamespace<'_>,
) -> Result<Command, AdapterError> {
    let stem = if family == "-6" { "dhcpd6" } else { "dhcpd" };
    let file = |ext: &str| dir.join(format!("{stem}.{ext}"));
    write(&file("conf"), config)?;
    write(&file("leases"), "")?;
    let mut c = in_ns("dhcpd");
    c.args([family, "-f", "-d", "-cf"])
        .arg(file("conf"))
        .arg("-lf")
        .arg(file("leases"))
        .arg("-pf")
        .arg(file("pid"))
        .arg(iface);
    Ok(c)
}

/// True when the server log `server.log` in `dir` holds `message` after byte `mark`.
pub(crate) fn logged_since(dir: &Path, mark: u64, message: &[u8]) -> bool {
    std::fs::read(dir.join("server.log")).is_ok_and(|log| {
        let from = usize::try_from(mark).unwrap_or(usize::MAX);
        log.get(from..)
            .is_some_and(|new| new.windows(message.len()).any(|w| w == message))
    })
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

/// Writes `ctrl-agent.json` in `dir` when the `Dhcp4` map `d4` loads the high availability
/// hook and needs a control agent ([`own_ha_peer`]): listening on this server's peer url,
/// passing commands on to `socket`; removes one left by an earlier configuration otherwise.
fn write_ctrl_agent_config(d4: &Value, socket: &Path, dir: &Path) -> Result<(), AdapterError> {
    let path = dir.join(CTRL_AGENT_CONFIG);
    let Some((name, peer)) = own_ha_peer(d4)? else {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AdapterError::Write {
                path: path.display().to_string(),
                source: e,
            }),
            _ => Ok(()),
        };
    };
    let Some(url) = peer.get("url").and_then(Value::as_str) else {
        return Err(AdapterError::HaParameters(format!(
            "peer {name:?} (this-server-name) has no \"url\" string"
        )));
    };
    let listener = http_listener(url).map_err(|reason| AdapterError::HaUrl {
        url: url.to_string(),
        peer: name.to_string(),
        reason,
    })?;
    let mut agent = serde_json::json!({
        "http-host": listener.ip().to_string(),
        "http-port": listener.port(),
        "control-sockets": { "dhcp4": { "socket-type": "unix", "socket-name": socket } },
        "loggers": [ { "name": "kea-ctrl-agent", "severity": "INFO",
            "output_options": [ { "output": dir.join(CTRL_AGENT_LOG) } ] } ]
    });
    // The partner sends the credentials of this server's peer entry: the agent takes them.
    if let Some(user) = peer
        .get("basic-auth-user")
        .and_then(Value::as_str)
        .filter(|u| !u.is_empty())
    {
        let mut client = serde_json::json!({ "user": user });
        if let Some(password) = peer.get("basic-auth-password") {
            client["password"] = password.clone();
        }
        if let Some(file) = peer.get("basic-auth-password-file") {
            client["password-file"] = file.clone();
        }
        agent["authentication"] = serde_json::json!({ "type": "basic",
            "realm": "kea-control-agent", "clients": [ client ] });
    }
    write(
        &path,
        serde_json::json!({ "Control-agent": agent }).to_string(),
    )
}

/// This server's name and its own entry in the peers of the high availability hook that the
/// `Dhcp4` map `d4` loads, when the server needs a control agent for it: None without the
/// hook, and when HA runs its own HTTP listener (multi-threading on in the core and in HA,
/// with `http-dedicated-listener`).
fn own_ha_peer(d4: &Value) -> Result<Option<(&str, &Value)>, AdapterError> {
    let bad = |why: &str| AdapterError::HaParameters(why.to_string());
    let Some(ha) = d4
        .get("hooks-libraries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|l| {
            l.get("library")
                .and_then(Value::as_str)
                .and_then(|p| p.rsplit('/').next())
                == Some(HA_LIBRARY)
        })
    else {
        return Ok(None);
    };
    let params = ha
        .pointer("/parameters/high-availability/0")
        .ok_or_else(|| bad("no \"high-availability\" list holding a map"))?;
    let on = |v: Option<&Value>| v.and_then(Value::as_bool) == Some(true);
    if on(d4.pointer("/multi-threading/enable-multi-threading"))
        && on(params.pointer("/multi-threading/enable-multi-threading"))
        && on(params.pointer("/multi-threading/http-dedicated-listener"))
    {
        return Ok(None);
    }
    let name = params
        .get("this-server-name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no \"this-server-name\" string"))?;
    let peer = params
        .get("peers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        .ok_or_else(|| {
            AdapterError::HaParameters(format!(
                "no peer named {name:?} (this-server-name) in \"peers\""
            ))
        })?;
    Ok(Some((name, peer)))
}

/// The address and port an HA peer url (`http://192.0.2.1:8000/`, `http://[2001:db8::1]/`)
/// names, as Kea reads it: plain HTTP, a literal address, port 80 when none is given; what is
/// wrong with it otherwise.
fn http_listener(url: &str) -> Result<SocketAddr, &'static str> {
    let rest = url
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
        .and_then(|_| url.get(7..))
        .ok_or("not an http:// url (an https peer needs TLS settings TAP mode does not give the agent)")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6
                .split_once(']')
                .ok_or("an IPv6 address without its ']'")?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or("junk after the address")?),
                ),
            }
        }
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    let ip: IpAddr = host
        .parse()
        .map_err(|_| "the host is not a literal IP address, which Kea requires")?;
    let port = match port {
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or("the port is not a number from 1 to 65535")?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// Ties the subnets (under `subnets`: `subnet4` or `subnet6`) and shared networks of the
/// `Dhcp4` or `Dhcp6` map `d4` that name an interface to `iface`: a scenario's server has one
/// interface, whatever the configuration calls it.
pub(crate) fn tie_to(iface: &str, subnets: &str, d4: &mut serde_json::Value) {
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
    tie(d4.get_mut(subnets));
    tie(d4.get_mut("shared-networks"));
    for network in d4
        .get_mut("shared-networks")
        .and_then(serde_json::Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        tie(network.get_mut(subnets));
    }
}

/// True when something in the host's namespace listens on UDP port `port` (67, or 547 for
/// DHCPv6).
pub(crate) fn listening(port: u16, in_ns: InNamespace<'_>) -> bool {
    in_ns("ss")
        .args(["-Hlun", &format!("sport = :{port}")])
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
        assert_eq!(d4["lease-database"]["persist"], true);
        assert!(inside("/control-socket/socket-name"));
        assert!(inside("/loggers/0/output_options/0/output"));
        let memory_only = serde_json::json!({ "Dhcp4": {
            "lease-database": { "type": "memfile", "persist": false } } });
        let path = Server::Kea
            .write_kea_config(memory_only, "dlabt0", dir.path())
            .expect("written");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
        assert_eq!(
            written["Dhcp4"]["lease-database"]["persist"], false,
            "a scenario's lease file off stays off"
        );
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

    /// A hot-standby pair's configuration, as `this` (server1 or server2) reads it.
    fn ha_pair(this: &str) -> serde_json::Value {
        serde_json::json!({ "Dhcp4": {
            "hooks-libraries": [
                { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so" },
                { "library": "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so",
                  "parameters": { "high-availability": [ {
                    "this-server-name": this, "mode": "hot-standby",
                    "heartbeat-delay": 1000, "max-response-delay": 3000,
                    "max-ack-delay": 1000, "max-unacked-clients": 0,
                    "peers": [
                        { "name": "server1", "url": "http://192.0.2.1:8000/", "role": "primary" },
                        { "name": "server2", "url": "http://192.0.2.2:8000/", "role": "standby",
                          "basic-auth-user": "ha", "basic-auth-password": "secret" } ] } ] } } ],
            "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ] } ] } })
    }

    fn read_json(path: &Path) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
    }

    #[test]
    fn a_kea_server_with_the_ha_hook_gets_a_control_agent_on_its_own_peer_url() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let in_ns = |p: &str| Command::new(p);
        Server::Kea
            .write_kea_config(ha_pair("server1"), "veth0", d)
            .expect("written");
        let agent = read_json(&d.join("ctrl-agent.json"));
        assert_eq!(
            agent,
            serde_json::json!({ "Control-agent": {
                "http-host": "192.0.2.1", "http-port": 8000,
                "control-sockets": { "dhcp4": { "socket-type": "unix",
                    "socket-name": d.join("server.sock") } },
                "loggers": [ { "name": "kea-ctrl-agent", "severity": "INFO",
                    "output_options": [ { "output": d.join("ctrl-agent.log") } ] } ] } })
        );
        // The agent passes commands on to the very socket the server binds.
        let server = read_json(&d.join("dhcp4.json"));
        assert_eq!(
            server["Dhcp4"]["control-socket"]["socket-name"],
            agent["Control-agent"]["control-sockets"]["dhcp4"]["socket-name"]
        );
        let c = Server::Kea.ctrl_agent_command(d, &in_ns).expect("an agent");
        assert_eq!(c.get_program(), "kea-ctrl-agent");
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(
            args,
            [
                std::ffi::OsStr::new("-c"),
                d.join("ctrl-agent.json").as_os_str()
            ]
        );
        let envs: Vec<_> = c.get_envs().collect();
        assert!(envs.contains(&("KEA_PIDFILE_DIR".as_ref(), Some(d.as_os_str()))));
        assert!(envs.contains(&("KEA_LOCKFILE_DIR".as_ref(), Some(d.as_os_str()))));
        assert_eq!(
            Server::Kea.ctrl_agent_log(d),
            Some(d.join("ctrl-agent.log"))
        );
        assert!(Server::Reference.ctrl_agent_command(d, &in_ns).is_none());

        // The standby's agent listens on its own url and takes the credentials its partner
        // sends it.
        Server::Kea
            .write_kea_config(ha_pair("server2"), "veth1", d)
            .expect("written");
        let agent = read_json(&d.join("ctrl-agent.json"));
        assert_eq!(agent["Control-agent"]["http-host"], "192.0.2.2");
        assert_eq!(
            agent["Control-agent"]["authentication"],
            serde_json::json!({ "type": "basic", "realm": "kea-control-agent",
                "clients": [ { "user": "ha", "password": "secret" } ] })
        );

        // Without the hook (a reload that drops HA), no agent configuration is left.
        Server::Kea
            .write_kea_config(serde_json::json!({ "Dhcp4": {} }), "veth1", d)
            .expect("written");
        assert!(!d.join("ctrl-agent.json").exists());
        assert!(Server::Kea.ctrl_agent_command(d, &in_ns).is_none());
        assert!(Server::Kea.ctrl_agent_log(d).is_none());

        // The reference server takes HA itself: no agent.
        Server::Reference
            .write_kea_config(ha_pair("server1"), "veth0", d)
            .expect("written");
        assert!(!d.join("ctrl-agent.json").exists());

        // HA's own multi-threaded listener needs no agent.
        let mut mt = ha_pair("server1");
        mt["Dhcp4"]["multi-threading"] = serde_json::json!({ "enable-multi-threading": true });
        mt["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]["multi-threading"] = serde_json::json!({ "enable-multi-threading": true,
                "http-dedicated-listener": true });
        Server::Kea
            .write_kea_config(mt, "veth0", d)
            .expect("written");
        assert!(!d.join("ctrl-agent.json").exists());
    }

    #[test]
    fn ha_parameters_that_do_not_place_the_agent_are_errors_naming_what_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = |config: serde_json::Value| {
            Server::Kea
                .write_kea_config(config, "veth0", dir.path())
                .expect_err("refused")
                .to_string()
        };
        let e = error(ha_pair("server9"));
        assert!(e.contains("no peer named \"server9\""), "{e}");
        let mut no_name = ha_pair("server1");
        no_name["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]
            .as_object_mut()
            .expect("map")
            .remove("this-server-name");
        let e = error(no_name);
        assert!(e.contains("this-server-name"), "{e}");
        let mut no_list = ha_pair("server1");
        no_list["Dhcp4"]["hooks-libraries"][1]["parameters"] = serde_json::json!({});
        let e = error(no_list);
        assert!(e.contains("high-availability"), "{e}");
        for (url, why) in [
            ("https://192.0.2.1:8000/", "not an http:// url"),
            ("http://peer.example:8000/", "not a literal IP address"),
            ("http://192.0.2.1:http/", "the port"),
            ("http://[2001:db8::1/", "without its ']'"),
        ] {
            let mut bad = ha_pair("server1");
            bad["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]["peers"][0]
                ["url"] = url.into();
            let e = error(bad);
            assert!(
                e.contains(why) && e.contains(url) && e.contains("server1"),
                "{e}"
            );
        }
    }

    #[test]
    fn peer_urls_are_read_as_kea_reads_them() {
        let at = |s: &str| s.parse::<SocketAddr>().expect("address");
        assert_eq!(
            http_listener("http://192.0.2.1:8000/"),
            Ok(at("192.0.2.1:8000"))
        );
        assert_eq!(
            http_listener("HTTP://192.0.2.1:8000"),
            Ok(at("192.0.2.1:8000"))
        );
        assert_eq!(http_listener("http://192.0.2.1/"), Ok(at("192.0.2.1:80")));
        assert_eq!(
            http_listener("http://[2001:db8::1]:8001/"),
            Ok(at("[2001:db8::1]:8001"))
        );
        assert_eq!(
            http_listener("http://[2001:db8::1]/"),
            Ok(at("[2001:db8::1]:80"))
        );
        assert!(http_listener("http://192.0.2.1:0/").is_err());
        assert!(http_listener("http://192.0.2.1:70000/").is_err());
        assert!(http_listener("192.0.2.1:8000").is_err());
    }
}
