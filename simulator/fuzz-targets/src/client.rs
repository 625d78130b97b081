//! The client cores' targets: a client starts (it sends its first DISCOVER or SOLICIT),
//! receives the input's datagrams with host events between them, its probes and event
//! program runs are answered, and its timers fire as the control bytes say. Every datagram it
//! sends must decode.
//!
//! Flags byte: bit 0 a second IA (v4: BOOTP instead), bit 1 rapid commit (v4: no ARP probe),
//! bit 2 information-only (v6), bit 3 logs on.
//!
//! Control byte of a record: bits 0-2 a host event before it (none, link down, link up,
//! suspend, resume, release, drop, inform / duplicate address), bit 3 make it the client's
//! (its transaction id, and its hardware address or DUID, when it decodes), bits 4-5 how many
//! timers fire after it, bit 6 probes find the address in use, bit 7 DAD done (v6).

use crate::input::records;
use crate::server::{advance, t0};
use dhcplab_client::{Action, Client, Config, HostEvent};
use dhcplab_client6::{
    Action as Action6, Client as Client6, Config as Config6, HostEvent as HostEvent6, Order,
};
use dhcplab_wire::{v4, v6};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

/// Feedback the v4 client's actions ask of the driver.
enum Feedback4 {
    Probe(Ipv4Addr),
    Exited(u64),
}

/// Takes every action of a v4 client, answering probes and program runs at once; returns the
/// transaction id of the last datagram it sent.
fn drain4(c: &mut Client, now: SystemTime, in_use: bool, xid: &mut u32) {
    for _ in 0..64 {
        let mut feedback = Vec::new();
        while let Some(a) = c.poll_action() {
            match a {
                Action::Transmit(t) => {
                    let m = v4::Message::decode(&t.payload);
                    assert!(m.is_ok(), "client4 sent a datagram that does not decode");
                    if let Ok(m) = m {
                        *xid = m.xid;
                    }
                }
                Action::Probe(a) => feedback.push(Feedback4::Probe(a)),
                Action::RunProgram { run, .. } => feedback.push(Feedback4::Exited(run)),
                _ => {}
            }
        }
        if feedback.is_empty() {
            return;
        }
        for f in feedback {
            match f {
                Feedback4::Probe(a) => c.handle_probe(now, a, in_use),
                Feedback4::Exited(run) => c.handle_program_exit(now, run),
            }
        }
    }
}

/// `payload` as a message of this client's exchange `xid`, when it decodes.
fn claim4(payload: &[u8], xid: u32) -> Option<Vec<u8>> {
    let mut m = v4::Message::decode(payload).ok()?;
    m.xid = xid;
    m.chaddr = [0; 16];
    m.chaddr[..6].copy_from_slice(&MAC);
    m.htype = 1;
    m.hlen = 6;
    Some(m.encode())
}

/// The v4 client core given the input's datagrams (see the module's flags and control byte).
pub fn client4(data: &[u8]) {
    let (flags, recs) = records(data);
    let mut config = Config::new(MAC);
    config.bootp = flags & 1 != 0;
    config.probe = flags & 2 == 0;
    config.log = flags & 8 != 0;
    let mut now = t0();
    let mut c = Client::new(config, u64::from(flags), None, now);
    let mut xid = 0;
    drain4(&mut c, now, false, &mut xid);
    for r in recs {
        let k = r.control;
        let in_use = k & 0x40 != 0;
        let event = match k & 7 {
            1 => Some(HostEvent::LinkDown),
            2 => Some(HostEvent::LinkUp),
            3 => Some(HostEvent::Suspend),
            4 => Some(HostEvent::Resume),
            5 => Some(HostEvent::Release),
            6 => Some(HostEvent::Drop),
            7 => Some(HostEvent::Inform(Ipv4Addr::new(192, 0, 2, 77))),
            _ => None,
        };
        if let Some(e) = event {
            c.handle_host(now, e);
            drain4(&mut c, now, in_use, &mut xid);
        }
        let claimed = if k & 8 != 0 {
            claim4(r.payload, xid)
        } else {
            None
        };
        c.handle_datagram(now, claimed.as_deref().unwrap_or(r.payload));
        drain4(&mut c, now, in_use, &mut xid);
        for _ in 0..(k >> 4) & 3 {
            if !advance(&mut now, c.poll_timeout()) {
                break;
            }
            c.handle_timeout(now);
            drain4(&mut c, now, in_use, &mut xid);
        }
    }
    for _ in 0..3 {
        if !advance(&mut now, c.poll_timeout()) {
            break;
        }
        c.handle_timeout(now);
        drain4(&mut c, now, false, &mut xid);
    }
}

/// What the v6 client's actions ask of the driver, and what they tell the target.
#[derive(Default)]
struct Seen6 {
    xid: u32,
    configured: Option<Ipv6Addr>,
}

/// Takes every action of a v6 client, answering program runs at once.
fn drain6(c: &mut Client6, now: SystemTime, seen: &mut Seen6) {
    for _ in 0..64 {
        let mut exited = Vec::new();
        while let Some(a) = c.poll_action() {
            match a {
                Action6::Transmit(t) => {
                    let m = v6::Message::decode(&t.payload);
                    assert!(m.is_ok(), "client6 sent a datagram that does not decode");
                    if let Ok(v6::Message::Client(m)) = m {
                        seen.xid = m.xid;
                    }
                }
                Action6::Configure(cfg) => seen.configured = Some(cfg.address),
                Action6::Program(Order::Run { run, .. }) => exited.push(run),
                _ => {}
            }
        }
        if exited.is_empty() {
            return;
        }
        for run in exited {
            c.handle_program_exit(now, run);
        }
    }
}

/// `payload` as a message of this client's exchange `xid` with its Client Identifier, when
/// it decodes as a non-relay message.
fn claim6(payload: &[u8], xid: u32, duid: &[u8]) -> Option<Vec<u8>> {
    let v6::Message::Client(mut m) = v6::Message::decode(payload).ok()? else {
        return None;
    };
    m.xid = xid;
    m.options.remove(v6::code::CLIENT_ID);
    m.options.push(v6::code::CLIENT_ID, duid).ok()?;
    Some(v6::Message::Client(m).encode())
}

/// The v6 client core given the input's datagrams (see the module's flags and control byte).
pub fn client6(data: &[u8]) {
    let (flags, recs) = records(data);
    let mut config = Config6::new(MAC);
    config.duid = Some(v6::Duid::Ll {
        htype: 1,
        addr: MAC.to_vec(),
    });
    if flags & 1 != 0 {
        config.pd_iaids = vec![1];
    }
    config.rapid_commit = flags & 2 != 0;
    config.information_only = flags & 4 != 0;
    let mut now = t0();
    let mut c = Client6::new(config, u64::from(flags), None, now);
    let mut seen = Seen6::default();
    drain6(&mut c, now, &mut seen);
    for r in recs {
        let k = r.control;
        let event = match k & 7 {
            1 => Some(HostEvent6::LinkDown),
            2 => Some(HostEvent6::LinkUp),
            3 => Some(HostEvent6::Suspend),
            4 => Some(HostEvent6::Resume),
            5 => Some(HostEvent6::Release),
            6 => Some(HostEvent6::Drop),
            7 => seen.configured.map(HostEvent6::Duplicate),
            _ => None,
        };
        if let Some(e) = event {
            c.handle_host(now, e);
            drain6(&mut c, now, &mut seen);
        }
        let claimed = if k & 8 != 0 {
            claim6(r.payload, seen.xid, c.duid())
        } else {
            None
        };
        c.handle_datagram(now, claimed.as_deref().unwrap_or(r.payload));
        drain6(&mut c, now, &mut seen);
        if k & 0x80 != 0
            && let Some(a) = seen.configured
        {
            c.handle_host(now, HostEvent6::DadDone(a));
            drain6(&mut c, now, &mut seen);
        }
        for _ in 0..(k >> 4) & 3 {
            if !advance(&mut now, c.poll_timeout()) {
                break;
            }
            c.handle_timeout(now);
            drain6(&mut c, now, &mut seen);
        }
    }
    for _ in 0..3 {
        if !advance(&mut now, c.poll_timeout()) {
            break;
        }
        c.handle_timeout(now);
        drain6(&mut c, now, &mut seen);
    }
}
