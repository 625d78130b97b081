//! The interop matrix: a server stack and a client stack on two TAP hosts, the simulator's
//! switch between them, and the interop checks in order: DORA (the client binds an address
//! from the pool and puts it on its interface), renew (at T1 the client unicasts a REQUEST
//! for its address and the server ACKs it, before T2), and release (the client's release sends a
//! RELEASE for its address). What each stack sent is read from the switch's capture, so a
//! check judges the wire, not the stacks' own reports.
//!
//! A check a stack cannot take part in is skipped with the reason (dnsmasq's shortest lease is
//! 2 minutes, so its renew would take a minute: skipped rather than slowing every run).
//!
//! The DHCPv6 matrix ([`run_pair6`]) runs the same way with the DHCPv6 forms of the stacks:
//! SARR, renew, release (see [`v6`]).

use dhcplab_adapters::clients::{self, Client, Persistence};
use dhcplab_adapters::servers::{Server, ServerSetup};
use dhcplab_frame::{Decoded, LinkType};
use dhcplab_tap::Lab;
use dhcplab_wire::v4::{Message, MessageType};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

pub mod v6;
pub use v6::run_pair6;

/// The server's link address on its TAP host.
const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];
/// The client's link address on its TAP host.
const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x02];
/// The lease the servers give, short enough that T1 comes in 10 s.
pub const LEASE: u32 = 20;

/// Which DHCP a cell speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// DHCPv4 (RFC 2131).
    V4,
    /// DHCPv6 (RFC 8415).
    V6,
}

impl Family {
    /// Its name in reports (`v4`, `v6`).
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "v4",
            Family::V6 => "v6",
        }
    }

    /// Its checks, in the order a pair goes through them.
    pub fn checks(self) -> [Check; 3] {
        match self {
            Family::V4 => Check::ALL,
            Family::V6 => Check::ALL6,
        }
    }
}

/// An interop check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// DISCOVER, OFFER, REQUEST, ACK: the client binds.
    Dora,
    /// DHCPv6 Solicit, Advertise, Request, Reply: the client gets an address and puts it on
    /// its interface.
    Sarr,
    /// At T1 the client renews by unicast and the server ACKs.
    Renew,
    /// The client releases its address.
    Release,
}

impl Check {
    /// Every check, in the order a pair goes through them.
    pub const ALL: [Check; 3] = [Check::Dora, Check::Renew, Check::Release];
    /// Every DHCPv6 check, in the order a pair goes through them.
    pub const ALL6: [Check; 3] = [Check::Sarr, Check::Renew, Check::Release];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Check::Dora => "dora",
            Check::Sarr => "sarr",
            Check::Renew => "renew",
            Check::Release => "release",
        }
    }

    /// Its letter in the terminal matrix.
    pub fn letter(self) -> char {
        match self {
            Check::Dora => 'D',
            Check::Sarr => 'S',
            Check::Renew => 'R',
            Check::Release => 'L',
        }
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It held.
    Pass,
    /// It did not: what was expected and what was seen.
    Fail(String),
    /// It was not run, and why.
    Skip(String),
}

/// One cell of the matrix.
#[derive(Debug, Clone)]
pub struct Cell {
    /// DHCPv4 or DHCPv6.
    pub family: Family,
    /// The server stack.
    pub server: Server,
    /// The client stack.
    pub client: Client,
    /// Each check with its verdict and how long it took.
    pub results: Vec<(Check, Verdict, Duration)>,
    /// Where the capture shows a stack going against its RFC without failing a check, each
    /// with the RFC's text and what was seen (DHCPv6 cells; see [`v6`]).
    pub findings: Vec<String>,
}

impl Cell {
    /// True when no check failed.
    pub fn passed(&self) -> bool {
        !self
            .results
            .iter()
            .any(|(_, v, _)| matches!(v, Verdict::Fail(_)))
    }
}

/// The processes of a pair, killed when it ends.
pub(crate) struct Running(pub(crate) Vec<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A DHCP message in a captured frame.
fn message(frame: &[u8]) -> Option<Message> {
    match dhcplab_frame::decode(LinkType::Ethernet, frame) {
        Ok(Decoded::Udp(u)) => Message::decode(u.payload).ok(),
        _ => None,
    }
}

/// Waits for `ok`, checking every 100 ms, at most `limit`.
pub(crate) fn wait(limit: Duration, ok: impl FnMut() -> bool) -> bool {
    dhcplab_adapters::wait_until(limit, Duration::from_millis(100), ok)
}

/// Why a renew with dnsmasq is skipped.
pub const DNSMASQ_MINIMUM: &str = "dnsmasq's shortest lease is 2 minutes: T1 would come after 60 s";

/// The reasons of the events the client's hook logged under `dir`, for a failure's report.
pub(crate) fn event_names(dir: &Path) -> Vec<String> {
    clients::events(dir).into_iter().map(|(e, _)| e).collect()
}

/// A pair's network: the server's host (port 0), the client's (port 1), the switch running
/// between them; why not when it cannot be built.
pub(crate) fn lab() -> Result<Lab, String> {
    let mut lab = Lab::new();
    lab.add_host("srv", SERVER_MAC)
        .and_then(|_| lab.add_host("cli", CLIENT_MAC))
        .and_then(|_| lab.start_switch(1, vec![Default::default(); 2]))
        .map_err(|e| format!("{NETWORK_FAILED}: {e}"))?;
    Ok(lab)
}

/// How a failure to build a pair's network starts: `dhcplab matrix` exits 2 on it.
pub const NETWORK_FAILED: &str = "cannot build the TAP network";

/// Runs the interop checks for `server` x `client`, files under `dir`; `dhcplab` is the binary
/// that runs the reference stacks.
pub fn run_pair(server: Server, client: Client, dhcplab: &Path, dir: &Path) -> Cell {
    let mut cell = Cell {
        family: Family::V4,
        server,
        client,
        results: Vec::new(),
        findings: Vec::new(),
    };
    let fail_all = |cell: &mut Cell, why: String| {
        for c in Check::ALL {
            cell.results
                .push((c, Verdict::Fail(why.clone()), Duration::ZERO));
        }
    };
    let lab = match lab() {
        Ok(lab) => lab,
        Err(why) => {
            fail_all(&mut cell, why);
            return cell;
        }
    };
    let (srv, cli) = (&lab.hosts()[0], &lab.hosts()[1]);
    let in_srv = |p: &str| srv.command(p);
    let in_cli = |p: &str| cli.command(p);
    let setup = ServerSetup {
        iface: srv.tap.clone(),
        address: Ipv4Addr::new(192, 0, 2, 1),
        pool: (Ipv4Addr::new(192, 0, 2, 100), Ipv4Addr::new(192, 0, 2, 200)),
        lease: LEASE,
        dir: dir.join("server"),
        dhcplab: dhcplab.to_path_buf(),
    };
    let client_dir = dir.join("client");
    let log = |name: &str| std::fs::File::create(dir.join(name)).map(Stdio::from);
    let started = (|| -> Result<Running, String> {
        std::fs::create_dir_all(&setup.dir).map_err(|e| e.to_string())?;
        srv.ip(&["addr", "add", "192.0.2.1/24", "dev", &srv.tap])
            .map_err(|e| e.to_string())?;
        let mut running = Running(Vec::new());
        let mut s = server.command(&setup, &in_srv).map_err(|e| e.to_string())?;
        s.stdout(log("server.out").map_err(|e| e.to_string())?)
            .stderr(log("server.err").map_err(|e| e.to_string())?);
        running.0.push(
            s.spawn()
                .map_err(|e| format!("{}: {e}", server.program()))?,
        );
        if !wait(Duration::from_secs(10), || {
            server.ready(&setup.dir, 0, &in_srv)
        }) {
            return Err(format!(
                "{} was not ready (port 67, its start logged) within 10 s",
                server.program()
            ));
        }
        let mut c = match client {
            Client::Reference => {
                clients::reference_command(dhcplab, &client_dir, &cli.tap, true, &in_cli)
            }
            Client::Real(r) => r.command(&client_dir, &cli.tap, Persistence::Once, &in_cli),
        }
        .map_err(|e| e.to_string())?;
        c.stdout(log("client.out").map_err(|e| e.to_string())?)
            .stderr(log("client.err").map_err(|e| e.to_string())?);
        running
            .0
            .push(c.spawn().map_err(|e| format!("{}: {e}", client.name()))?);
        Ok(running)
    })();
    let mut running = match started {
        Ok(r) => r,
        Err(why) => {
            fail_all(&mut cell, why);
            return cell;
        }
    };

    // DORA.
    let t = Instant::now();
    let bound = wait(Duration::from_secs(25), || {
        clients::bound_address(&client_dir).is_some()
    });
    let address = clients::bound_address(&client_dir);
    let ours = |m: &Message| m.hardware_address() == CLIENT_MAC;
    let seen = |kind: MessageType, lab: &Lab| {
        lab.captured()
            .iter()
            .filter_map(|c| message(&c.frame))
            .any(|m| ours(&m) && m.message_type().ok().flatten() == Some(kind))
    };
    let verdict = match address {
        Some(a)
            if bound
                && (Ipv4Addr::new(192, 0, 2, 100)..=Ipv4Addr::new(192, 0, 2, 200)).contains(&a) =>
        {
            let missing: Vec<&str> = [
                (MessageType::Discover, "DISCOVER"),
                (MessageType::Offer, "OFFER"),
                (MessageType::Request, "REQUEST"),
                (MessageType::Ack, "ACK"),
            ]
            .iter()
            .filter(|(k, _)| !seen(*k, &lab))
            .map(|(_, n)| *n)
            .collect();
            if missing.is_empty() {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "bound {a}, but the switch saw no {}",
                    missing.join(", ")
                ))
            }
        }
        other => Verdict::Fail(format!(
            "no address from the pool within 25 s (hook saw {:?}; address {other:?})",
            event_names(&client_dir)
        )),
    };
    let dora_ok = verdict == Verdict::Pass;
    cell.results.push((Check::Dora, verdict, t.elapsed()));

    // Renew at T1.
    let t = Instant::now();
    let verdict = match (dora_ok, address) {
        (false, _) | (_, None) => Verdict::Skip("no lease to renew".into()),
        _ if server == Server::Dnsmasq => Verdict::Skip(DNSMASQ_MINIMUM.into()),
        (true, Some(a)) => {
            // A renewal is a REQUEST unicast to the server (RENEWING), answered before T2:
            // a broadcast one at T2 is a rebind, and does not count.
            let renewed = |lab: &Lab| {
                let frames: Vec<(bool, Message)> = lab
                    .captured()
                    .iter()
                    .filter_map(|c| {
                        let unicast = c.frame.get(..6) == Some(&SERVER_MAC[..]);
                        message(&c.frame).map(|m| (unicast, m))
                    })
                    .collect();
                frames.iter().enumerate().any(|(k, (unicast, m))| {
                    *unicast
                        && ours(m)
                        && m.op == Message::BOOTREQUEST
                        && m.message_type().ok().flatten() == Some(MessageType::Request)
                        && m.ciaddr == a
                        && frames
                            .get(k + 1..)
                            .unwrap_or_default()
                            .iter()
                            .any(|(_, r)| {
                                ours(r)
                                    && r.xid == m.xid
                                    && r.message_type().ok().flatten() == Some(MessageType::Ack)
                            })
                })
            };
            // T2 is 7/8 of the lease after binding; stop half a second short of it.
            let limit = Duration::from_millis(u64::from(LEASE) * 875 - 500);
            if wait(limit, || renewed(&lab)) {
                Verdict::Pass
            } else {
                Verdict::Fail(format!(
                    "no REQUEST with ciaddr {a} unicast to the server and answered by an ACK within {} s of binding, before T2 (T1 is {} s)",
                    limit.as_secs(),
                    LEASE / 2
                ))
            }
        }
    };
    cell.results.push((Check::Renew, verdict, t.elapsed()));

    // Release.
    let t = Instant::now();
    let verdict = match address {
        None => Verdict::Skip("no lease to release".into()),
        Some(a) => {
            let asked = std::time::SystemTime::now();
            let sent = match client {
                Client::Real(r) => match r.release_command(&client_dir, &cli.tap, &in_cli) {
                    Some(mut c) => c.output().map(|_| ()).map_err(|e| e.to_string()),
                    None => terminate(running.0.last()),
                },
                Client::Reference => terminate(running.0.last()),
            };
            let released = |lab: &Lab| {
                lab.captured()
                    .iter()
                    .filter_map(|c| message(&c.frame))
                    .any(|m| {
                        ours(&m)
                            && m.message_type().ok().flatten() == Some(MessageType::Release)
                            && m.ciaddr == a
                    })
            };
            match sent {
                Err(e) => Verdict::Fail(format!("could not ask for the release: {e}")),
                Ok(()) if wait(Duration::from_secs(8), || released(&lab)) => Verdict::Pass,
                Ok(()) => {
                    let arp = arp_requests_for(&lab, asked, setup.address);
                    let why = if arp > 0 {
                        format!(
                            "; the client sent {arp} ARP request(s) for the server {} after being asked: it unicasts the RELEASE before it knows the server's link address, then removes its address and routes while ARP is pending, so the queued RELEASE is dropped",
                            setup.address
                        )
                    } else {
                        String::new()
                    };
                    Verdict::Fail(format!(
                        "no RELEASE with ciaddr {a} within 8 s of asking{why}"
                    ))
                }
            }
        }
    };
    cell.results.push((Check::Release, verdict, t.elapsed()));
    running.0.reverse();
    drop(running);
    keep_capture(&lab, dir, &mut cell);
    cell
}

/// The file, in a pair's directory, that holds everything the switch carried.
pub const CAPTURE: &str = "capture.pcap";

/// Writes the pair's capture to [`CAPTURE`] in `dir`; a failure to write it fails the last
/// check with the reason (the verdicts stand, but the evidence is missing).
pub(crate) fn keep_capture(lab: &Lab, dir: &Path, cell: &mut Cell) {
    if let Err(e) = lab.write_pcap(&dir.join(CAPTURE))
        && let Some((_, verdict, _)) = cell.results.last_mut()
    {
        *verdict = Verdict::Fail(e.to_string());
    }
}

/// ARP requests from the client for `target` captured at or after `since`.
fn arp_requests_for(lab: &Lab, since: std::time::SystemTime, target: Ipv4Addr) -> usize {
    lab.captured()
        .iter()
        .filter(|c| {
            let f = &c.frame;
            c.at >= since
                && f.get(6..12) == Some(&CLIENT_MAC[..])
                && f.get(12..14) == Some(&[0x08, 0x06][..])
                && f.get(20..22) == Some(&[0, 1][..])
                && f.get(38..42) == Some(&target.octets()[..])
        })
        .count()
}

/// Sends SIGTERM to a child (the client), the release signal of udhcpc -R and of the
/// reference agent with RELEASE_ON_SIGTERM.
pub(crate) fn terminate(child: Option<&Child>) -> Result<(), String> {
    let Some(c) = child else {
        return Err("the client is not running".into());
    };
    let status = std::process::Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err("kill failed".into())
    }
}

/// The matrix as JSON: `[{"family", "server", "client", "passed", "checks": [{"check",
/// "verdict", "why", "seconds"}], "findings": [TEXT]}]`.
pub fn json(cells: &[Cell]) -> serde_json::Value {
    serde_json::Value::Array(
        cells
            .iter()
            .map(|c| {
                serde_json::json!({
                    "family": c.family.name(),
                    "server": c.server.name(),
                    "client": c.client.name(),
                    "passed": c.passed(),
                    "checks": c.results.iter().map(|(k, v, d)| {
                        let (verdict, why) = match v {
                            Verdict::Pass => ("pass", String::new()),
                            Verdict::Fail(w) => ("fail", w.clone()),
                            Verdict::Skip(w) => ("skip", w.clone()),
                        };
                        serde_json::json!({ "check": k.name(), "verdict": verdict, "why": why, "seconds": d.as_secs_f64() })
                    }).collect::<Vec<_>>(),
                    "findings": c.findings,
                })
            })
            .collect(),
    )
}

/// The matrix as a table: a row per server, a column per client, each cell the checks'
/// initials passed (`DRL`), with `-` for a skip and `x` for a failure; the failures below.
pub fn table(cells: &[Cell], servers: &[Server], clients: &[Client]) -> String {
    let mut out = format!("{:<10}", "server");
    for c in clients {
        out.push_str(&format!(" {:<10}", c.name()));
    }
    out.push('\n');
    for s in servers {
        out.push_str(&format!("{:<10}", s.name()));
        for c in clients {
            let mark = cells
                .iter()
                .find(|x| x.server == *s && x.client == *c)
                .map_or("n/a".to_string(), |x| {
                    x.results
                        .iter()
                        .map(|(k, v, _)| match v {
                            Verdict::Pass => k.letter().to_string(),
                            Verdict::Skip(_) => "-".into(),
                            Verdict::Fail(_) => "x".into(),
                        })
                        .collect()
                });
            out.push_str(&format!(" {mark:<10}"));
        }
        out.push('\n');
    }
    let family = cells.first().map_or(Family::V4, |c| c.family);
    let legend: Vec<String> = family
        .checks()
        .iter()
        .map(|k| format!("{} {}", k.letter(), k.name()))
        .collect();
    out.push_str(&format!(
        "{}: passed; - skipped; x failed\n",
        legend.join(", ")
    ));
    for cell in cells {
        for (k, v, _) in &cell.results {
            match v {
                Verdict::Fail(w) => out.push_str(&format!(
                    "FAILED {} x {} {}: {w}\n",
                    cell.server.name(),
                    cell.client.name(),
                    k.name()
                )),
                Verdict::Skip(w) => out.push_str(&format!(
                    "skipped {} x {} {}: {w}\n",
                    cell.server.name(),
                    cell.client.name(),
                    k.name()
                )),
                Verdict::Pass => {}
            }
        }
        for f in &cell.findings {
            out.push_str(&format!(
                "finding {} x {}: {f}\n",
                cell.server.name(),
                cell.client.name()
            ));
        }
    }
    out
}

/// The matrix as one self-contained HTML page: servers down, clients across, each cell its
/// checks coloured (pass, skip, fail) with the reason on hover, and its findings, if any.
pub fn html(cells: &[Cell], servers: &[Server], clients: &[Client]) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut rows = String::new();
    for s in servers {
        rows.push_str(&format!("<tr><th>{}</th>", s.name()));
        for c in clients {
            rows.push_str("<td>");
            if let Some(cell) = cells.iter().find(|x| x.server == *s && x.client == *c) {
                for (k, v, d) in &cell.results {
                    let (class, why) = match v {
                        Verdict::Pass => ("pass", format!("{:.1} s", d.as_secs_f64())),
                        Verdict::Skip(w) => ("skip", w.clone()),
                        Verdict::Fail(w) => ("fail", w.clone()),
                    };
                    rows.push_str(&format!(
                        "<span class=\"{class}\" title=\"{}\">{}</span> ",
                        esc(&why),
                        k.name()
                    ));
                }
                if !cell.findings.is_empty() {
                    rows.push_str(&format!(
                        "<span class=\"finding\" title=\"{}\">{} finding(s)</span>",
                        esc(&cell.findings.join("\n\n")),
                        cell.findings.len()
                    ));
                }
            } else {
                rows.push_str("n/a");
            }
            rows.push_str("</td>");
        }
        rows.push_str("</tr>\n");
    }
    let head: String = clients
        .iter()
        .map(|c| format!("<th>{}</th>", c.name()))
        .collect();
    let family = match cells.first().map(|c| c.family) {
        Some(Family::V6) => " (DHCPv6)",
        _ => "",
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>dhcplab interop matrix{family}</title><style>\n\
         body {{ font: 14px system-ui, sans-serif; margin: 16px; }} table {{ border-collapse: collapse; }}\n\
         th, td {{ border: 1px solid #ccc; padding: 6px 10px; }} span {{ padding: 1px 5px; border-radius: 3px; }}\n\
         .pass {{ background: #d7f0dc; }} .skip {{ background: #eee; color: #777; }} .fail {{ background: #f8d0d0; font-weight: bold; }}\n\
         .finding {{ background: #fff3c4; }}\n\
         </style></head><body><h1>Interop matrix{family}</h1><p>Servers down, clients across; hover a check for its time or reason, and the findings for the RFC text and what the capture showed.</p>\n\
         <table><tr><th>server \\ client</th>{head}</tr>\n{rows}</table></body></html>\n"
    )
}

/// Where a pair's files go under a run's directory.
pub fn pair_dir(root: &Path, server: Server, client: Client) -> PathBuf {
    root.join(format!("{}-{}", server.name(), client.name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_adapters::clients::RealClient;

    /// A DHCPv6 cell of kea-dhcp6 x dhclient -6 with one finding, and a skipped udhcpc one.
    fn cells() -> Vec<Cell> {
        let dhclient = Client::Real(RealClient::Dhclient);
        let udhcpc = Client::Real(RealClient::Udhcpc);
        vec![
            Cell {
                family: Family::V6,
                server: Server::Kea,
                client: dhclient,
                results: Check::ALL6
                    .iter()
                    .map(|k| (*k, Verdict::Pass, Duration::from_millis(1500)))
                    .collect(),
                findings: vec![format!("{} The client sent T1 3600 s.", v6::HINT_TIMERS)],
            },
            Cell {
                family: Family::V6,
                server: Server::Kea,
                client: udhcpc,
                results: Check::ALL6
                    .iter()
                    .map(|k| (*k, Verdict::Skip("no DHCPv6 <here>".into()), Duration::ZERO))
                    .collect(),
                findings: Vec::new(),
            },
        ]
    }

    #[test]
    fn reports_name_the_v6_checks_and_carry_the_findings() {
        let cells = cells();
        let clients = [cells[0].client, cells[1].client];
        let table = table(&cells, &[Server::Kea], &clients);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["kea", "SRL", "---"]
        );
        assert_eq!(
            lines[2],
            "S sarr, R renew, L release: passed; - skipped; x failed"
        );
        assert!(table.contains("skipped kea x udhcpc sarr: no DHCPv6 <here>\n"));
        assert!(table.contains("finding kea x dhclient: RFC 8415 section 21.4"));

        let j = json(&cells);
        assert_eq!(j[0]["family"], "v6");
        assert_eq!(j[0]["checks"][0]["check"], "sarr");
        assert_eq!(j[0]["findings"][0], cells[0].findings[0]);
        assert_eq!(j[1]["findings"], serde_json::json!([]));

        let page = html(&cells, &[Server::Kea], &clients);
        assert!(page.contains("<h1>Interop matrix (DHCPv6)</h1>"));
        assert!(page.contains(">1 finding(s)</span>"));
        assert!(page.contains("title=\"RFC 8415 section 21.4: &quot;In a message"));
        assert!(page.contains("title=\"no DHCPv6 &lt;here&gt;\""));
    }
}
