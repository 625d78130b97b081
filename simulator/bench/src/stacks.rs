//! The servers `dhcplab bench` measures, each configured alike for load: one large pool (the
//! RFC 2544 benchmarking range 198.18.0.0/15 in DHCPv4, 2^32 addresses of 2001:db8::/64 in
//! DHCPv6), hour-long leases, warnings-only logging, and its lease file on or off.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

/// The server's address on its TAP device (DHCPv4), the router it hands out.
pub const SERVER4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The server's global address (DHCPv6), in the /64 it serves.
pub const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// The server's link address (its TAP device's in TAP mode).
pub const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];
/// The generator's own link address (the DHCPv6 clients' source).
pub const GENERATOR_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x02];
/// Addresses in the DHCPv4 pool: 198.18.1.0 to 198.19.255.254.
pub const POOL4_SIZE: u32 = 130_815;

/// A server stack to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stack {
    /// The reference server, `dhcplab server`.
    Reference,
    /// kea-dhcp4 / kea-dhcp6 2.2, single-threaded (its default).
    Kea,
    /// kea-dhcp4 / kea-dhcp6 with multi-threading on, a thread per core.
    KeaMt,
    /// ISC dhcpd 4.4.
    Dhcpd,
    /// dnsmasq 2.90.
    Dnsmasq,
}

impl Stack {
    /// Every stack, in the order a comparison lists them.
    pub const ALL: [Stack; 5] = [
        Stack::Reference,
        Stack::Kea,
        Stack::KeaMt,
        Stack::Dhcpd,
        Stack::Dnsmasq,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Stack::Reference => "reference",
            Stack::Kea => "kea",
            Stack::KeaMt => "kea-mt",
            Stack::Dhcpd => "dhcpd",
            Stack::Dnsmasq => "dnsmasq",
        }
    }

    /// The stack a command-line name means.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The program it runs, which must be installed.
    pub fn program(self, v6: bool) -> &'static str {
        match (self, v6) {
            (Stack::Reference, _) => "dhcplab",
            (Stack::Kea | Stack::KeaMt, false) => "kea-dhcp4",
            (Stack::Kea | Stack::KeaMt, true) => "kea-dhcp6",
            (Stack::Dhcpd, _) => "dhcpd",
            (Stack::Dnsmasq, _) => "dnsmasq",
        }
    }
}

/// How a server is set up for a trial.
#[derive(Debug, Clone)]
pub struct Setup<'a> {
    /// Its TAP device's name.
    pub iface: &'a str,
    /// DHCPv6 instead of DHCPv4.
    pub v6: bool,
    /// Whether leases are written to its lease file.
    pub persist: bool,
    /// Its run directory.
    pub dir: &'a Path,
    /// The `dhcplab` binary, for the reference server.
    pub dhcplab: &'a Path,
    /// The DHCPv4 pool's first and last addresses when not the large one ([`POOL4`]): a
    /// small pool for a flood to exhaust.
    pub pool4: Option<(Ipv4Addr, Ipv4Addr)>,
}

/// The DHCPv4 pool every stack serves unless told otherwise: 198.18.1.0 to 198.19.255.254.
pub const POOL4: (Ipv4Addr, Ipv4Addr) = (
    Ipv4Addr::new(198, 18, 1, 0),
    Ipv4Addr::new(198, 19, 255, 254),
);

impl Setup<'_> {
    /// The DHCPv4 pool's first and last addresses.
    fn pool4(&self) -> (Ipv4Addr, Ipv4Addr) {
        self.pool4.unwrap_or(POOL4)
    }
}

/// Writes `text` to `dir/name`.
fn write(dir: &Path, name: &str, text: &str) -> std::io::Result<std::path::PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The Kea configuration both the reference server and kea-dhcp4/6 get.
pub fn kea_config(stack: Stack, s: &Setup<'_>) -> serde_json::Value {
    let d = s.dir.display();
    let mut config = if s.v6 {
        serde_json::json!({ "Dhcp6": {
            "interfaces-config": { "interfaces": [ s.iface ] },
            "data-directory": d.to_string(),
            "lease-database": { "type": "memfile", "persist": s.persist,
                "name": format!("{d}/leases6.csv"), "lfc-interval": 0 },
            "preferred-lifetime": 3000, "valid-lifetime": 4000,
            "renew-timer": 1000, "rebind-timer": 2000,
            "subnet6": [ { "id": 1, "subnet": "2001:db8::/64", "interface": s.iface,
                "pools": [ { "pool": "2001:db8::1:0:0 - 2001:db8::1:ffff:ffff" } ],
                "option-data": [ { "name": "dns-servers", "data": SERVER6.to_string() } ] } ],
            "loggers": [ { "name": "kea-dhcp6", "severity": "WARN",
                "output_options": [ { "output": format!("{d}/server.log") } ] } ]
        } })
    } else {
        serde_json::json!({ "Dhcp4": {
            // Bound to the one address: Kea answers once per address it has there.
            "interfaces-config": { "interfaces": [ format!("{}/{SERVER4}", s.iface) ],
                "dhcp-socket-type": "raw" },
            "lease-database": { "type": "memfile", "persist": s.persist,
                "name": format!("{d}/leases4.csv"), "lfc-interval": 0 },
            "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
            "subnet4": [ { "id": 1, "subnet": "198.18.0.0/15",
                "pools": [ { "pool": format!("{} - {}", s.pool4().0, s.pool4().1) } ],
                "option-data": [ { "name": "routers", "data": SERVER4.to_string() } ] } ],
            "loggers": [ { "name": "kea-dhcp4", "severity": "WARN",
                "output_options": [ { "output": format!("{d}/server.log") } ] } ]
        } })
    };
    if stack == Stack::KeaMt {
        let key = if s.v6 { "Dhcp6" } else { "Dhcp4" };
        config[key]["multi-threading"] = serde_json::json!({
            "enable-multi-threading": true, "thread-pool-size": 0, "packet-queue-size": 64 });
    }
    config
}

/// Writes the stack's configuration under the run directory and returns its command line
/// (program and arguments, to run in the server's namespace in the foreground).
pub fn command(stack: Stack, s: &Setup<'_>) -> std::io::Result<Command> {
    let d = s.dir;
    Ok(match stack {
        Stack::Reference | Stack::Kea | Stack::KeaMt => {
            let path = write(d, "config.json", &kea_config(stack, s).to_string())?;
            let mut c = if stack == Stack::Reference {
                let mut c = Command::new(s.dhcplab);
                c.arg("server");
                c
            } else {
                let mut c = Command::new(stack.program(s.v6));
                c.env("KEA_PIDFILE_DIR", d).env("KEA_LOCKFILE_DIR", d);
                c
            };
            c.arg("-c").arg(path);
            c
        }
        Stack::Dhcpd => {
            let (conf, family) = if s.v6 {
                (
                    "ddns-update-style none;\ndhcp-cache-threshold 0;\n\
                     default-lease-time 4000; max-lease-time 4000;\n\
                     preferred-lifetime 3000;\n\
                     option dhcp-renewal-time 1000;\noption dhcp-rebinding-time 2000;\n\
                     subnet6 2001:db8::/64 {\n  range6 2001:db8::1:0:0 2001:db8::1:ffff:ffff;\n}\n"
                        .to_string(),
                    "-6",
                )
            } else {
                (
                    format!(
                        "authoritative;\nddns-update-style none;\nping-check false;\n\
                         default-lease-time 3600; max-lease-time 3600;\n\
                         subnet 198.18.0.0 netmask 255.254.0.0 {{\n  \
                         range {} {};\n  option routers {SERVER4};\n}}\n",
                        s.pool4().0,
                        s.pool4().1
                    ),
                    "-4",
                )
            };
            let conf = write(d, "dhcpd.conf", &conf)?;
            // ping-check false: by default dhcpd pings every address before it offers it and
            // waits a second for an echo (as dnsmasq's no-ping, Kea never pings).
            // dhcpd has no way to keep leases in memory only: its file is always written.
            let leases = write(d, "dhcpd.leases", "")?;
            let mut c = Command::new("dhcpd");
            c.args([family, "-f", "-d", "-cf"])
                .arg(conf)
                .arg("-lf")
                .arg(leases)
                .arg("-pf")
                .arg(d.join("dhcpd.pid"))
                .arg(s.iface);
            c
        }
        Stack::Dnsmasq => {
            let range = if s.v6 {
                "dhcp-range=2001:db8::1:0:0,2001:db8::1:ffff:ffff,64,4000".to_string()
            } else {
                format!(
                    "dhcp-range={},{},255.254.0.0,3600",
                    s.pool4().0,
                    s.pool4().1
                )
            };
            let leases = if s.persist {
                format!("dhcp-leasefile={}", d.join("dnsmasq.leases").display())
            } else {
                "leasefile-ro".to_string()
            };
            let conf = format!(
                "port=0\nno-resolv\nno-hosts\ninterface={}\nbind-interfaces\n\
                 dhcp-authoritative\nno-ping\nquiet-dhcp\nquiet-dhcp6\n{leases}\n\
                 pid-file={}\n{range}\ndhcp-lease-max=2000000\n",
                s.iface,
                d.join("dnsmasq.pid").display(),
            );
            let conf = write(d, "dnsmasq.conf", &conf)?;
            // -d: foreground and root (-k would drop to nobody, who cannot write here).
            let mut c = Command::new("dnsmasq");
            c.arg("-d").arg("-C").arg(conf);
            c
        }
    })
}
