//! Real DHCPv4 clients (ISC dhclient, busybox udhcpc, dhcpcd), each with a hook script that
//! logs every event with its environment to `hook.log` in the client's directory, and
//! configures the address as the client asks (dhcpcd configures it itself).

use crate::{AdapterError, InNamespace, arg, executable, make_dir, write};
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

/// The hook every client runs, DHCPv4 and DHCPv6 (dhclient -6 reasons end in 6, and give
/// `new_ip6_address`; dhcpcd sets `protocol` and configures the interface itself).
pub(crate) const HOOK: &str = r#"#!/bin/sh
out="$(dirname "$0")/hook.log"
ev="${reason:-$1}"
# An event ends with its own line: a reader takes only whole events.
msg="$(echo "=== event=$ev"; echo "dhcplab_at=$(date +%s.%N)"; env | sort; echo "=== end")"
printf '%s\n' "$msg" >> "$out"
[ -n "${protocol:-}" ] && exit 0
case "$ev" in
  BOUND|RENEW|REBIND|REBOOT|TIMEOUT) ip addr replace "$new_ip_address${new_subnet_mask:+/$new_subnet_mask}" dev "$interface"
    # No subnet mask: a lone address, and the server reached on the link (to renew).
    [ -z "${new_subnet_mask:-}" ] && [ -n "${new_dhcp_server_identifier:-}" ] && ip route replace "$new_dhcp_server_identifier" dev "$interface"
    ;;
  EXPIRE|FAIL|RELEASE|STOP) [ -n "${old_ip_address:-}" ] && ip addr del "$old_ip_address${old_subnet_mask:+/$old_subnet_mask}" dev "$interface" ;;
  BOUND6|RENEW6|REBIND6|REBOOT6) ip -6 addr replace "$new_ip6_address/${new_ip6_prefixlen:-128}" dev "$interface" nodad ;;
  EXPIRE6|RELEASE6|STOP6) [ -n "${old_ip6_address:-}" ] && ip -6 addr del "$old_ip6_address/${old_ip6_prefixlen:-128}" dev "$interface" ;;
  bound|renew) ip addr replace "$ip${subnet:+/$subnet}" dev "$interface"
    [ -z "${subnet:-}" ] && [ -n "${serverid:-}" ] && ip route replace "$serverid" dev "$interface"
    ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"#;

/// The event program of the reference client (`dhcplab agent`), run as `PROGRAM IF EVENT`
/// (BOUND, EXTEND, ..., and for DHCPv6 BOUND6, EXTEND6, ...): it logs the event and the
/// addresses the agent put on the interface, as the real clients' hooks name them: `ip` (as
/// udhcpc's) for the IPv4 one, `new_ip6_address` (as dhclient -6's) for the global IPv6 one.
pub(crate) const REFERENCE_HOOK: &str = r#"#!/bin/sh
out="$(dirname "$0")/hook.log"
IF="$1"
first() { fam="$1"; shift; ip "$fam" -o addr show dev "$IF" "$@" 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -n 1; }
printf '=== event=%s\ndhcplab_at=%s\ninterface=%s\nip=%s\nnew_ip6_address=%s\n=== end\n' "$2" "$(date +%s.%N)" "$1" "$(first -4)" "$(first -6 scope global)" >> "$out"
exit 0
"#;

/// Writes the reference client's files under `dir` and returns the command that runs
/// `dhcplab agent` (the binary `dhcplab`) in the foreground on `iface`; SIGTERM releases the
/// lease when `release_on_sigterm`, else drops it (dhcpagent's RELEASE_ON_SIGTERM).
pub fn reference_command(
    dhcplab: &Path,
    dir: &Path,
    iface: &str,
    release_on_sigterm: bool,
    in_ns: InNamespace<'_>,
) -> Result<Command, AdapterError> {
    reference_agent(
        dhcplab,
        dir,
        REFERENCE_HOOK,
        &format!("RELEASE_ON_SIGTERM={}\n", yes_no(release_on_sigterm)),
        &[iface],
        in_ns,
    )
}

/// dhcpagent's word for a flag.
pub(crate) fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// Writes the reference client's event program `hook` and defaults file `defaults` under
/// `dir` and returns the command that runs `dhcplab agent` in the foreground with its state
/// and control socket there, on `interfaces` (`IF` for DHCPv4, `-6 IF` for DHCPv6).
pub(crate) fn reference_agent(
    dhcplab: &Path,
    dir: &Path,
    hook: &str,
    defaults: &str,
    interfaces: &[&str],
    in_ns: InNamespace<'_>,
) -> Result<Command, AdapterError> {
    make_dir(dir)?;
    let socket = crate::socket_path(dir.join("agent.sock"))?;
    let program = dir.join("hook.sh");
    write(&program, hook)?;
    executable(&program)?;
    write(&dir.join("dhcpagent"), defaults)?;
    let mut c = in_ns(&arg(dhcplab));
    c.args(["agent", "-f", "-v", "--defaults"])
        .arg(dir.join("dhcpagent"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .arg("--event-program")
        .arg(&program)
        .arg("--control")
        .arg(socket)
        .args(interfaces);
    Ok(c)
}

/// A client stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// The reference client (`dhcplab agent`).
    Reference,
    /// A real client.
    Real(RealClient),
}

impl Client {
    /// Every client, the reference first.
    pub const ALL: [Client; 4] = [
        Client::Reference,
        Client::Real(RealClient::Dhclient),
        Client::Real(RealClient::Udhcpc),
        Client::Real(RealClient::Dhcpcd),
    ];

    /// Its name in `dhcplab stacks`.
    pub fn name(self) -> &'static str {
        match self {
            Client::Reference => "reference",
            Client::Real(r) => r.program(),
        }
    }
}

/// How long a real client keeps trying to get a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// It tries for 20 s and exits if no server answers (dhclient -1, udhcpc -n, dhcpcd -t
    /// 20): one lease for the matrix and the daemon tests.
    Once,
    /// It keeps trying, as a system's network manager runs it: the client's own default
    /// timeouts and retries (dhclient: 60 s a try, then 5 min), never giving up.
    Daemon,
}

/// A real DHCPv4 client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealClient {
    /// ISC dhclient 4.4.
    Dhclient,
    /// busybox udhcpc.
    Udhcpc,
    /// dhcpcd 9.
    Dhcpcd,
}

impl RealClient {
    /// Every client, in a fixed order.
    pub const ALL: [RealClient; 3] = [RealClient::Dhclient, RealClient::Udhcpc, RealClient::Dhcpcd];

    /// The program's name (also its name in `dhcplab stacks`).
    pub fn program(self) -> &'static str {
        match self {
            RealClient::Dhclient => "dhclient",
            RealClient::Udhcpc => "udhcpc",
            RealClient::Dhcpcd => "dhcpcd",
        }
    }

    /// The dhcpagent event a hook reason of this client stands for, so scenarios written with
    /// dhcpagent's names (BOUND, EXTEND, EXPIRE, DROP, RELEASE) read the same on every client;
    /// `None` for the reasons dhcpagent has no event for (PREINIT, carrier changes, ...).
    /// A lease got anew, or a saved one confirmed when the client starts (REBOOT), is BOUND, as
    /// the reference agent reports them; a renewed or rebound one is EXTEND. DHCPv6 reasons
    /// read the same way as dhcpagent's v6 events (BOUND6, EXTEND6, EXPIRE6, RELEASE6).
    pub fn agent_event(self, reason: &str) -> Option<&'static str> {
        Some(match (self, reason) {
            (RealClient::Dhclient | RealClient::Dhcpcd, "BOUND" | "REBOOT")
            | (RealClient::Udhcpc, "bound") => "BOUND",
            (RealClient::Dhclient | RealClient::Dhcpcd, "RENEW" | "REBIND")
            | (RealClient::Udhcpc, "renew") => "EXTEND",
            (RealClient::Dhclient | RealClient::Dhcpcd, "EXPIRE") => "EXPIRE",
            (RealClient::Dhclient | RealClient::Dhcpcd, "RELEASE") => "RELEASE",
            (RealClient::Dhcpcd, "NAK") | (RealClient::Udhcpc, "nak") => "DROP",
            // DHCPv6 (dhclient -6 and dhcpcd -6 name their reasons with a 6).
            (RealClient::Dhclient | RealClient::Dhcpcd, "BOUND6" | "REBOOT6") => "BOUND6",
            (RealClient::Dhclient | RealClient::Dhcpcd, "RENEW6" | "REBIND6") => "EXTEND6",
            (RealClient::Dhclient | RealClient::Dhcpcd, "EXPIRE6") => "EXPIRE6",
            (RealClient::Dhclient | RealClient::Dhcpcd, "RELEASE6") => "RELEASE6",
            _ => return None,
        })
    }

    /// The dhcpagent events of the events the hook logged (as [`events`] reads them), one for
    /// each: [`RealClient::agent_event`], but for a REBOOT that confirms the address the
    /// client already held (its last lease neither expired, released nor dropped since), as
    /// when the client is restarted on link up or resume: dhcpagent reports that re-validation
    /// as EXTEND, the address never having gone; and but for a NAK while the client holds no
    /// lease (requesting), which drops nothing and is no event.
    pub fn agent_events(self, logged: &[Logged]) -> Vec<Option<&'static str>> {
        let mut held: Option<String> = None;
        logged
            .iter()
            .map(|(reason, env)| {
                let address = logged_address(env)
                    .map(str::to_string)
                    .or_else(|| crate::clients6::logged_address6(env).map(|a| a.to_string()));
                let event = match self.agent_event(reason) {
                    Some("BOUND") if reason == "REBOOT" && address.is_some() && held == address => {
                        Some("EXTEND")
                    }
                    Some("BOUND6")
                        if reason == "REBOOT6" && address.is_some() && held == address =>
                    {
                        Some("EXTEND6")
                    }
                    // A NAK to a client that holds nothing (while requesting) drops nothing.
                    Some("DROP") if held.is_none() => None,
                    other => other,
                };
                match event {
                    Some("BOUND" | "EXTEND" | "BOUND6" | "EXTEND6") => held = address,
                    Some(_) => held = None,
                    None => {}
                }
                event
            })
            .collect()
    }

    /// Whether it acts on carrier and resume by itself. dhclient does neither: it ignores
    /// carrier, and after SIGCONT its timers catch up only seconds later (6 s in one run past
    /// a lease's end). A system restarts it on link up and on resume (ifplugd,
    /// NetworkManager's dhclient backend), and TAP mode does the same.
    pub fn restarted_on_wake(self) -> bool {
        self == RealClient::Dhclient
    }

    /// Writes the hook (and configuration) under `dir` and returns the command that runs the
    /// client in the foreground on `iface` in the host's namespace.
    pub fn command(
        self,
        dir: &Path,
        iface: &str,
        persistence: Persistence,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        let once = persistence == Persistence::Once;
        let hook = write_hook(dir)?;
        Ok(match self {
            RealClient::Dhclient => {
                let conf = dir.join("dhclient.conf");
                let timeout = if once { "timeout 20;\n" } else { "" };
                write(
                    &conf,
                    format!(
                        "request subnet-mask, broadcast-address, routers, domain-name-servers;\n{timeout}"
                    ),
                )?;
                let mut c = in_ns("dhclient");
                c.args(["-4", "-d", "-v"]);
                if once {
                    c.arg("-1");
                }
                c.arg("-cf")
                    .arg(&conf)
                    .arg("-lf")
                    .arg(dir.join("dhclient.leases"))
                    .arg("-pf")
                    .arg(dir.join("dhclient.pid"))
                    .arg("-sf")
                    .arg(&hook)
                    .arg(iface);
                c
            }
            RealClient::Udhcpc => {
                let mut c = in_ns("udhcpc");
                if once {
                    // Quick retries for one lease; a daemon keeps udhcpc's own (-t 3 -T 3).
                    c.args(["-n", "-t", "5", "-T", "2"]);
                }
                c.arg("-f").arg("-R");
                c.args(["-i", iface, "-s"])
                    .arg(&hook)
                    .arg("-p")
                    .arg(dir.join("udhcpc.pid"));
                c
            }
            RealClient::Dhcpcd => {
                let conf = dir.join("dhcpcd.conf");
                // No ARP probe: with it dhcpcd binds some 4 s after the ACK, past the bounds
                // of the scenarios and checks written for clients that bind at once; so it
                // never declines an address in use here (recorded where a check needs it).
                write(
                    &conf,
                    "option subnet_mask, routers, domain_name_servers\nnoipv4ll\nnoarp\n",
                )?;
                dhcpcd_dirs(dir)?;
                dhcpcd(
                    dir,
                    &format!(
                        "-B -4 -d -t {} -f {} -c {} {iface}",
                        if once { 20 } else { 0 },
                        arg(&conf),
                        arg(&hook)
                    ),
                    in_ns,
                )
            }
        })
    }

    /// The command that makes a running client release its lease and stop, where it takes
    /// one (`dhclient -r`, `dhcpcd -k`); `None` for udhcpc, which releases on SIGTERM
    /// (started with -R).
    pub fn release_command(
        self,
        dir: &Path,
        iface: &str,
        in_ns: InNamespace<'_>,
    ) -> Option<Command> {
        match self {
            RealClient::Dhclient => {
                let mut c = in_ns("dhclient");
                c.args(["-4", "-r", "-v", "-cf"])
                    .arg(dir.join("dhclient.conf"))
                    .arg("-lf")
                    .arg(dir.join("dhclient.leases"))
                    .arg("-pf")
                    .arg(dir.join("dhclient.pid"))
                    .arg("-sf")
                    .arg(dir.join("hook.sh"))
                    .arg(iface);
                Some(c)
            }
            RealClient::Udhcpc => None,
            RealClient::Dhcpcd => {
                // Through the control socket (`dhcpcd -k`), in a mount namespace with the same
                // private directories: dhcpcd 9.4.1 under load now and then never acts on a
                // SIGALRM to its manager (seen in CI: no "received SIGALRM" and renewals go on).
                Some(dhcpcd(
                    dir,
                    &format!("-4 -k -f {} {iface}", arg(&dir.join("dhcpcd.conf"))),
                    in_ns,
                ))
            }
        }
    }
}

/// Makes the client's `dir` and writes the hook ([`HOOK`]) there, executable; its path.
pub(crate) fn write_hook(dir: &Path) -> Result<std::path::PathBuf, AdapterError> {
    make_dir(dir)?;
    let hook = dir.join("hook.sh");
    write(&hook, HOOK)?;
    executable(&hook)?;
    Ok(hook)
}

/// Makes the private directories [`dhcpcd`] binds, under the client's `dir`.
pub(crate) fn dhcpcd_dirs(dir: &Path) -> Result<(), AdapterError> {
    make_dir(&dir.join(DHCPCD_RUN))?;
    make_dir(&dir.join(DHCPCD_LIB))
}

/// Where, under a client's directory, dhcpcd's /run and /var/lib/dhcpcd are.
const DHCPCD_RUN: &str = "root/run";
/// See [`DHCPCD_RUN`].
const DHCPCD_LIB: &str = "root/lib";

/// The command that runs `dhcpcd ARGS` in the host's namespace with the private directories
/// of the client's `dir` ([`dhcpcd_dirs`]) bound over the fixed /run and /var/lib/dhcpcd it
/// uses, in the mount namespace `ip netns exec` makes: DHCPv4 and DHCPv6 alike.
pub(crate) fn dhcpcd(dir: &Path, args: &str, in_ns: InNamespace<'_>) -> Command {
    let script = format!(
        "mount --bind {} /run && mount --bind {} /var/lib/dhcpcd && exec dhcpcd {args}",
        arg(&dir.join(DHCPCD_RUN)),
        arg(&dir.join(DHCPCD_LIB)),
    );
    let mut c = in_ns("sh");
    c.args(["-c", &script]);
    c
}

/// The file, in a client's directory, its hook logs each event to.
pub const HOOK_LOG: &str = "hook.log";

/// An event a client's hook logged: its reason and its environment.
pub type Logged = (String, Vec<(String, String)>);

/// The address an event gives the client (`new_ip_address`; udhcpc's `ip`), as logged.
fn logged_address(env: &[(String, String)]) -> Option<&str> {
    env.iter()
        .find(|(k, _)| k == "new_ip_address" || k == "ip")
        .map(|(_, v)| v.as_str())
}

/// When the hook ran for `logged` (`dhcplab_at`, which both hooks write), if it says.
pub fn logged_at(logged: &Logged) -> Option<std::time::SystemTime> {
    let text = &logged.1.iter().find(|(k, _)| k == "dhcplab_at")?.1;
    let (secs, nanos) = text.split_once('.').unwrap_or((text, "0"));
    let secs: u64 = secs.parse().ok()?;
    let nanos: u32 = format!("{nanos:0<9}").get(..9)?.parse().ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
}

/// The events the hook logged under `dir`, in order, each with its environment: only whole
/// ones (ended by their `=== end` line), so that an event being written is read later, whole.
pub fn events(dir: &Path) -> Vec<Logged> {
    let text = std::fs::read_to_string(dir.join(HOOK_LOG)).unwrap_or_default();
    let mut out: Vec<Logged> = Vec::new();
    let mut open: Option<Logged> = None;
    for line in text.lines() {
        if let Some(ev) = line.strip_prefix("=== event=") {
            open = Some((ev.to_string(), Vec::new()));
        } else if line == "=== end" {
            out.extend(open.take());
        } else if let (Some(event), Some((k, v))) = (open.as_mut(), line.split_once('=')) {
            event.1.push((k.to_string(), v.to_string()));
        }
    }
    out
}

/// The address of the last bound or renewed lease the hook saw under `dir`.
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
        .find_map(|(_, env)| logged_address(env).and_then(|a| a.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_logs_become_events_and_the_bound_address() {
        let dir = std::env::temp_dir().join(format!("dhcplab-adapters-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("hook.log"),
            "=== event=PREINIT\nreason=PREINIT\n=== end\n=== event=BOUND\ndhcplab_at=1796058590.25\nnew_ip_address=192.0.2.100\n=== end\n=== event=bound\nip=192.0.2.101\n=== end\n=== event=RENEW\nnew_ip",
        )
        .expect("log");
        let ev = events(&dir);
        assert_eq!(
            ev.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(),
            ["PREINIT", "BOUND", "bound"]
        );
        assert_eq!(bound_address(&dir), Some(Ipv4Addr::new(192, 0, 2, 101)));
        assert_eq!(
            logged_at(&ev[1]),
            std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_millis(1_796_058_590_250))
        );
        assert_eq!(logged_at(&ev[0]), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_reboot_that_keeps_the_held_address_is_extend_and_one_after_expiry_is_bound() {
        let ev = |reason: &str, ip: &str| -> Logged {
            (
                reason.to_string(),
                vec![("new_ip_address".to_string(), ip.to_string())],
            )
        };
        let logged = [
            ("PREINIT".to_string(), Vec::new()),
            ev("BOUND", "192.0.2.100"),
            ev("REBOOT", "192.0.2.100"),
            ev("REBOOT", "192.0.2.101"),
            ev("EXPIRE", "192.0.2.101"),
            ev("REBOOT", "192.0.2.101"),
            ev("RENEW", "192.0.2.101"),
        ];
        assert_eq!(
            RealClient::Dhclient.agent_events(&logged),
            [
                None,
                Some("BOUND"),
                Some("EXTEND"),
                Some("BOUND"),
                Some("EXPIRE"),
                Some("BOUND"),
                Some("EXTEND")
            ]
        );
        // DHCPv6: dhclient -6 runs REBOOT6 when a Confirm keeps its address after a restart.
        let ev6 = |reason: &str, ip: &str| -> Logged {
            (
                reason.to_string(),
                vec![("new_ip6_address".to_string(), ip.to_string())],
            )
        };
        let logged = [
            ("PREINIT6".to_string(), Vec::new()),
            ev6("BOUND6", "2001:db8:1::100"),
            ev6("REBOOT6", "2001:db8:1::100"),
            ev6("RENEW6", "2001:db8:1::100"),
            ev6("RELEASE6", "2001:db8:1::100"),
            ev6("REBOOT6", "2001:db8:1::100"),
        ];
        assert_eq!(
            RealClient::Dhclient.agent_events(&logged),
            [
                None,
                Some("BOUND6"),
                Some("EXTEND6"),
                Some("EXTEND6"),
                Some("RELEASE6"),
                Some("BOUND6")
            ]
        );
    }
}
