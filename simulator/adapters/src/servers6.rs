//! DHCPv6 servers: the reference server (`dhcplab server` with a `Dhcp6` configuration),
//! kea-dhcp6, ISC dhcpd -6 and dnsmasq, serving IA_NA addresses from one 2001:db8::/32 subnet
//! on one interface, with the server's own address as DNS server, every file in the run's
//! directory.

use crate::servers::{Server, dhcpd, listening, logged_since, tie_to};
use crate::{AdapterError, InNamespace, write};
use std::net::Ipv6Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The UDP port DHCPv6 servers listen on (RFC 8415 section 7.2).
const SERVER_PORT: u16 = 547;

/// The lifetimes and timers a DHCPv6 server gives each address (RFC 8415 section 21.4 and
/// 21.6): T1 ≤ T2 ≤ preferred ≤ valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// T1: when the client renews with the server that gave the address, in seconds.
    pub t1: u32,
    /// T2: when the client rebinds with any server, in seconds.
    pub t2: u32,
    /// The preferred lifetime, in seconds.
    pub preferred: u32,
    /// The valid lifetime, in seconds (dnsmasq serves at least 120).
    pub valid: u32,
}

/// What a DHCPv6 server serves, and where its files go.
#[derive(Debug, Clone)]
pub struct ServerSetup6 {
    /// The interface it serves on.
    pub iface: String,
    /// Its global address there (the caller puts it on the interface), in 2001:db8::/32;
    /// the subnet served is its /64, and it is the DNS server handed out.
    pub address: Ipv6Addr,
    /// The first and last address of the pool, in the same /64.
    pub pool: (Ipv6Addr, Ipv6Addr),
    /// The lifetimes and timers.
    pub lifetimes: Lifetimes,
    /// The directory every file goes in.
    pub dir: PathBuf,
    /// The `dhcplab` binary, for the reference server.
    pub dhcplab: PathBuf,
}

impl ServerSetup6 {
    /// The /64 served: the address with its last 64 bits cleared.
    pub fn subnet(&self) -> Ipv6Addr {
        let s = self.address.segments();
        Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0)
    }

    /// Checks the addresses keep to the lab's rules: all in 2001:db8::/32 (RFC 3849's
    /// documentation prefix), the pool in the server's /64; and the lifetimes are in order.
    fn check(&self) -> Result<(), AdapterError> {
        let Lifetimes {
            t1,
            t2,
            preferred,
            valid,
        } = self.lifetimes;
        if !(t1 <= t2 && t2 <= preferred && preferred <= valid) {
            return Err(AdapterError::Lifetimes {
                t1,
                t2,
                preferred,
                valid,
            });
        }
        let documentation = |a: &Ipv6Addr| a.segments()[..2] == [0x2001, 0x0db8];
        let same_64 = |a: &Ipv6Addr| a.segments()[..4] == self.address.segments()[..4];
        for a in [self.address, self.pool.0, self.pool.1] {
            if !documentation(&a) || !same_64(&a) {
                return Err(AdapterError::Outside6(a));
            }
        }
        Ok(())
    }
}

impl Server {
    /// The program it runs for DHCPv6: the reference server is `dhcplab server` with a
    /// `Dhcp6` configuration.
    pub fn program6(self) -> &'static str {
        match self {
            Server::Reference => "dhcplab",
            Server::Kea => "kea-dhcp6",
            Server::Dhcpd => "dhcpd",
            Server::Dnsmasq => "dnsmasq",
        }
    }

    /// Writes the DHCPv6 server's configuration (and empty lease file) under `setup.dir` and
    /// returns the command that runs it in the foreground in the host's namespace. Router
    /// advertisements are never sent (dnsmasq's `enable-ra` is off), so clients take their
    /// address from DHCPv6 alone.
    pub fn command6(
        self,
        setup: &ServerSetup6,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        setup.check()?;
        let d = &setup.dir;
        let (a, net, (first, last)) = (setup.address, setup.subnet(), setup.pool);
        let Lifetimes {
            t1,
            t2,
            preferred,
            valid,
        } = setup.lifetimes;
        Ok(match self {
            Server::Reference | Server::Kea => {
                let config = serde_json::json!({ "Dhcp6": {
                    "preferred-lifetime": preferred, "valid-lifetime": valid,
                    "renew-timer": t1, "rebind-timer": t2,
                    "subnet6": [ { "id": 1, "subnet": format!("{net}/64"),
                        "interface": setup.iface,
                        "pools": [ { "pool": format!("{first} - {last}") } ],
                        "option-data": [ { "name": "dns-servers", "data": a.to_string() } ] } ]
                } });
                self.kea_command6(config, &setup.iface, d, &setup.dhcplab, in_ns)?
            }
            Server::Dhcpd => {
                // dhcpd 4.4 takes T1 and T2 for DHCPv6 from the DHCPv4 options
                // dhcp-renewal-time and dhcp-rebinding-time (server/dhcpv6.c,
                // set_reply_tee_times); without them it sends T1 = T2 = 0.
                let config = format!(
                    "ddns-update-style none;\n\
                     default-lease-time {valid}; max-lease-time {valid};\n\
                     preferred-lifetime {preferred};\n\
                     option dhcp-renewal-time {t1};\noption dhcp-rebinding-time {t2};\n\
                     subnet6 {net}/64 {{\n  range6 {first} {last};\n  \
                     option dhcp6.name-servers {a};\n}}\n"
                );
                dhcpd("-6", &config, d, &setup.iface, in_ns)?
            }
            Server::Dnsmasq => {
                // dnsmasq sets T1 and T2 itself (half and 7/8 of the lease), and serves
                // leases of 2 minutes at least.
                let config = format!(
                    "port=0\nno-resolv\nno-hosts\ninterface={}\nbind-interfaces\n\
                     dhcp-authoritative\nlog-dhcp\nlog-facility=-\n\
                     dhcp-leasefile={}\npid-file={}\n\
                     dhcp-range={first},{last},64,{}\n\
                     dhcp-option=option6:dns-server,[{a}]\n",
                    setup.iface,
                    d.join("dnsmasq.leases").display(),
                    d.join("dnsmasq.pid").display(),
                    valid.max(120)
                );
                write(&d.join("dnsmasq.conf"), &config)?;
                // -d: foreground and root (-k would drop to nobody, who cannot write here).
                let mut c = in_ns("dnsmasq");
                c.arg("-d").arg("-C").arg(d.join("dnsmasq.conf"));
                c
            }
        })
    }

    /// Writes the Kea configuration `config` (a `Dhcp6` map, as a scenario gives it) under
    /// `dir` ([`write_kea6_config`]) and returns the command that runs the reference server
    /// (`dhcplab server`, the binary `dhcplab`) or kea-dhcp6 on it in the foreground, serving
    /// `iface`; other servers do not read Kea's configuration.
    pub fn kea_command6(
        self,
        config: serde_json::Value,
        iface: &str,
        dir: &Path,
        dhcplab: &Path,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        let mut c = match self {
            Server::Reference => {
                let mut c = in_ns(&crate::arg(dhcplab));
                c.arg("server");
                c
            }
            Server::Kea => {
                let mut c = in_ns("kea-dhcp6");
                c.env("KEA_PIDFILE_DIR", dir).env("KEA_LOCKFILE_DIR", dir);
                c
            }
            Server::Dhcpd | Server::Dnsmasq => return Err(AdapterError::NotKea(self.program6())),
        };
        c.arg("-c").arg(write_kea6_config(config, iface, dir)?);
        Ok(c)
    }

    /// True when the DHCPv6 server started with [`Server::command6`] in `dir` answers: it
    /// listens on UDP port 547 in the host's namespace and, for kea-dhcp6, has logged
    /// DHCP6_STARTED after `mark` ([`Server::log_mark`]).
    pub fn ready6(self, dir: &Path, mark: u64, in_ns: InNamespace<'_>) -> bool {
        listening(SERVER_PORT, in_ns)
            && (self != Server::Kea || logged_since(dir, mark, b"DHCP6_STARTED"))
    }
}

/// Writes the Kea configuration `config` (a `Dhcp6` map) for kea-dhcp6 under `dir`, its files
/// moved there: the server DUID file (`data-directory`), memfile lease file `leases6.csv`
/// with no cleanup, log `server.log`, control socket `server.sock`; serving `iface`, to which
/// the subnets and shared networks naming an interface are tied. The file's path.
pub fn write_kea6_config(
    mut config: serde_json::Value,
    iface: &str,
    dir: &Path,
) -> Result<PathBuf, AdapterError> {
    let Some(d6) = config.get_mut("Dhcp6").filter(|d| d.is_object()) else {
        return Err(AdapterError::NoDhcp6);
    };
    d6["interfaces-config"] = serde_json::json!({ "interfaces": [ iface ] });
    tie_to(iface, "subnet6", d6);
    d6["data-directory"] = serde_json::json!(dir);
    d6["lease-database"] = serde_json::json!({ "type": "memfile", "persist": true,
        "name": dir.join("leases6.csv"), "lfc-interval": 0 });
    d6["loggers"] = serde_json::json!([ { "name": "kea-dhcp6", "severity": "DEBUG",
        "output_options": [ { "output": dir.join("server.log") } ] } ]);
    let socket = crate::socket_path(Server::Kea.control_socket(dir))?;
    d6["control-socket"] = serde_json::json!({ "socket-type": "unix", "socket-name": socket });
    let path = dir.join("dhcp6.json");
    write(&path, config.to_string())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(dir: &Path) -> ServerSetup6 {
        ServerSetup6 {
            iface: "dlt0".into(),
            address: "2001:db8:1::1".parse().expect("address"),
            pool: (
                "2001:db8:1::100".parse().expect("address"),
                "2001:db8:1::1ff".parse().expect("address"),
            ),
            lifetimes: Lifetimes {
                t1: 10,
                t2: 16,
                preferred: 20,
                valid: 30,
            },
            dir: dir.to_path_buf(),
            dhcplab: PathBuf::from("/usr/bin/dhcplab"),
        }
    }

    #[test]
    fn kea_dhcp6_serves_the_subnet_on_the_interface_with_every_file_in_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let in_ns = |p: &str| Command::new(p);
        let c = Server::Kea.command6(&setup(d), &in_ns).expect("command");
        assert_eq!(c.get_program(), "kea-dhcp6");
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("dhcp6.json")).expect("read"))
                .expect("json");
        let d6 = &written["Dhcp6"];
        assert_eq!(d6["interfaces-config"]["interfaces"][0], "dlt0");
        assert_eq!(d6["subnet6"][0]["interface"], "dlt0");
        assert_eq!(d6["subnet6"][0]["subnet"], "2001:db8:1::/64");
        assert_eq!(
            d6["subnet6"][0]["pools"][0]["pool"],
            "2001:db8:1::100 - 2001:db8:1::1ff"
        );
        assert_eq!(
            (
                &d6["renew-timer"],
                &d6["rebind-timer"],
                &d6["preferred-lifetime"],
                &d6["valid-lifetime"]
            ),
            (
                &serde_json::json!(10),
                &serde_json::json!(16),
                &serde_json::json!(20),
                &serde_json::json!(30)
            )
        );
        // Kea keeps its server DUID in data-directory: /var/lib/kea unless told otherwise.
        assert_eq!(d6["data-directory"], serde_json::json!(d));
        for key in [
            "/lease-database/name",
            "/control-socket/socket-name",
            "/loggers/0/output_options/0/output",
        ] {
            let p = PathBuf::from(d6.pointer(key).and_then(|v| v.as_str()).unwrap_or(""));
            assert!(p.starts_with(d), "{key}: {}", p.display());
        }
        assert!(matches!(
            write_kea6_config(serde_json::json!({"Dhcp4": {}}), "x", d),
            Err(AdapterError::NoDhcp6)
        ));
    }

    #[test]
    fn dhcpd_and_dnsmasq_serve_the_pool_with_their_own_lease_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let in_ns = |p: &str| Command::new(p);
        let c = Server::Dhcpd.command6(&setup(d), &in_ns).expect("command");
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args[0], "-6");
        assert_eq!(args.last().map(String::as_str), Some("dlt0"));
        let conf = std::fs::read_to_string(d.join("dhcpd6.conf")).expect("conf");
        assert!(conf.contains("subnet6 2001:db8:1::/64"), "{conf}");
        assert!(
            conf.contains("range6 2001:db8:1::100 2001:db8:1::1ff;"),
            "{conf}"
        );
        assert!(conf.contains("option dhcp-renewal-time 10;"), "{conf}");
        assert!(conf.contains("preferred-lifetime 20;"), "{conf}");
        assert_eq!(
            std::fs::read_to_string(d.join("dhcpd6.leases")).expect("lease file"),
            ""
        );

        Server::Dnsmasq
            .command6(&setup(d), &in_ns)
            .expect("command");
        let conf = std::fs::read_to_string(d.join("dnsmasq.conf")).expect("conf");
        // dnsmasq's shortest lease is 2 minutes: 30 s is raised to 120.
        assert!(
            conf.contains("dhcp-range=2001:db8:1::100,2001:db8:1::1ff,64,120\n"),
            "{conf}"
        );
        assert!(!conf.contains("enable-ra"), "{conf}");
    }

    #[test]
    fn addresses_outside_the_documentation_prefix_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let in_ns = |p: &str| Command::new(p);
        let mut outside = setup(dir.path());
        outside.pool.1 = "2001:db9::1ff".parse().expect("address");
        let e = Server::Kea
            .command6(&outside, &in_ns)
            .expect_err("outside 2001:db8::/32");
        assert!(e.to_string().contains("2001:db9::1ff"), "{e}");
        let mut other_64 = setup(dir.path());
        other_64.pool.0 = "2001:db8:2::100".parse().expect("address");
        assert!(Server::Dnsmasq.command6(&other_64, &in_ns).is_err());
        let mut backwards = setup(dir.path());
        backwards.lifetimes.t2 = 5;
        let e = Server::Dhcpd
            .command6(&backwards, &in_ns)
            .expect_err("T2 before T1");
        assert!(e.to_string().contains("T1 10 s, T2 5 s"), "{e}");
    }

    #[test]
    fn the_reference_server_runs_dhcplab_server_on_the_same_dhcp6_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let in_ns = |p: &str| Command::new(p);
        let c = Server::Reference
            .command6(&setup(d), &in_ns)
            .expect("command");
        assert_eq!(c.get_program(), "/usr/bin/dhcplab");
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(
            args,
            [
                std::ffi::OsStr::new("server"),
                std::ffi::OsStr::new("-c"),
                d.join("dhcp6.json").as_os_str()
            ]
        );
        assert!(d.join("dhcp6.json").is_file());
        assert_eq!(Server::Kea.program6(), "kea-dhcp6");
    }
}
