//! DHCPv4 servers on the server side of a [`Pair`], for client daemon tests: the reference
//! server, kea-dhcp4, ISC dhcpd and dnsmasq, each with every file in the pair's directory,
//! serving 192.0.2.100-200 on `v-srv` with router and DNS server 192.0.2.1, started the way
//! ../shared/realstacks.md records, and ready when they listen on port 67.

use crate::netns::{Pair, Process, SERVER_ADDRESS, have, wait_for};
use std::path::Path;
use std::time::Duration;

/// A DHCPv4 server a client test can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// `dhcplab server`.
    Reference,
    /// kea-dhcp4 2.2.
    Kea,
    /// ISC dhcpd 4.4.
    Dhcpd,
    /// dnsmasq 2.90.
    Dnsmasq,
}

impl Server {
    /// The program the server needs.
    pub fn program(self) -> &'static str {
        match self {
            Server::Reference => "dhcplab",
            Server::Kea => "kea-dhcp4",
            Server::Dhcpd => "dhcpd",
            Server::Dnsmasq => "dnsmasq",
        }
    }

    /// True when the server can run here (see [`have`]); the reference server always can.
    pub fn available(self) -> bool {
        self == Server::Reference || have(self.program())
    }

    /// Starts the server in `pair`'s server namespace with leases of `lease` seconds (at
    /// least two minutes for dnsmasq, whose shortest lease that is); `dhcplab` is the
    /// binary under test. Its output goes to `server.out` in the pair's directory.
    ///
    /// # Panics
    /// When it does not start listening within 10 s; the message holds its output.
    pub fn start(self, pair: &Pair, dhcplab: &Path, lease: u32) -> Process {
        let d = &pair.dir;
        let range = ("192.0.2.100", "192.0.2.200");
        let command = match self {
            Server::Reference | Server::Kea => {
                let mut config = serde_json::json!({ "Dhcp4": {
                    "interfaces-config": { "interfaces": [ "v-srv" ], "dhcp-socket-type": "raw" },
                    "lease-database": { "type": "memfile", "name": d.join("leases4.csv"), "lfc-interval": 0 },
                    "valid-lifetime": lease,
                    "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24",
                        "pools": [ { "pool": format!("{} - {}", range.0, range.1) } ],
                        "option-data": [ { "name": "routers", "data": SERVER_ADDRESS },
                                         { "name": "domain-name-servers", "data": SERVER_ADDRESS } ] } ],
                    "loggers": [ { "name": "kea-dhcp4", "severity": "DEBUG",
                        "output_options": [ { "output": d.join("server.log") } ] } ]
                } });
                let path = d.join("dhcp4.json");
                if self == Server::Reference {
                    config["Dhcp4"]["control-socket"] = serde_json::json!(
                        { "socket-type": "unix", "socket-name": d.join("server.sock") });
                }
                std::fs::write(&path, config.to_string()).expect("write server configuration");
                let mut c = if self == Server::Reference {
                    let mut c = pair.server.command(&dhcplab.to_string_lossy());
                    c.arg("server");
                    c
                } else {
                    let mut c = pair.server.command("kea-dhcp4");
                    c.env("KEA_PIDFILE_DIR", d).env("KEA_LOCKFILE_DIR", d);
                    c
                };
                c.arg("-c").arg(&path);
                c
            }
            Server::Dhcpd => {
                let config = format!(
                    "authoritative;\nddns-update-style none;\n\
                     default-lease-time {lease}; max-lease-time {lease};\n\
                     subnet 192.0.2.0 netmask 255.255.255.0 {{\n  range {} {};\n  \
                     option routers {SERVER_ADDRESS};\n  option domain-name-servers {SERVER_ADDRESS};\n}}\n",
                    range.0, range.1
                );
                std::fs::write(d.join("dhcpd.conf"), config).expect("write dhcpd.conf");
                std::fs::write(d.join("dhcpd.leases"), "").expect("create dhcpd.leases");
                let mut c = pair.server.command("dhcpd");
                c.args(["-4", "-f", "-d", "-cf"])
                    .arg(d.join("dhcpd.conf"))
                    .arg("-lf")
                    .arg(d.join("dhcpd.leases"))
                    .arg("-pf")
                    .arg(d.join("dhcpd.pid"))
                    .arg("v-srv");
                c
            }
            Server::Dnsmasq => {
                let config = format!(
                    "port=0\nno-resolv\nno-hosts\ninterface=v-srv\nbind-interfaces\n\
                     dhcp-authoritative\nno-ping\nlog-dhcp\nlog-facility=-\n\
                     dhcp-leasefile={}\npid-file={}\n\
                     dhcp-range={},{},255.255.255.0,{}\n\
                     dhcp-option=option:router,{SERVER_ADDRESS}\n\
                     dhcp-option=option:dns-server,{SERVER_ADDRESS}\n",
                    d.join("dnsmasq.leases").display(),
                    d.join("dnsmasq.pid").display(),
                    range.0,
                    range.1,
                    lease.max(120)
                );
                std::fs::write(d.join("dnsmasq.conf"), config).expect("write dnsmasq.conf");
                // -d: foreground and root (-k would drop to nobody, who cannot write here).
                let mut c = pair.server.command("dnsmasq");
                c.arg("-d").arg("-C").arg(d.join("dnsmasq.conf"));
                c
            }
        };
        let out = d.join("server.out");
        let mut process = Process::start(command, self.program(), &out);
        let listening = wait_for(Duration::from_secs(10), || {
            !process.running() || listens_on_67(pair)
        });
        assert!(
            listening && process.running(),
            "{} did not start:\n{}\n{}",
            self.program(),
            std::fs::read_to_string(&out).unwrap_or_default(),
            std::fs::read_to_string(d.join("server.log")).unwrap_or_default()
        );
        process
    }
}

fn listens_on_67(pair: &Pair) -> bool {
    pair.server
        .command("ss")
        .args(["-Hlun", "sport = :67"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty())
}
