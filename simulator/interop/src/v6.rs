//! The DHCPv6 interop checks (RFC 8415), in order: SARR (Solicit, Advertise, Request, Reply:
//! the client gets an address from the pool and puts it on its interface), renew (at T1 the
//! client sends a Renew for its address and the server replies, before T2), and release (the
//! client's release sends a Release for its address and the server replies). As for DHCPv4,
//! what each stack sent is read from the switch's capture.

use crate::{Cell, Check, Family, Running, Verdict, wait};
use dhcplab_adapters::clients::{Client, Persistence};
use dhcplab_adapters::clients6;
use dhcplab_adapters::servers::Server;
use dhcplab_adapters::servers6::{Lifetimes, ServerSetup6};
use dhcplab_frame::{Decoded, Dhcp, Link, LinkType};
use dhcplab_tap::Lab;
use dhcplab_wire::v6::{Message, MessageType, code};
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// The lifetimes the servers give: T1 in 10 s, T2 in 16 s (dnsmasq gives at least 2 min).
pub const LIFETIMES: Lifetimes = Lifetimes {
    t1: 10,
    t2: 16,
    preferred: 20,
    valid: 30,
};

/// The server's global address: its subnet is the /64.
pub const SERVER_ADDRESS: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
/// The pool's first address.
pub const POOL_FIRST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x100);
/// The pool's last address.
pub const POOL_LAST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x1ff);

/// A DHCPv6 message the switch carried: who sent it, its type, transaction id, the T1 and T2
/// of its IA_NAs, their addresses with their valid lifetimes, the addresses' preferred
/// lifetimes, the status codes (0 when none), the message's own status code, its Server
/// Identifier (the option's bytes) and its Preference option.
#[derive(Debug, Clone)]
struct Seen {
    at: SystemTime,
    from_client: bool,
    kind: MessageType,
    xid: u32,
    timers: Vec<(u32, u32)>,
    addresses: Vec<(Ipv6Addr, u32)>,
    preferred: Vec<u32>,
    statuses: Vec<u16>,
    status: Option<u16>,
    server_id: Option<Vec<u8>>,
    preference: Option<u8>,
}

/// Every DHCPv6 client/server message the switch carried (relay messages are not part of a
/// direct pair's exchange).
fn seen(lab: &Lab, client_mac: [u8; 6]) -> Vec<Seen> {
    lab.captured()
        .iter()
        .filter_map(|c| {
            let Ok(Decoded::Udp(u)) = dhcplab_frame::decode(LinkType::Ethernet, &c.frame) else {
                return None;
            };
            if u.dhcp() != Some(Dhcp::V6) {
                return None;
            }
            let from_client = matches!(&u.link, Link::Ethernet { src, .. } if *src == client_mac);
            let message = Message::decode(u.payload).ok()?;
            let Message::Client(m) = &message else {
                return None;
            };
            let options = message.options();
            let ias = options.ia_na().unwrap_or_default();
            let status = options.status_code().ok().flatten().map(|s| s.code);
            let mut statuses: Vec<u16> = status.into_iter().collect();
            let (mut addresses, mut preferred) = (Vec::new(), Vec::new());
            for ia in &ias {
                statuses.extend(ia.options.status_code().ok().flatten().map(|s| s.code));
                for a in ia.options.ia_addresses().unwrap_or_default() {
                    addresses.push((a.addr, a.valid));
                    preferred.push(a.preferred);
                }
            }
            Some(Seen {
                at: c.at,
                from_client,
                kind: m.msg_type,
                xid: m.xid,
                timers: ias.iter().map(|ia| (ia.t1, ia.t2)).collect(),
                addresses,
                preferred,
                statuses,
                status,
                server_id: options.get(code::SERVER_ID).map(|o| o.data.to_vec()),
                preference: options.preference().ok().flatten(),
            })
        })
        .collect()
}

/// True when `seen` has a message of `kind` (Request, Renew or Release) from the client
/// holding `address` and the Server Identifier of the server it is for (RFC 8415 section
/// 18.2.2, 18.2.4, 18.2.7: the client MUST include it), that a Reply from that server with
/// the same transaction id answers, both at or after `since`: with no error status and, for a
/// Request or Renew, `address` still valid; for a Release, with the status Success in the
/// message itself (section 18.3.7: "the server generates a Reply message and includes a
/// Status Code option with the value Success").
fn answered(seen: &[Seen], kind: MessageType, address: Ipv6Addr, since: SystemTime) -> bool {
    seen.iter().enumerate().any(|(k, m)| {
        m.from_client
            && m.at >= since
            && m.kind == kind
            && m.server_id.is_some()
            && m.addresses.iter().any(|(a, _)| *a == address)
            && seen.get(k + 1..).unwrap_or_default().iter().any(|r| {
                !r.from_client
                    && r.kind == MessageType::REPLY
                    && r.xid == m.xid
                    && r.server_id == m.server_id
                    && r.statuses.iter().all(|s| *s == 0)
                    && if kind == MessageType::RELEASE {
                        r.status == Some(0)
                    } else {
                        r.addresses.iter().any(|(a, v)| *a == address && *v > 0)
                    }
            })
    })
}

/// The RFC 8415 text a client's non-zero T1 or T2 goes against.
pub const HINT_TIMERS: &str = "RFC 8415 section 21.4: \"In a message sent by a client to a server, the T1 and T2 fields SHOULD be set to 0. The server MUST ignore any values in these fields in messages received from a client.\"";
/// The RFC 8415 text a client's non-zero address lifetimes go against.
pub const HINT_LIFETIMES: &str = "RFC 8415 section 21.6: \"In a message sent by a client to a server, the preferred-lifetime and valid-lifetime fields SHOULD be set to 0. The server MUST ignore any received values.\"";
/// The RFC 8415 text a client that requests on the first Advertise goes against.
pub const ADVERTISE_WINDOW: &str = "RFC 8415 section 18.2.9: \"A client MUST collect valid Advertise messages for the first RT seconds, unless it receives a valid Advertise message with a preference value of 255.\" (the first RT of a Solicit is more than IRT = 1 s: section 15, RAND strictly greater than 0 for the first Solicit)";

/// What the capture shows a stack doing against RFC 8415 without failing a check: each
/// finding starts with the RFC text ([`HINT_TIMERS`], [`HINT_LIFETIMES`],
/// [`ADVERTISE_WINDOW`]) and says what was seen.
fn findings(seen: &[Seen]) -> Vec<String> {
    let from_client: Vec<&Seen> = seen.iter().filter(|m| m.from_client).collect();
    let mut out = Vec::new();
    let kinds = |bad: &dyn Fn(&Seen) -> bool| {
        let mut names: Vec<&str> = Vec::new();
        for m in from_client.iter().filter(|m| bad(m)) {
            if !names.contains(&name(m.kind)) {
                names.push(name(m.kind));
            }
        }
        names
    };
    let timers = kinds(&|m| m.timers.iter().any(|t| *t != (0, 0)));
    if let Some(example) = from_client
        .iter()
        .flat_map(|m| &m.timers)
        .find(|t| **t != (0, 0))
    {
        out.push(format!(
            "{HINT_TIMERS} The client sent T1 {} s, T2 {} s in its {}.",
            example.0,
            example.1,
            timers.join(", ")
        ));
    }
    let lifetimes =
        kinds(&|m| m.preferred.iter().any(|p| *p != 0) || m.addresses.iter().any(|(_, v)| *v != 0));
    if let Some(m) = from_client
        .iter()
        .find(|m| m.preferred.iter().any(|p| *p != 0) || m.addresses.iter().any(|(_, v)| *v != 0))
    {
        out.push(format!(
            "{HINT_LIFETIMES} The client sent preferred {} s, valid {} s in its {}.",
            m.preferred.first().copied().unwrap_or_default(),
            m.addresses.first().map_or(0, |(_, v)| *v),
            lifetimes.join(", ")
        ));
    }
    let solicit = from_client.iter().find(|m| m.kind == MessageType::SOLICIT);
    let request = from_client.iter().find(|m| m.kind == MessageType::REQUEST);
    if let (Some(s), Some(r)) = (solicit, request) {
        let waited = r.at.duration_since(s.at).unwrap_or_default();
        let preferred_255 = seen.iter().any(|m| {
            !m.from_client
                && m.kind == MessageType::ADVERTISE
                && m.at <= r.at
                && m.preference == Some(255)
        });
        if waited < Duration::from_secs(1) && !preferred_255 {
            out.push(format!(
                "{ADVERTISE_WINDOW} The client sent its Request {} ms after its first Solicit, on an Advertise without preference 255.",
                waited.as_millis()
            ));
        }
    }
    out
}

/// When the server's Reply first gave the client `address` (the end of SARR).
fn bound_at(seen: &[Seen], address: Ipv6Addr) -> Option<SystemTime> {
    seen.iter()
        .find(|m| {
            !m.from_client
                && m.kind == MessageType::REPLY
                && m.addresses.iter().any(|(a, v)| *a == address && *v > 0)
        })
        .map(|m| m.at)
}

/// The message type's RFC name, for reports.
fn name(kind: MessageType) -> &'static str {
    kind.name().unwrap_or("?")
}

/// True when `address` is on `dev` in `netns` (`ip -6 addr`).
fn on_interface(netns: &str, dev: &str, address: Ipv6Addr) -> bool {
    std::process::Command::new("ip")
        .args(["-n", netns, "-6", "-o", "addr", "show", "dev", dev])
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .filter_map(|w| w.split('/').next()?.parse::<Ipv6Addr>().ok())
                .any(|a| a == address)
        })
}

/// Runs the DHCPv6 interop checks for `server` x `client`, files under `dir`; `dhcplab` is
/// the binary that runs the reference stacks. A client without DHCPv6 skips every check with
/// its reason.
pub fn run_pair6(server: Server, client: Client, dhcplab: &Path, dir: &Path) -> Cell {
    let mut cell = Cell {
        family: Family::V6,
        server,
        client,
        results: Vec::new(),
        findings: Vec::new(),
    };
    let every = |cell: &mut Cell, verdict: Verdict| {
        for c in Check::ALL6 {
            cell.results.push((c, verdict.clone(), Duration::ZERO));
        }
    };
    if let Some(why) = client.v6_unsupported() {
        every(&mut cell, Verdict::Skip(why.into()));
        return cell;
    }
    let lab = match crate::lab() {
        Ok(lab) => lab,
        Err(why) => {
            every(&mut cell, Verdict::Fail(why));
            return cell;
        }
    };
    let (srv, cli) = (&lab.hosts()[0], &lab.hosts()[1]);
    let in_srv = |p: &str| srv.command(p);
    let in_cli = |p: &str| cli.command(p);
    let setup = ServerSetup6 {
        iface: srv.tap.clone(),
        address: SERVER_ADDRESS,
        pool: (POOL_FIRST, POOL_LAST),
        lifetimes: LIFETIMES,
        dir: dir.join("server"),
        dhcplab: dhcplab.to_path_buf(),
    };
    let client_dir = dir.join("client");
    let log = |name: &str| {
        std::fs::File::create(dir.join(name))
            .map(Stdio::from)
            .map_err(|e| e.to_string())
    };
    let started = (|| -> Result<Running, String> {
        std::fs::create_dir_all(&setup.dir).map_err(|e| e.to_string())?;
        srv.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{SERVER_ADDRESS}/64"),
            "dev",
            &srv.tap,
            "nodad",
        ])
        .map_err(|e| e.to_string())?;
        let mut running = Running(Vec::new());
        let mut s = server
            .command6(&setup, &in_srv)
            .map_err(|e| e.to_string())?;
        s.stdout(log("server.out")?).stderr(log("server.err")?);
        let program = server.program6();
        running
            .0
            .push(s.spawn().map_err(|e| format!("{program}: {e}"))?);
        if !wait(Duration::from_secs(10), || {
            server.ready6(&setup.dir, 0, &in_srv)
        }) {
            return Err(format!(
                "{program} was not ready (port 547, its start logged) within 10 s"
            ));
        }
        let mut c = match client {
            Client::Reference => {
                clients6::reference_command6(dhcplab, &client_dir, &cli.tap, true, &in_cli)
            }
            Client::Real(r) => r.command6(&client_dir, &cli.tap, Persistence::Once, &in_cli),
        }
        .map_err(|e| e.to_string())?;
        c.stdout(log("client.out")?).stderr(log("client.err")?);
        running
            .0
            .push(c.spawn().map_err(|e| format!("{}: {e}", client.name()))?);
        Ok(running)
    })();
    let mut running = match started {
        Ok(r) => r,
        Err(why) => {
            every(&mut cell, Verdict::Fail(why));
            return cell;
        }
    };
    let client_mac = cli.mac;

    // SARR (RFC 8415 section 18.2.1, 18.3.1, 18.2.2, 18.3.2).
    let t = Instant::now();
    // Every message of the run counts: the lab is the pair's alone.
    let start = SystemTime::UNIX_EPOCH;
    let bound = wait(Duration::from_secs(25), || {
        clients6::bound_address6(&client_dir).is_some()
    });
    let address = clients6::bound_address6(&client_dir).filter(|_| bound);
    let in_pool =
        |a: Ipv6Addr| (u128::from(POOL_FIRST)..=u128::from(POOL_LAST)).contains(&a.into());
    let verdict = match address {
        Some(a) if in_pool(a) => {
            let on = wait(Duration::from_secs(3), || {
                on_interface(&cli.netns, &cli.tap, a)
            });
            let s = seen(&lab, client_mac);
            let exchange = [
                (MessageType::SOLICIT, true),
                (MessageType::ADVERTISE, false),
                (MessageType::REQUEST, true),
                (MessageType::REPLY, false),
            ];
            let missing: Vec<&str> = exchange
                .iter()
                .filter(|(k, from_client)| {
                    !s.iter().any(|m| {
                        m.kind == *k
                            && m.from_client == *from_client
                            && (*k == MessageType::SOLICIT
                                || m.addresses.iter().any(|(x, _)| *x == a))
                    })
                })
                .map(|(k, _)| name(*k))
                .collect();
            if !missing.is_empty() {
                Verdict::Fail(format!(
                    "bound {a}, but the switch carried no {} for it",
                    missing.join(", ")
                ))
            } else if !answered(&s, MessageType::REQUEST, a, start) {
                Verdict::Fail(format!(
                    "bound {a}, but no Reply answered a Request for it carrying the server's identifier (same transaction id and Server Identifier, address valid, no error status)"
                ))
            } else if !on {
                Verdict::Fail(format!(
                    "bound {a}, but it is not on {} within 3 s",
                    cli.tap
                ))
            } else {
                Verdict::Pass
            }
        }
        other => Verdict::Fail(format!(
            "no address from the pool {POOL_FIRST} - {POOL_LAST} within 25 s (hook saw {:?}; address {other:?})",
            crate::event_names(&client_dir)
        )),
    };
    let sarr_ok = verdict == Verdict::Pass;
    cell.results.push((Check::Sarr, verdict, t.elapsed()));

    // Renew at T1 (RFC 8415 section 18.2.4): a Renew for the address, answered by a Reply
    // that keeps it, from T1 (less a second for the timers' granularity) on and before T2
    // (when the client would Rebind instead).
    let t = Instant::now();
    let verdict = match (sarr_ok, address) {
        (false, _) | (_, None) => Verdict::Skip("no address to renew".into()),
        _ if server == Server::Dnsmasq => Verdict::Skip(crate::DNSMASQ_MINIMUM.into()),
        (true, Some(a)) => {
            let bound_at = bound_at(&seen(&lab, client_mac), a).unwrap_or_else(SystemTime::now);
            let t1 = bound_at + Duration::from_secs(u64::from(LIFETIMES.t1) - 1);
            let limit = Duration::from_millis(u64::from(LIFETIMES.t2) * 1000 - 500)
                .saturating_sub(bound_at.elapsed().unwrap_or_default());
            if wait(limit, || {
                answered(&seen(&lab, client_mac), MessageType::RENEW, a, t1)
            }) {
                Verdict::Pass
            } else {
                let renews: Vec<String> = seen(&lab, client_mac)
                    .iter()
                    .filter(|m| m.from_client && m.kind == MessageType::RENEW)
                    .map(|m| {
                        format!(
                            "{:.1} s",
                            m.at.duration_since(bound_at)
                                .unwrap_or_default()
                                .as_secs_f64()
                        )
                    })
                    .collect();
                Verdict::Fail(format!(
                    "no Renew for {a} with the server's identifier, sent from T1 ({} s) on and answered by a Reply keeping it before T2 ({} s) (the client's Renews, after binding: {renews:?})",
                    LIFETIMES.t1, LIFETIMES.t2
                ))
            }
        }
    };
    cell.results.push((Check::Renew, verdict, t.elapsed()));

    // Release (RFC 8415 section 18.2.7, 18.3.7): a Release for the address, and the server's
    // Reply.
    let t = Instant::now();
    let verdict = match address {
        None => Verdict::Skip("no address to release".into()),
        Some(a) => {
            let asked = SystemTime::now();
            // The reference agent releases on SIGTERM (.v6.RELEASE_ON_SIGTERM=yes).
            let release = match client {
                Client::Real(r) => r.release_command6(&client_dir, &cli.tap, &in_cli),
                Client::Reference => None,
            };
            let sent = match release {
                Some(mut c) => c.output().map(|_| ()).map_err(|e| e.to_string()),
                None => crate::terminate(running.0.last()),
            };
            let released =
                |lab: &Lab| answered(&seen(lab, client_mac), MessageType::RELEASE, a, asked);
            match sent {
                Err(e) => Verdict::Fail(format!("could not ask for the release: {e}")),
                Ok(()) if wait(Duration::from_secs(8), || released(&lab)) => Verdict::Pass,
                Ok(()) => {
                    let releases = seen(&lab, client_mac)
                        .iter()
                        .filter(|m| {
                            m.from_client
                                && m.at >= asked
                                && m.kind == MessageType::RELEASE
                                && m.addresses.iter().any(|(x, _)| *x == a)
                        })
                        .count();
                    Verdict::Fail(format!(
                        "no Release for {a} with the server's identifier answered by a Reply with status Success within 8 s of asking (the client sent {releases} Release(s) for it)"
                    ))
                }
            }
        }
    };
    cell.results.push((Check::Release, verdict, t.elapsed()));
    running.0.reverse();
    drop(running);
    cell.findings = findings(&seen(&lab, client_mac));
    crate::keep_capture(&lab, dir, &mut cell);
    cell
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Default for Seen {
        fn default() -> Self {
            Self {
                at: SystemTime::UNIX_EPOCH,
                from_client: false,
                kind: MessageType::REPLY,
                xid: 0,
                timers: Vec::new(),
                addresses: Vec::new(),
                preferred: Vec::new(),
                statuses: Vec::new(),
                status: None,
                server_id: Some(vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1]),
                preference: None,
            }
        }
    }

    fn m(from_client: bool, kind: MessageType, xid: u32, addresses: &[(Ipv6Addr, u32)]) -> Seen {
        Seen {
            at: SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(xid)),
            from_client,
            kind,
            xid,
            addresses: addresses.to_vec(),
            ..Seen::default()
        }
    }

    #[test]
    fn a_renew_counts_only_when_a_reply_with_its_transaction_id_keeps_the_address() {
        let a = POOL_FIRST;
        let since = SystemTime::UNIX_EPOCH;
        let renew = m(true, MessageType::RENEW, 7, &[(a, 30)]);
        let ok = [renew.clone(), m(false, MessageType::REPLY, 7, &[(a, 30)])];
        assert!(answered(&ok, MessageType::RENEW, a, since));
        // Another transaction's Reply does not answer it.
        let other = [renew.clone(), m(false, MessageType::REPLY, 8, &[(a, 30)])];
        assert!(!answered(&other, MessageType::RENEW, a, since));
        // A Reply with the address at valid lifetime 0 takes it away (RFC 8415 18.3.4).
        let dropped = [renew.clone(), m(false, MessageType::REPLY, 7, &[(a, 0)])];
        assert!(!answered(&dropped, MessageType::RENEW, a, since));
        // A Reply with NoBinding (3) is no renewal.
        let mut no_binding = m(false, MessageType::REPLY, 7, &[(a, 30)]);
        no_binding.statuses = vec![3];
        assert!(!answered(
            &[renew.clone(), no_binding],
            MessageType::RENEW,
            a,
            since
        ));
        // A Rebind is not a Renew, and a Renew before `since` does not count.
        let rebind = [
            m(true, MessageType::REBIND, 7, &[(a, 30)]),
            m(false, MessageType::REPLY, 7, &[(a, 30)]),
        ];
        assert!(!answered(&rebind, MessageType::RENEW, a, since));
        assert!(!answered(
            &ok,
            MessageType::RENEW,
            a,
            SystemTime::UNIX_EPOCH + Duration::from_secs(60)
        ));
        // T1 counts from the Reply that gave the address.
        let request = [
            m(true, MessageType::REQUEST, 2, &[(a, 0)]),
            m(false, MessageType::REPLY, 3, &[(a, 30)]),
        ];
        assert_eq!(
            bound_at(&request, a),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(3))
        );
        assert_eq!(bound_at(&request[..1], a), None);
        // A Renew MUST carry the Server Identifier (RFC 8415 18.2.4), and the Reply comes from
        // that server.
        let mut anonymous = ok.clone();
        anonymous[0].server_id = None;
        assert!(!answered(&anonymous, MessageType::RENEW, a, since));
        let mut other_server = ok.clone();
        other_server[1].server_id = Some(vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 9]);
        assert!(!answered(&other_server, MessageType::RENEW, a, since));
    }

    #[test]
    fn a_release_is_answered_by_a_reply_without_addresses() {
        let a = POOL_FIRST;
        let mut s = [
            m(true, MessageType::RELEASE, 9, &[(a, 0)]),
            m(false, MessageType::REPLY, 9, &[]),
        ];
        // RFC 8415 18.3.7: the Reply to a Release carries the status Success.
        assert!(!answered(
            &s,
            MessageType::RELEASE,
            a,
            SystemTime::UNIX_EPOCH
        ));
        s[1].status = Some(0);
        s[1].statuses = vec![0];
        assert!(answered(
            &s,
            MessageType::RELEASE,
            a,
            SystemTime::UNIX_EPOCH
        ));
        assert!(!answered(
            &s[..1],
            MessageType::RELEASE,
            a,
            SystemTime::UNIX_EPOCH
        ));
    }

    #[test]
    fn client_hints_and_a_request_on_the_first_advertise_are_findings() {
        let a = POOL_FIRST;
        let at = |ms: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        let conformant = [
            Seen {
                at: at(0),
                from_client: true,
                kind: MessageType::SOLICIT,
                timers: vec![(0, 0)],
                ..Seen::default()
            },
            Seen {
                at: at(1),
                kind: MessageType::ADVERTISE,
                timers: vec![(10, 16)],
                addresses: vec![(a, 30)],
                preferred: vec![20],
                ..Seen::default()
            },
            Seen {
                at: at(1050),
                from_client: true,
                kind: MessageType::REQUEST,
                timers: vec![(0, 0)],
                addresses: vec![(a, 0)],
                preferred: vec![0],
                ..Seen::default()
            },
        ];
        assert_eq!(findings(&conformant), Vec::<String>::new());

        // dhclient 4.4's hints: T1 3600, T2 5400, lifetimes 7200 and 7500.
        let mut hinted = conformant.clone();
        hinted[2].timers = vec![(3600, 5400)];
        hinted[2].addresses = vec![(a, 7500)];
        hinted[2].preferred = vec![7200];
        let f = findings(&hinted);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(
            f[0].starts_with(HINT_TIMERS) && f[0].ends_with("T1 3600 s, T2 5400 s in its REQUEST."),
            "{f:?}"
        );
        assert!(
            f[1].starts_with(HINT_LIFETIMES) && f[1].contains("preferred 7200 s, valid 7500 s"),
            "{f:?}"
        );

        // dhcpcd's Request 1 ms after the Solicit, on an Advertise without preference 255.
        let mut hasty = conformant.clone();
        hasty[2].at = at(1);
        let f = findings(&hasty);
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].starts_with(ADVERTISE_WINDOW) && f[0].contains(" 1 ms after"),
            "{f:?}"
        );
        // With preference 255 (dnsmasq's Advertise) requesting at once is right.
        hasty[1].preference = Some(255);
        assert_eq!(findings(&hasty), Vec::<String>::new());
    }
}
