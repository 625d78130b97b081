//! DHCPv6 clients: ISC `dhclient -6` and `dhcpcd -6`, asking for one address (IA_NA) with no
//! router advertisements, logging every event through the same hook as their DHCPv4 forms
//! (dhclient's reasons end in 6: BOUND6, RENEW6, REBIND6, RELEASE6...; dhcpcd's too).
//!
//! The reference client runs DHCPv6 as `dhcplab agent -6 IF` ([`reference_command6`]).
//! busybox udhcpc has no DHCPv6 on Debian ([`Client::v6_unsupported`]).

use crate::clients::{
    Client, Persistence, REFERENCE_HOOK, RealClient, dhcpcd, dhcpcd_dirs, events, reference_agent,
    write_hook, yes_no,
};
use crate::{AdapterError, InNamespace, arg, write};
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::Command;

/// Why udhcpc has no DHCPv6.
const UDHCPC_NO_V6: &str =
    "busybox udhcpc has no DHCPv6 (Debian's busybox is built without udhcpc6)";

/// Writes the reference client's files under `dir` and returns the command that runs
/// `dhcplab agent -6 IFACE` (the binary `dhcplab`) in the foreground, asking for one address;
/// SIGTERM releases the address when `release_on_sigterm`, else drops it (dhcpagent's
/// `.v6.RELEASE_ON_SIGTERM`).
pub fn reference_command6(
    dhcplab: &Path,
    dir: &Path,
    iface: &str,
    release_on_sigterm: bool,
    in_ns: InNamespace<'_>,
) -> Result<Command, AdapterError> {
    reference_command6_asking(
        dhcplab,
        dir,
        iface,
        release_on_sigterm,
        &Ask6::default(),
        in_ns,
    )
}

/// What the reference DHCPv6 client asks for, as a scenario's client host says: written as
/// the agent's `.v6.` defaults lines (dhcplab's `DHCPLAB_*` and dhcpagent's
/// `PARAM_REQUEST_LIST`) and its DUID file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask6 {
    /// How many IA_NAs.
    pub ia_na: u8,
    /// How many IA_PDs.
    pub ia_pd: u8,
    /// Rapid commit in its Solicit (RFC 8415 18.2.1).
    pub rapid_commit: bool,
    /// Information-request only (RFC 8415 18.2.6).
    pub information_only: bool,
    /// The option codes of its Option Request option.
    pub request: Vec<u16>,
    /// Its DUID, when given; else the agent makes its own and keeps it.
    pub duid: Option<Vec<u8>>,
}

impl Default for Ask6 {
    /// The agent's own defaults: one IA_NA, no IA_PD, no rapid commit, DNS servers and
    /// search list (23, 24) asked for, its own DUID.
    fn default() -> Self {
        Ask6 {
            ia_na: 1,
            ia_pd: 0,
            rapid_commit: false,
            information_only: false,
            request: vec![23, 24],
            duid: None,
        }
    }
}

impl Ask6 {
    /// Its lines of the agent's defaults file.
    fn defaults(&self) -> String {
        let request: Vec<String> = self.request.iter().map(u16::to_string).collect();
        format!(
            ".v6.DHCPLAB_IA_NA={}\n.v6.DHCPLAB_IA_PD={}\n.v6.DHCPLAB_RAPID_COMMIT={}\n\
             .v6.DHCPLAB_INFORMATION_ONLY={}\n.v6.PARAM_REQUEST_LIST={}\n",
            self.ia_na,
            self.ia_pd,
            yes_no(self.rapid_commit),
            yes_no(self.information_only),
            request.join(",")
        )
    }
}

/// [`reference_command6`] for a client asking what `ask` says; its DUID, when given, is
/// written to the agent's state directory (`state/duid`, the bytes) before it starts.
pub fn reference_command6_asking(
    dhcplab: &Path,
    dir: &Path,
    iface: &str,
    release_on_sigterm: bool,
    ask: &Ask6,
    in_ns: InNamespace<'_>,
) -> Result<Command, AdapterError> {
    let c = reference_agent(
        dhcplab,
        dir,
        REFERENCE_HOOK,
        &format!(
            ".v6.RELEASE_ON_SIGTERM={}\n{}",
            yes_no(release_on_sigterm),
            ask.defaults()
        ),
        &["-6", iface],
        in_ns,
    )?;
    if let Some(duid) = &ask.duid {
        let state = dir.join("state");
        crate::make_dir(&state)?;
        write(&state.join("duid"), duid)?;
    }
    Ok(c)
}

impl Client {
    /// Why this client cannot take part in DHCPv6 in the lab, or None when it can.
    pub fn v6_unsupported(self) -> Option<&'static str> {
        match self {
            Client::Reference => None,
            Client::Real(r) => r.v6_unsupported(),
        }
    }
}

impl RealClient {
    /// Why this client has no DHCPv6, or None when it has.
    pub fn v6_unsupported(self) -> Option<&'static str> {
        match self {
            RealClient::Udhcpc => Some(UDHCPC_NO_V6),
            RealClient::Dhclient | RealClient::Dhcpcd => None,
        }
    }

    /// Writes the hook (and configuration) under `dir` and returns the command that runs the
    /// DHCPv6 client in the foreground on `iface` in the host's namespace, asking for one
    /// address (IA_NA) and sending no router solicitations.
    pub fn command6(
        self,
        dir: &Path,
        iface: &str,
        persistence: Persistence,
        in_ns: InNamespace<'_>,
    ) -> Result<Command, AdapterError> {
        let once = persistence == Persistence::Once;
        Ok(match self {
            RealClient::Dhclient => {
                write_hook(dir)?;
                let conf = dir.join("dhclient6.conf");
                let timeout = if once { "timeout 20;\n" } else { "" };
                write(&conf, format!("request dhcp6.name-servers;\n{timeout}"))?;
                let mut c = in_ns("dhclient");
                c.args(["-6", "-d", "-v"]);
                if once {
                    c.arg("-1");
                }
                c.args(dhclient_files(dir)).arg(iface);
                c
            }
            RealClient::Dhcpcd => {
                let hook = write_hook(dir)?;
                let conf = dir.join("dhcpcd6.conf");
                // No router advertisements in the lab: without noipv6rs dhcpcd waits for one
                // before it starts DHCPv6; ia_na 1 asks for an address with IAID 1.
                write(&conf, "noipv6rs\nia_na 1\noption dhcp6_name_servers\n")?;
                dhcpcd_dirs(dir)?;
                dhcpcd(
                    dir,
                    &format!(
                        "-B -6 -d -t {} -f {} -c {} {iface}",
                        if once { 20 } else { 0 },
                        arg(&conf),
                        arg(&hook)
                    ),
                    in_ns,
                )
            }
            RealClient::Udhcpc => return Err(AdapterError::NoV6(UDHCPC_NO_V6)),
        })
    }

    /// The command that makes a running DHCPv6 client release its address and stop
    /// (`dhclient -6 -r`, `dhcpcd -6 -k`); None for a client without DHCPv6.
    pub fn release_command6(
        self,
        dir: &Path,
        iface: &str,
        in_ns: InNamespace<'_>,
    ) -> Option<Command> {
        match self {
            RealClient::Dhclient => {
                let mut c = in_ns("dhclient");
                c.args(["-6", "-r", "-v"])
                    .args(dhclient_files(dir))
                    .arg(iface);
                Some(c)
            }
            RealClient::Dhcpcd => Some(dhcpcd(
                dir,
                &format!("-6 -k -f {} {iface}", arg(&dir.join("dhcpcd6.conf"))),
                in_ns,
            )),
            RealClient::Udhcpc => None,
        }
    }
}

/// dhclient -6's file arguments in the client's `dir`: configuration, lease file (which keeps
/// its DUID), pid file, hook.
fn dhclient_files(dir: &Path) -> [std::ffi::OsString; 8] {
    [
        "-cf".into(),
        dir.join("dhclient6.conf").into(),
        "-lf".into(),
        dir.join("dhclient6.leases").into(),
        "-pf".into(),
        dir.join("dhclient6.pid").into(),
        "-sf".into(),
        dir.join("hook.sh").into(),
    ]
}

/// The address a DHCPv6 event gives the client, as logged: dhclient's `new_ip6_address`,
/// dhcpcd's `new_dhcp6_ia_na1_ia_addr1` (its first IA_NA's first address).
pub(crate) fn logged_address6(env: &[(String, String)]) -> Option<Ipv6Addr> {
    env.iter()
        .find(|(k, _)| k == "new_ip6_address" || k == "new_dhcp6_ia_na1_ia_addr1")
        .and_then(|(_, v)| v.parse().ok())
}

/// The address of the last DHCPv6 lease bound, renewed or rebound that the hook saw under
/// `dir` (the reference agent's BOUND6 and EXTEND6 too).
pub fn bound_address6(dir: &Path) -> Option<Ipv6Addr> {
    events(dir)
        .iter()
        .rev()
        .filter(|(ev, _)| {
            matches!(
                ev.as_str(),
                "BOUND6" | "RENEW6" | "REBIND6" | "REBOOT6" | "EXTEND6"
            )
        })
        .find_map(|(_, env)| logged_address6(env))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_v6_address_comes_from_either_clients_variables() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join(crate::clients::HOOK_LOG),
            "=== event=PREINIT6\nreason=PREINIT6\n=== end\n\
             === event=BOUND6\nnew_ip6_address=2001:db8:1::100\nnew_ip6_prefixlen=128\n=== end\n\
             === event=BOUND\nnew_ip_address=192.0.2.100\n=== end\n",
        )
        .expect("log");
        assert_eq!(
            bound_address6(dir.path()),
            Some("2001:db8:1::100".parse().expect("address"))
        );
        std::fs::write(
            dir.path().join(crate::clients::HOOK_LOG),
            "=== event=BOUND6\nprotocol=dhcp6\nnew_dhcp6_ia_na1_ia_addr1=2001:db8:1::1a2\n=== end\n\
             === event=RENEW6\nprotocol=dhcp6\nnew_dhcp6_ia_na1_ia_addr1=2001:db8:1::1a3\n=== end\n\
             === event=RELEASE6\nold_dhcp6_ia_na1_ia_addr1=2001:db8:1::1a3\n=== end\n",
        )
        .expect("log");
        assert_eq!(
            bound_address6(dir.path()),
            Some("2001:db8:1::1a3".parse().expect("address"))
        );
    }

    #[test]
    fn clients_ask_for_an_address_without_router_solicitations_and_udhcpc_has_no_v6() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let in_ns = |p: &str| Command::new(p);
        let c = RealClient::Dhcpcd
            .command6(d, "dlt1", Persistence::Once, &in_ns)
            .expect("dhcpcd");
        let script: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(
            script[1].contains("exec dhcpcd -B -6 -d -t 20"),
            "{script:?}"
        );
        let conf = std::fs::read_to_string(d.join("dhcpcd6.conf")).expect("conf");
        assert!(
            conf.contains("noipv6rs") && conf.contains("ia_na 1"),
            "{conf}"
        );
        assert!(d.join("root/run").is_dir() && d.join("root/lib").is_dir());

        let c = RealClient::Dhclient
            .command6(d, "dlt1", Persistence::Daemon, &in_ns)
            .expect("dhclient");
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(&args[..3], ["-6", "-d", "-v"]);
        assert!(!args.contains(&"-1".to_string()), "a daemon keeps trying");
        let hook = std::fs::read_to_string(d.join("hook.sh")).expect("hook");
        assert!(hook.contains("BOUND6|RENEW6|REBIND6|REBOOT6)"), "{hook}");
        let release = RealClient::Dhclient
            .release_command6(d, "dlt1", &in_ns)
            .expect("release");
        assert!(release.get_args().any(|a| a == "-r"));

        assert!(matches!(
            RealClient::Udhcpc.command6(d, "dlt1", Persistence::Once, &in_ns),
            Err(AdapterError::NoV6(_))
        ));
        assert!(
            RealClient::Udhcpc
                .release_command6(d, "x", &in_ns)
                .is_none()
        );
        assert!(Client::Reference.v6_unsupported().is_none());
        let c = reference_command6(Path::new("/usr/bin/dhcplab"), d, "dlt1", true, &in_ns)
            .expect("reference");
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(&args[args.len() - 2..], ["-6", "dlt1"]);
        assert_eq!(
            std::fs::read_to_string(d.join("dhcpagent")).expect("defaults"),
            ".v6.RELEASE_ON_SIGTERM=yes\n.v6.DHCPLAB_IA_NA=1\n.v6.DHCPLAB_IA_PD=0\n\
             .v6.DHCPLAB_RAPID_COMMIT=no\n.v6.DHCPLAB_INFORMATION_ONLY=no\n\
             .v6.PARAM_REQUEST_LIST=23,24\n"
        );
        let ask = Ask6 {
            ia_na: 2,
            ia_pd: 1,
            rapid_commit: true,
            request: vec![23],
            duid: Some(vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2]),
            ..Ask6::default()
        };
        reference_command6_asking(
            Path::new("/usr/bin/dhcplab"),
            d,
            "dlt1",
            false,
            &ask,
            &in_ns,
        )
        .expect("reference asking");
        let defaults = std::fs::read_to_string(d.join("dhcpagent")).expect("defaults");
        for line in [
            ".v6.DHCPLAB_IA_NA=2",
            ".v6.DHCPLAB_IA_PD=1",
            ".v6.DHCPLAB_RAPID_COMMIT=yes",
            ".v6.PARAM_REQUEST_LIST=23",
        ] {
            assert!(defaults.lines().any(|l| l == line), "{line}: {defaults}");
        }
        assert_eq!(
            std::fs::read(d.join("state/duid")).expect("duid"),
            [0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 2]
        );
        assert!(Client::Real(RealClient::Dhcpcd).v6_unsupported().is_none());
    }
}
