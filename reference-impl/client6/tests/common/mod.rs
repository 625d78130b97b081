//! A scripted DHCPv6 server and a virtual clock around the client core: tests say what the
//! server answers, run time forward, and read what the client sent, did and reported.

#![allow(dead_code)]

use dhcplab_client6::{
    Action, Binding, Client, Config, Configuration, Event, HostEvent, Level, Order, Transmit,
};
use dhcplab_wire::v6::{ClientMessage, Duid, Message, MessageType, Options, code};
use std::cell::Cell;
use std::net::Ipv6Addr;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The lab's time zero.
pub fn t0() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// `s` seconds after time zero.
pub fn at(s: f64) -> SystemTime {
    t0() + Duration::from_secs_f64(s)
}

/// Seconds since time zero, to the millisecond.
pub fn secs(t: SystemTime) -> f64 {
    let d = t.duration_since(t0()).expect("after t0");
    (d.as_millis() as f64) / 1000.0
}

pub const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
pub const SERVER_DUID: [u8; 10] = [0, 3, 0, 1, 0x02, 0, 0x5e, 0, 0, 0x53];
pub const OTHER_DUID: [u8; 10] = [0, 3, 0, 1, 0x02, 0, 0x5e, 0, 0, 0x54];
pub const IAID: u32 = 0x5e10_0001;
pub const ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
pub const ADDR2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x200);
pub const PREFIX: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x1, 0, 0, 0, 0, 0);
pub const SERVER_UNICAST: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
pub const MULTICAST: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// The client's configuration in the lab: a fixed DUID-LL, one IA_NA.
pub fn config() -> Config {
    let mut c = Config::new(MAC);
    c.duid = Some(Duid::Ll {
        htype: 1,
        addr: MAC.to_vec(),
    });
    c
}

/// A message the client sent.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: f64,
    pub transmit: Transmit,
    pub message: ClientMessage,
}

impl Sent {
    pub fn kind(&self) -> MessageType {
        self.message.msg_type
    }

    pub fn options(&self) -> dhcplab_wire::v6::OptionsRef<'_> {
        self.message.options.view_at(4)
    }

    pub fn has(&self, c: u16) -> bool {
        self.options().get(c).is_some()
    }

    pub fn elapsed(&self) -> u16 {
        self.options()
            .elapsed_time()
            .expect("elapsed time well formed")
            .expect("elapsed time present")
    }

    /// (IAID, addresses or prefixes named) of every IA_NA.
    pub fn ia_na(&self) -> Vec<(u32, Vec<Ipv6Addr>)> {
        self.options()
            .ia_na()
            .expect("IA_NA")
            .into_iter()
            .map(|ia| {
                let addrs = ia.options.ia_addresses().expect("addresses");
                for a in &addrs {
                    assert_eq!((a.preferred, a.valid), (0, 0), "client lifetimes are 0");
                }
                (ia.iaid, addrs.into_iter().map(|a| a.addr).collect())
            })
            .collect()
    }

    /// (IAID, prefixes named) of every IA_PD.
    pub fn ia_pd(&self) -> Vec<(u32, Vec<(Ipv6Addr, u8)>)> {
        self.options()
            .ia_pd()
            .expect("IA_PD")
            .into_iter()
            .map(|ia| {
                let ps = ia.options.ia_prefixes().expect("prefixes");
                (
                    ia.iaid,
                    ps.into_iter().map(|p| (p.prefix, p.prefix_len)).collect(),
                )
            })
            .collect()
    }
}

/// What the scripted server answers to one message (zero or more datagrams).
pub type Script = Box<dyn FnMut(&Sent) -> Vec<Vec<u8>>>;

/// The client, a virtual clock, a scripted server, and what happened.
pub struct Lab {
    pub client: Client,
    pub now: f64,
    pub sent: Vec<Sent>,
    pub events: Vec<(f64, Event)>,
    pub configured: Vec<Configuration>,
    pub unconfigured: Vec<(f64, Configuration)>,
    pub saved: Option<Binding>,
    pub forgotten: u32,
    pub duid_saved: Option<Duid>,
    pub logs: Vec<(Level, String)>,
    pub script: Script,
    /// Whether the lab reports DAD's outcome when the client configures an address (as the
    /// agent does from the kernel): Duplicate for one in `in_use`, else DadDone, at once.
    pub dad: bool,
    /// Addresses another host holds.
    pub in_use: Vec<Ipv6Addr>,
}

impl Lab {
    /// A lab whose client starts at time zero with `config`, `saved`, and the server `script`.
    pub fn new(config: Config, saved: Option<Binding>, script: Script) -> Self {
        let client = Client::new(config, 7, saved, t0());
        let mut lab = Self {
            client,
            now: 0.0,
            sent: Vec::new(),
            events: Vec::new(),
            configured: Vec::new(),
            unconfigured: Vec::new(),
            saved: None,
            forgotten: 0,
            duid_saved: None,
            logs: Vec::new(),
            script,
            dad: true,
            in_use: Vec::new(),
        };
        lab.drain();
        lab
    }

    /// Carries out the client's actions; the script answers transmissions at once.
    pub fn drain(&mut self) {
        while let Some(a) = self.client.poll_action() {
            match a {
                Action::Transmit(t) => {
                    let message = match Message::decode(&t.payload).expect("client sends valid") {
                        Message::Client(m) => m,
                        Message::Relay(_) => panic!("client sent a relay message"),
                    };
                    assert!(
                        Message::Client(message.clone()).validate().is_empty(),
                        "client message options are well formed"
                    );
                    let s = Sent {
                        at: self.now,
                        transmit: t,
                        message,
                    };
                    self.sent.push(s.clone());
                    for answer in (self.script)(&s) {
                        self.client.handle_datagram(at(self.now), &answer);
                    }
                }
                Action::Configure(c) => {
                    if self.dad && c.prefix_len == 128 {
                        let outcome = if self.in_use.contains(&c.address) {
                            HostEvent::Duplicate(c.address)
                        } else {
                            HostEvent::DadDone(c.address)
                        };
                        self.client.handle_host(at(self.now), outcome);
                    }
                    self.configured.push(c);
                }
                Action::Unconfigure(c) => {
                    self.configured.retain(|x| *x != c);
                    self.unconfigured.push((self.now, c));
                }
                Action::SaveBinding(b) => self.saved = Some(b),
                Action::ForgetBinding => {
                    self.saved = None;
                    self.forgotten += 1;
                }
                Action::SaveDuid(d) => self.duid_saved = Some(d),
                Action::Program(Order::Run { run, event }) => {
                    self.events.push((self.now, event));
                    self.client.handle_program_exit(at(self.now), run);
                }
                Action::Program(Order::Signal { .. }) => {}
                Action::Log { level, text } => self.logs.push((level, text)),
            }
        }
    }

    /// Runs the clock to `until` seconds, firing every timer on the way.
    pub fn run_until(&mut self, until: f64) {
        loop {
            self.drain();
            let Some(next) = self.client.poll_timeout() else {
                break;
            };
            let n = secs(next);
            if n > until {
                break;
            }
            self.now = self.now.max(n);
            self.client.handle_timeout(next);
        }
        self.now = self.now.max(until);
        self.drain();
    }

    /// A host event at `t`.
    pub fn host(&mut self, t: f64, event: HostEvent) {
        self.run_until(t);
        self.client.handle_host(at(t), event);
        self.drain();
    }

    /// A datagram from the server at `t`.
    pub fn deliver(&mut self, t: f64, payload: &[u8]) {
        self.run_until(t);
        self.client.handle_datagram(at(t), payload);
        self.drain();
    }

    pub fn sent_of(&self, kind: MessageType) -> Vec<Sent> {
        self.sent
            .iter()
            .filter(|s| s.kind() == kind)
            .cloned()
            .collect()
    }

    pub fn event_names(&self) -> Vec<&'static str> {
        self.events.iter().map(|(_, e)| e.name()).collect()
    }

    pub fn last(&self) -> &Sent {
        self.sent.last().expect("something sent")
    }
}

/// Status Code option data.
pub fn status(code: u16, text: &str) -> Vec<u8> {
    [&code.to_be_bytes()[..], text.as_bytes()].concat()
}

/// An IA Address suboption: address, preferred, valid.
pub fn ia_addr(addr: Ipv6Addr, preferred: u32, valid: u32) -> Vec<u8> {
    let mut data = addr.octets().to_vec();
    data.extend_from_slice(&preferred.to_be_bytes());
    data.extend_from_slice(&valid.to_be_bytes());
    option(code::IA_ADDR, &data)
}

/// An IA Prefix suboption.
pub fn ia_prefix(prefix: Ipv6Addr, len: u8, preferred: u32, valid: u32) -> Vec<u8> {
    let mut data = preferred.to_be_bytes().to_vec();
    data.extend_from_slice(&valid.to_be_bytes());
    data.push(len);
    data.extend_from_slice(&prefix.octets());
    option(code::IA_PREFIX, &data)
}

/// An option's wire bytes (for suboptions).
pub fn option(code: u16, data: &[u8]) -> Vec<u8> {
    let mut out = code.to_be_bytes().to_vec();
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// IA_NA or IA_PD data: IAID, T1, T2, then suboptions.
pub fn ia(iaid: u32, t1: u32, t2: u32, sub: &[Vec<u8>]) -> Vec<u8> {
    let mut data = iaid.to_be_bytes().to_vec();
    data.extend_from_slice(&t1.to_be_bytes());
    data.extend_from_slice(&t2.to_be_bytes());
    for s in sub {
        data.extend_from_slice(s);
    }
    data
}

/// A server message answering `to`: its xid and Client ID, our Server ID, then `extra`.
pub fn answer(to: &Sent, kind: MessageType, extra: &[(u16, Vec<u8>)]) -> Vec<u8> {
    answer_from(to, kind, &SERVER_DUID, extra)
}

/// As [`answer`], from the server with DUID `server`.
pub fn answer_from(
    to: &Sent,
    kind: MessageType,
    server: &[u8],
    extra: &[(u16, Vec<u8>)],
) -> Vec<u8> {
    let mut m = ClientMessage::new(kind, to.message.xid);
    let client_id = to.options().get(code::CLIENT_ID).expect("client id").data;
    let mut o = Options::new();
    o.push(code::SERVER_ID, server).expect("server id");
    o.push(code::CLIENT_ID, client_id).expect("client id");
    for (c, d) in extra {
        o.push(*c, d).expect("option");
    }
    m.options = o;
    Message::Client(m).encode()
}

/// The usual lifetimes: preferred 1000 s, valid 2000 s, T1 500 s, T2 800 s.
pub const PREFERRED: u32 = 1000;
pub const VALID: u32 = 2000;
pub const T1: u32 = 500;
pub const T2: u32 = 800;

/// A well-behaved server: ADDR in the IA_NA of every IAID asked, PREFIX/56 in every IA_PD,
/// answers to every message.
pub fn good_server() -> Script {
    Box::new(|s: &Sent| {
        let ias = granted(s);
        match s.kind() {
            MessageType::SOLICIT => vec![answer(s, MessageType::ADVERTISE, &ias)],
            MessageType::REQUEST | MessageType::RENEW | MessageType::REBIND => {
                vec![answer(s, MessageType::REPLY, &ias)]
            }
            MessageType::CONFIRM | MessageType::RELEASE | MessageType::DECLINE => {
                vec![answer(
                    s,
                    MessageType::REPLY,
                    &[(code::STATUS_CODE, status(0, "ok"))],
                )]
            }
            MessageType::INFORMATION_REQUEST => vec![answer(
                s,
                MessageType::REPLY,
                &[(code::DNS_SERVERS, SERVER_UNICAST.octets().to_vec())],
            )],
            _ => Vec::new(),
        }
    })
}

/// The IAs a good server grants for `s`: the n-th IA_NA gets ADDR + n, IA_PDs PREFIX/56.
pub fn granted(s: &Sent) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for (n, (iaid, _)) in s.ia_na().into_iter().enumerate() {
        let a = nth(ADDR, n);
        out.push((
            code::IA_NA,
            ia(iaid, T1, T2, &[ia_addr(a, PREFERRED, VALID)]),
        ));
    }
    for (iaid, _) in s.ia_pd() {
        out.push((
            code::IA_PD,
            ia(iaid, T1, T2, &[ia_prefix(PREFIX, 56, PREFERRED, VALID)]),
        ));
    }
    out
}

/// `base` + `n` in the last group.
pub fn nth(base: Ipv6Addr, n: usize) -> Ipv6Addr {
    let mut seg = base.segments();
    seg[7] += n as u16;
    Ipv6Addr::from(seg)
}

/// A good server that can be switched off.
pub fn switchable() -> (Script, Rc<Cell<bool>>) {
    let up = Rc::new(Cell::new(true));
    let flag = up.clone();
    let mut inner = good_server();
    (
        Box::new(move |s: &Sent| if flag.get() { inner(s) } else { Vec::new() }),
        up,
    )
}

/// A server that never answers.
pub fn silent() -> Script {
    Box::new(|_| Vec::new())
}

/// Checks a run of transmissions against RFC 8415 section 15: the first RT is in
/// IRT*(1 + [lo, 0.1]), each later one within 2*RTprev +/- 0.1*RTprev, or within MRT +/-
/// 0.1*MRT once 2.1*RTprev passes MRT (ms grain, 1 ms slack).
pub fn assert_backoff(times: &[f64], irt: f64, mrt: f64, first_strictly_above: bool) {
    assert!(times.len() >= 2, "need retransmissions, got {times:?}");
    let rts: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let eps = 0.0015;
    let lo = if first_strictly_above {
        irt + 0.001
    } else {
        irt * 0.9
    };
    assert!(
        rts[0] >= lo - eps && rts[0] <= irt * 1.1 + eps,
        "first RT {} outside [{lo}, {}]",
        rts[0],
        irt * 1.1
    );
    for w in rts.windows(2) {
        let (prev, rt) = (w[0], w[1]);
        let doubled_ok = rt >= 1.9 * prev - eps && rt <= 2.1 * prev + eps;
        let capped_ok = mrt > 0.0 && rt >= 0.9 * mrt - eps && rt <= 1.1 * mrt + eps;
        assert!(
            doubled_ok || capped_ok,
            "RT {rt} after {prev} is neither 2*RTprev+-10% nor MRT {mrt}+-10% ({rts:?})"
        );
        if mrt > 0.0 {
            assert!(rt <= 1.1 * mrt + eps, "RT {rt} above MRT {mrt}");
        }
    }
}
