//! Real DHCPv4 clients (ISC dhclient, busybox udhcpc, dhcpcd) started in a namespace with every
//! file in the test's directory and a hook script that logs each event, as
//! ../shared/realstacks.md describes them on Debian 12.

use crate::netns::{Netns, Process};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// A client program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealClient {
    /// ISC dhclient 4.4.
    Dhclient,
    /// busybox udhcpc.
    Udhcpc,
    /// dhcpcd 9.
    Dhcpcd,
}

/// The hook every client runs: it appends its event and environment to `hook.log` beside
/// itself and configures the address as the client asks (dhcpcd configures it itself).
const HOOK: &str = r#"#!/bin/sh
out="$(dirname "$0")/hook.log"
ev="${reason:-$1}"
{ echo "=== event=$ev"; env | sort; } >> "$out" 2>&1
[ -n "${protocol:-}" ] && exit 0
case "$ev" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  EXPIRE|FAIL|RELEASE|STOP) [ -n "${old_ip_address:-}" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
  bound|renew) ip addr replace "$ip/$subnet" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"#;

impl RealClient {
    /// Every client, in a fixed order.
    pub const ALL: [RealClient; 3] = [RealClient::Dhclient, RealClient::Udhcpc, RealClient::Dhcpcd];

    /// The program's name.
    pub fn program(self) -> &'static str {
        match self {
            RealClient::Dhclient => "dhclient",
            RealClient::Udhcpc => "udhcpc",
            RealClient::Dhcpcd => "dhcpcd",
        }
    }

    /// Starts the client on `iface` in `ns`, its files under `dir`.
    ///
    /// # Panics
    /// When the hook or configuration cannot be written or the client cannot start.
    pub fn start(self, ns: &Netns, dir: &Path, iface: &str) -> Process {
        std::fs::create_dir_all(dir).expect("client directory");
        let hook = dir.join("hook.sh");
        std::fs::write(&hook, HOOK).expect("hook");
        std::process::Command::new("chmod")
            .args(["+x", &path(&hook)])
            .status()
            .expect("chmod");
        let log = dir.join("client.out");
        match self {
            RealClient::Dhclient => {
                let conf = dir.join("dhclient.conf");
                std::fs::write(&conf, "request subnet-mask, broadcast-address, routers, domain-name-servers;\ntimeout 20;\n")
                    .expect("dhclient.conf");
                let mut c = ns.command("dhclient");
                c.args(["-4", "-d", "-1", "-v", "-cf", &path(&conf), "-lf"])
                    .arg(dir.join("dhclient.leases"))
                    .arg("-pf")
                    .arg(dir.join("dhclient.pid"))
                    .arg("-sf")
                    .arg(&hook)
                    .arg(iface);
                Process::start(c, "dhclient", &log)
            }
            RealClient::Udhcpc => {
                let mut c = ns.command("udhcpc");
                c.args(["-f", "-n", "-R", "-t", "5", "-T", "2", "-i", iface, "-s"])
                    .arg(&hook)
                    .arg("-p")
                    .arg(dir.join("udhcpc.pid"));
                Process::start(c, "udhcpc", &log)
            }
            RealClient::Dhcpcd => {
                let conf = dir.join("dhcpcd.conf");
                std::fs::write(
                    &conf,
                    "option subnet_mask, routers, domain_name_servers\nnoipv4ll\nnoarp\n",
                )
                .expect("dhcpcd.conf");
                let run = dir.join("root/run");
                let lib = dir.join("root/lib");
                std::fs::create_dir_all(&run).expect("run dir");
                std::fs::create_dir_all(&lib).expect("lib dir");
                // dhcpcd has fixed /run/dhcpcd and /var/lib/dhcpcd: private directories are
                // bound over them in the mount namespace `ip netns exec` makes.
                let script = format!(
                    "mount --bind {} /run && mount --bind {} /var/lib/dhcpcd && exec dhcpcd -B -4 -d -t 20 -f {} -c {} {iface}",
                    path(&run),
                    path(&lib),
                    path(&conf),
                    path(&hook)
                );
                let mut c = ns.command("sh");
                c.args(["-c", &script]);
                Process::start(c, "dhcpcd", &log)
            }
        }
    }

    /// Asks the running client to release its lease and stop: `dhclient -r`, SIGTERM to
    /// udhcpc (started with -R), `dhcpcd -k` to dhcpcd.
    pub fn release(self, process: &mut Process, ns: &Netns, dir: &Path, iface: &str) {
        match self {
            RealClient::Dhclient => {
                let _ = ns
                    .command("dhclient")
                    .args(["-4", "-r", "-v", "-cf"])
                    .arg(dir.join("dhclient.conf"))
                    .arg("-lf")
                    .arg(dir.join("dhclient.leases"))
                    .arg("-pf")
                    .arg(dir.join("dhclient.pid"))
                    .arg("-sf")
                    .arg(dir.join("hook.sh"))
                    .arg(iface)
                    .output();
            }
            RealClient::Udhcpc => process.signal("TERM"),
            RealClient::Dhcpcd => {
                // Through the control socket (`dhcpcd -k`), in a mount namespace with the same
                // private directories: dhcpcd 9.4.1 under load now and then never acts on a
                // SIGALRM to its manager (seen in CI: no "received SIGALRM" and renewals go on).
                let script = format!(
                    "mount --bind {} /run && mount --bind {} /var/lib/dhcpcd && exec dhcpcd -4 -k -f {} {iface}",
                    path(&dir.join("root/run")),
                    path(&dir.join("root/lib")),
                    path(&dir.join("dhcpcd.conf")),
                );
                let _ = ns.command("sh").args(["-c", &script]).output();
            }
        }
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The events the hook logged, in order, each with its environment.
pub fn events(dir: &Path) -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(dir.join("hook.log")).unwrap_or_default();
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        if let Some(ev) = line.strip_prefix("=== event=") {
            out.push((ev.to_string(), Vec::new()));
        } else if let (Some(last), Some((k, v))) = (out.last_mut(), line.split_once('=')) {
            last.1.push((k.to_string(), v.to_string()));
        }
    }
    out
}

/// The address of the last bound or renewed lease the hook saw.
pub fn bound_address(dir: &Path) -> Option<Ipv4Addr> {
    events(dir)
        .iter()
        .rev()
        .filter(|(ev, _)| {
            matches!(
                ev.as_str(),
                "BOUND" | "RENEW" | "REBOOT" | "REBIND" | "bound" | "renew"
            )
        })
        .find_map(|(_, env)| {
            env.iter()
                .find(|(k, _)| k == "new_ip_address" || k == "ip")
                .and_then(|(_, v)| v.parse().ok())
        })
}

/// The directory a client's files go in under a test's directory.
pub fn client_dir(test_dir: &Path, client: RealClient) -> PathBuf {
    test_dir.join(client.program())
}
