//! DHCPv6 conversations re-enacted: where a capture's IPv6 addresses and link addresses go in
//! the run, the recorded messages rewritten in place (transaction ids, DUIDs' and EUI-64
//! identifiers' link addresses, every address and prefix in relay headers, IAs and address
//! options), and the plan: one scripted peer per recorded client, or per relay agent for
//! relayed requests (sent as RELAY-FORW with every relay layer kept), each request sent at
//! its recorded time or after the server's answer, a Request's or Release's server
//! identifier taken from the run's answer.

use crate::{Peer6, ReplayError, Replayed};
use dhcplab_conversations::{Family, Found, Role};
use dhcplab_wire::v4::Hex;
use dhcplab_wire::v6::catalogue::{self, Format, code};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// Where recorded /48s go first: 2001:db8:a000::/48 upwards (RFC 3849's range, clear of the
/// low /48s scenarios use by hand).
const FIRST_BLOCK: u16 = 0xa000;

/// How deep a recorded message is rewritten: every relay layer the codec reads
/// (`dhcplab_wire::v6::MAX_DEPTH`), and in the innermost one as many levels of options in
/// options again (IA, IA Address, Status Code need three). Deeper bytes are a crafted
/// message's, left as recorded.
const MAX_NESTING: usize = 2 * dhcplab_wire::v6::MAX_DEPTH;

/// The capture's IPv6 addresses and link addresses, and where each goes in the run.
#[derive(Debug, Clone, Default)]
pub struct AddressMap6 {
    /// A recorded /48 (its first address) and the run's, in the order they were seen; host
    /// and subnet parts (the low 80 bits) are kept.
    pub blocks: Vec<(Ipv6Addr, Ipv6Addr)>,
    /// Recorded link address and the run's.
    pub macs: Vec<([u8; 6], [u8; 6])>,
    /// The run's /48s given to pools no recorded address shows.
    fresh: Vec<u64>,
    /// How many link addresses the DHCPv4 part of the plan gave out before (the v6 ones
    /// follow, so a dual-stack capture never gives two hosts one link address).
    first_mac: usize,
}

/// The top 48 bits of an address.
fn block_of(a: Ipv6Addr) -> u64 {
    (u128::from(a) >> 80) as u64
}

fn with_block(a: Ipv6Addr, block: u64) -> Ipv6Addr {
    let low = u128::from(a) & ((1u128 << 80) - 1);
    Ipv6Addr::from((u128::from(block) << 80) | low)
}

/// 2001:db8::/32 (RFC 3849).
fn in_documentation(a: Ipv6Addr) -> bool {
    dhcplab_scenario::v6::in_prefix6(a, Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32)
}

/// The modified EUI-64 interface identifier of a link address (RFC 4291 appendix A).
fn eui64(mac: [u8; 6]) -> [u8; 8] {
    let [a, b, c, d, e, f] = mac;
    [a ^ 0x02, b, c, 0xff, 0xfe, d, e, f]
}

/// The link address inside a link-local address made by modified EUI-64, if it is one.
fn mac_of_link_local(a: Ipv6Addr) -> Option<[u8; 6]> {
    let o = a.octets();
    (a.is_unicast_link_local() && o[11] == 0xff && o[12] == 0xfe)
        .then(|| [o[8] ^ 0x02, o[9], o[10], o[13], o[14], o[15]])
}

/// The link address a DUID-LLT or DUID-LL of Ethernet (hardware type 1) holds.
pub(crate) fn mac_of_duid(duid: &[u8]) -> Option<[u8; 6]> {
    let tail = match duid {
        [0, 1, 0, 1, _, _, _, _, rest @ ..] | [0, 3, 0, 1, rest @ ..] => rest,
        _ => return None,
    };
    <[u8; 6]>::try_from(tail).ok()
}

impl AddressMap6 {
    /// A map whose link addresses follow the `first_mac` the DHCPv4 part gave out.
    pub(crate) fn after(first_mac: usize) -> Self {
        AddressMap6 {
            first_mac,
            ..AddressMap6::default()
        }
    }

    /// Where a recorded address goes: link-local, multicast and unspecified addresses stay
    /// (their EUI-64 identifiers are rewritten with the link addresses); an address of
    /// 2001:db8::/32 stays unless its /48 was given to another; any other gets its /48's
    /// place (2001:db8:a000::/48 upwards, the same one each time), low 80 bits kept.
    pub fn address(&mut self, a: Ipv6Addr) -> Ipv6Addr {
        if a.is_unspecified() || a.is_multicast() || a.is_unicast_link_local() || a.is_loopback() {
            return a;
        }
        let block = block_of(a);
        if let Some((_, l)) = self.blocks.iter().find(|(r, _)| block_of(*r) == block) {
            return with_block(a, block_of(*l));
        }
        if in_documentation(a) && !self.taken(block) {
            self.blocks.push((
                with_block(Ipv6Addr::UNSPECIFIED, block),
                with_block(Ipv6Addr::UNSPECIFIED, block),
            ));
            return a;
        }
        let base = block_of(Ipv6Addr::new(0x2001, 0xdb8, FIRST_BLOCK, 0, 0, 0, 0, 0));
        let lab = (0..0x6000u64)
            .map(|n| base + n)
            .find(|b| !self.taken(*b))
            .unwrap_or(base);
        self.blocks.push((
            with_block(Ipv6Addr::UNSPECIFIED, block),
            with_block(Ipv6Addr::UNSPECIFIED, lab),
        ));
        with_block(a, lab)
    }

    /// A /48 of the run no recorded address went to, for pools the capture does not show.
    pub fn fresh_block(&mut self) -> Ipv6Addr {
        let base = block_of(Ipv6Addr::new(0x2001, 0xdb8, FIRST_BLOCK, 0, 0, 0, 0, 0));
        let lab = (0..0x6000u64)
            .map(|n| base + n)
            .find(|b| !self.taken(*b))
            .unwrap_or(base);
        self.fresh.push(lab);
        with_block(Ipv6Addr::UNSPECIFIED, lab)
    }

    /// Whether the run's /48 `block` went to a recorded one or to a pool.
    fn taken(&self, block: u64) -> bool {
        self.fresh.contains(&block) || self.blocks.iter().any(|(_, l)| block_of(*l) == block)
    }

    /// Where a run's address came from in the capture, if the map moved it.
    pub fn recorded(&self, lab: Ipv6Addr) -> Option<Ipv6Addr> {
        let block = block_of(lab);
        self.blocks
            .iter()
            .find(|(r, l)| block_of(*l) == block && r != l)
            .map(|(r, _)| with_block(lab, block_of(*r)))
    }

    /// The run's link address for a recorded one, given out after the DHCPv4 part's.
    pub fn mac(&mut self, recorded: [u8; 6]) -> [u8; 6] {
        if let Some((_, l)) = self.macs.iter().find(|(r, _)| *r == recorded) {
            return *l;
        }
        let lab = crate::map::lab_mac(self.first_mac + self.macs.len());
        self.macs.push((recorded, lab));
        lab
    }

    /// Replaces every recorded link address (6 bytes) and its EUI-64 identifier (8 bytes)
    /// in `bytes` with the run's.
    fn replace_macs(&self, bytes: &mut [u8]) {
        for (r, l) in &self.macs {
            replace_all(bytes, r, l);
            replace_all(bytes, &eui64(*r), &eui64(*l));
        }
    }

    /// `payload` (a DHCPv6 message) rewritten in place: the client message's transaction id
    /// `xid`, recorded link addresses (in DUIDs, EUI-64 identifiers and anywhere else), relay
    /// headers' link and peer addresses, IA addresses and prefixes, and address options.
    /// Bytes that do not frame as options, and options nested deeper than [`MAX_NESTING`],
    /// are left as they are.
    pub fn rewrite(&mut self, payload: &[u8], xid: u32) -> Vec<u8> {
        let mut out = payload.to_vec();
        self.replace_macs(&mut out);
        self.rewrite_message(&mut out, xid, 0);
        out
    }

    fn rewrite_message(&mut self, m: &mut [u8], xid: u32, depth: usize) {
        let Some(&kind) = m.first() else { return };
        if catalogue::MessageType(kind).is_relay() {
            if m.len() < 34 || depth > MAX_NESTING {
                return;
            }
            for at in [2, 18] {
                self.rewrite_address(&mut m[at..at + 16]);
            }
            self.rewrite_options(&mut m[34..], xid, depth);
        } else if m.len() >= 4 {
            m[1..4].copy_from_slice(&xid.to_be_bytes()[1..]);
            self.rewrite_options(&mut m[4..], xid, depth);
        }
    }

    fn rewrite_address(&mut self, bytes: &mut [u8]) {
        if let Ok(b) = <[u8; 16]>::try_from(&*bytes) {
            bytes.copy_from_slice(&self.address(Ipv6Addr::from(b)).octets());
        }
    }

    /// `depth` counts every level of nesting (relay layers and options in options), so a
    /// crafted option nested in itself thousands of times stops at [`MAX_NESTING`] instead
    /// of overflowing the stack.
    fn rewrite_options(&mut self, bytes: &mut [u8], xid: u32, depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        let deeper = depth + 1;
        for (c, start, end) in options_in(bytes) {
            let data = &mut bytes[start..end];
            match c {
                code::RELAY_MSG => self.rewrite_message(data, xid, deeper),
                code::IA_NA | code::IA_PD if data.len() >= 12 => {
                    self.rewrite_options(&mut data[12..], xid, deeper);
                }
                code::IA_TA if data.len() >= 4 => {
                    self.rewrite_options(&mut data[4..], xid, deeper);
                }
                code::IA_ADDR if data.len() >= 24 => {
                    self.rewrite_address(&mut data[..16]);
                    self.rewrite_options(&mut data[24..], xid, deeper);
                }
                code::IA_PREFIX if data.len() >= 25 => {
                    self.rewrite_address(&mut data[9..25]);
                    self.rewrite_options(&mut data[25..], xid, deeper);
                }
                _ => match catalogue::lookup(c).map(|(_, f)| f) {
                    Some(Format::Addr | Format::Addrs) if data.len() % 16 == 0 => {
                        data.chunks_exact_mut(16)
                            .for_each(|a| self.rewrite_address(a));
                    }
                    Some(Format::Nested) => self.rewrite_options(data, xid, deeper),
                    _ => {}
                },
            }
        }
    }
}

/// The options framed in `bytes`: code, and where its data starts and ends; up to the first
/// option that does not frame.
pub(crate) fn options_in(bytes: &[u8]) -> Vec<(u16, usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(h) = bytes.get(i..i + 4) {
        let c = u16::from_be_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let end = i + 4 + len;
        if end > bytes.len() {
            break;
        }
        out.push((c, i + 4, end));
        i = end;
    }
    out
}

fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    if from.len() != to.len() || from.is_empty() {
        return;
    }
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
}

/// A recorded DHCPv6 request (or RELAY-FORW), as the run sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send6 {
    /// Its frame's number in the capture.
    pub record: u64,
    /// Its capture time (ns since 1970).
    pub at_ns: i128,
    /// The peer that sends it (index into [`Plan6::peers`]).
    pub peer: usize,
    /// Its conversation (index into [`Plan6::conversations`]).
    pub conversation: usize,
    /// The client message's type (inside relay layers).
    pub kind: String,
    /// UDP source in the run.
    pub src: SocketAddrV6,
    /// UDP destination in the run.
    pub dst: SocketAddrV6,
    /// The rewritten payload; its Server Identifier, when [`Send6::server_id`], is the
    /// recorded server's, which the run replaces with its own server's.
    pub payload: Vec<u8>,
    /// It names the recorded server (option 2, in a client message): the run sends the
    /// server identifier its server gave instead.
    pub server_id: bool,
}

/// A recorded DHCPv6 answer, rewritten into the run for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer6 {
    /// Its frame's number in the capture.
    pub record: u64,
    /// Its capture time (ns since 1970).
    pub at_ns: i128,
    /// The peer it went to.
    pub peer: usize,
    /// Its conversation.
    pub conversation: usize,
    /// The client message's type (inside relay layers).
    pub kind: String,
    /// The rewritten payload.
    pub payload: Vec<u8>,
    /// The recorded client (or relay) sent its next request only after it.
    pub waited: bool,
}

/// One step of the DHCPv6 re-enactment, in capture order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item6 {
    /// A request to send.
    Send(Send6),
    /// An answer the recorded server gave.
    Answer(Answer6),
}

impl crate::Step for Item6 {
    fn peer(&self) -> usize {
        match self {
            Item6::Send(s) => s.peer,
            Item6::Answer(a) => a.peer,
        }
    }
    fn is_send(&self) -> bool {
        matches!(self, Item6::Send(_))
    }
    fn waited(&mut self) -> Option<&mut bool> {
        match self {
            Item6::Send(_) => None,
            Item6::Answer(a) => Some(&mut a.waited),
        }
    }
}

impl Item6 {
    /// Its capture time.
    pub fn at_ns(&self) -> i128 {
        match self {
            Item6::Send(s) => s.at_ns,
            Item6::Answer(a) => a.at_ns,
        }
    }

    /// Its conversation.
    pub fn conversation(&self) -> usize {
        match self {
            Item6::Send(s) => s.conversation,
            Item6::Answer(a) => a.conversation,
        }
    }
}

/// The DHCPv6 part of a plan.
#[derive(Debug, Clone)]
pub struct Plan6 {
    /// The run's DHCPv6 server's host name (`srv`, or `srv6` beside a DHCPv4 server).
    pub server_name: String,
    /// Its global address in the run (where relays send).
    pub server: Ipv6Addr,
    /// The DUIDs the recorded server answered with, rewritten (one server stands in).
    pub recorded_servers: Vec<Vec<u8>>,
    /// Its configuration (Kea's JSON, `Dhcp6`).
    pub config: String,
    /// It was derived from the capture (not given).
    pub derived: bool,
    /// The scripted peers.
    pub peers: Vec<Peer6>,
    /// The conversations replayed (transaction ids of 24 bits).
    pub conversations: Vec<Replayed>,
    /// Requests and answers in capture order.
    pub items: Vec<Item6>,
    /// Where the capture's addresses went.
    pub map: AddressMap6,
}

/// A DHCPv6 message of the capture read for planning: its outermost and innermost forms.
struct Read6 {
    outer: dhcplab_wire::v6::Message,
    inner: dhcplab_wire::v6::Message,
}

fn read6(m: &dhcplab_conversations::Message) -> Option<Read6> {
    let outer = dhcplab_wire::v6::Message::decode(&m.payload).ok()?;
    let inner = outer.innermost().ok()?;
    Some(Read6 { outer, inner })
}

/// A client message (or a relay's forwarding of one).
fn is_request6(r: &Read6) -> bool {
    let t = r.outer.msg_type();
    t == catalogue::MessageType::RELAY_FORW
        || (!t.is_relay()
            && ![
                catalogue::MessageType::ADVERTISE,
                catalogue::MessageType::REPLY,
                catalogue::MessageType::RECONFIGURE,
            ]
            .contains(&t))
}

fn relay_depth(r: &Read6) -> usize {
    let mut depth = 0;
    let mut m = r.outer.clone();
    while let Ok(Some(inner)) = m.relayed() {
        depth += 1;
        m = inner;
        if depth > dhcplab_wire::v6::MAX_DEPTH {
            break;
        }
    }
    depth
}

/// Plans the DHCPv6 conversations `chosen` of `found`. `v4_macs` and `v4_peers` are what the
/// DHCPv4 part gave out (the names and link addresses here follow them).
pub(crate) fn plan6(
    found: &Found,
    chosen: &[usize],
    seed: u64,
    config: Option<&str>,
    v4_macs: usize,
    v4_peers: usize,
    left_out: &mut Vec<String>,
) -> Result<Plan6, ReplayError> {
    let mut map = AddressMap6::after(v4_macs);
    let mut rng = dhcplab_rng::Rng::fork(seed, "replay6");
    let prefix = if v4_peers > 0 { "v6-" } else { "" };
    let server_name = if v4_peers > 0 { "srv6" } else { "srv" }.to_string();
    // The recorded server: the first to answer (by its Server Identifier).
    let mut recorded_duids: Vec<Vec<u8>> = Vec::new();
    for &c in chosen {
        for &i in &found.conversations[c].messages {
            let Some(r) = read6(&found.messages[i]) else {
                continue;
            };
            if is_request6(&r) {
                continue;
            }
            if let Some(id) = r.inner.options().get(code::SERVER_ID)
                && !recorded_duids.iter().any(|d| d == id.data)
            {
                recorded_duids.push(id.data.to_vec());
            }
        }
    }
    for other in recorded_duids.iter().skip(1) {
        left_out.push(format!(
            "the DHCPv6 answers of server DUID {}: the run's server stands in for DUID {} only",
            Hex(other),
            Hex(&recorded_duids[0])
        ));
    }
    recorded_duids.truncate(1);
    // Link addresses: each client's (from its DUID, else its link-local source), then those
    // inside relays' peer addresses.
    for &c in chosen {
        for &i in &found.conversations[c].messages {
            let m = &found.messages[i];
            let Some(r) = read6(m) else { continue };
            if !is_request6(&r) {
                continue;
            }
            if let Some(mac) = r
                .inner
                .options()
                .get(code::CLIENT_ID)
                .and_then(|d| mac_of_duid(d.data))
            {
                map.mac(mac);
            }
            if let IpAddr::V6(a) = m.src.ip()
                && m.sender == Role::Client
                && let Some(mac) = mac_of_link_local(a)
            {
                map.mac(mac);
            }
            let mut layer = r.outer.clone();
            while let dhcplab_wire::v6::Message::Relay(rm) = &layer {
                if let Some(mac) = mac_of_link_local(rm.peer_address) {
                    map.mac(mac);
                }
                match layer.relayed() {
                    Ok(Some(inner)) => layer = inner,
                    _ => break,
                }
            }
        }
    }
    let mut peers: Vec<Peer6> = Vec::new();
    let mut conversations = Vec::new();
    let mut items = Vec::new();
    let mut xids = BTreeSet::new();
    let mut relays: Vec<(Ipv6Addr, usize)> = Vec::new();
    let mut server: Option<Ipv6Addr> = None;
    let recorded_ids: Vec<Vec<u8>> = recorded_duids.clone();
    for &c in chosen {
        let conv = &found.conversations[c];
        let read: Vec<(usize, Read6)> = conv
            .messages
            .iter()
            .filter_map(|&i| read6(&found.messages[i]).map(|r| (i, r)))
            .collect();
        let deepest = read
            .iter()
            .filter(|(_, r)| is_request6(r))
            .map(|(_, r)| relay_depth(r))
            .max()
            .unwrap_or(0);
        let relayed = deepest > 0;
        let duid = read
            .iter()
            .find_map(|(_, r)| {
                r.inner
                    .options()
                    .get(code::CLIENT_ID)
                    .map(|d| d.data.to_vec())
            })
            .unwrap_or_default();
        let first_src = read
            .iter()
            .find(|(i, r)| is_request6(r) && found.messages[*i].sender == Role::Client)
            .and_then(|(i, _)| match found.messages[*i].src.ip() {
                IpAddr::V6(a) => mac_of_link_local(a),
                IpAddr::V4(_) => None,
            });
        let recorded_mac = mac_of_duid(&duid).or(first_src).unwrap_or_else(|| {
            // A client known by neither: the last bytes of its DUID stand for it.
            let mut mac = [0u8; 6];
            for (k, b) in duid.iter().rev().take(6).enumerate() {
                mac[5 - k] = *b;
            }
            mac
        });
        let lab_mac = map.mac(recorded_mac);
        let client = match peers.iter().position(|p| !p.relay && p.mac == lab_mac) {
            Some(p) => p,
            None => {
                peers.push(Peer6 {
                    name: format!("{prefix}c{}", peers.iter().filter(|p| !p.relay).count() + 1),
                    mac: lab_mac,
                    address: Some(client_address(lab_mac)),
                    recorded: format!("DUID {}", Hex(&duid)),
                    relay: false,
                });
                peers.len() - 1
            }
        };
        let mut xid = rng.next_u32() & 0x00ff_ffff;
        while !xids.insert(xid) {
            xid = rng.next_u32() & 0x00ff_ffff;
        }
        let index = conversations.len();
        conversations.push(Replayed {
            recorded_xid: conv.xid,
            xid,
            client,
        });
        let mut last_peer = client;
        for (i, r) in &read {
            let m = &found.messages[*i];
            let (SocketAddr::V6(src), SocketAddr::V6(dst)) = (m.src, m.dst) else {
                continue;
            };
            if is_request6(r) {
                let depth = relay_depth(r);
                if depth != deepest {
                    // The same request seen on a link nearer the client: the run sends it
                    // as it reached the server.
                    continue;
                }
                let peer = if relayed {
                    crate::relay_peer(&mut peers, &mut relays, *src.ip(), |n| {
                        let lab = map.address(*src.ip());
                        Peer6 {
                            name: format!("{prefix}r{}", n + 1),
                            mac: crate::map::relay_mac(v4_peers + n),
                            address: (!lab.is_unicast_link_local()).then_some(lab),
                            recorded: src.ip().to_string(),
                            relay: true,
                        }
                    })
                } else {
                    client
                };
                last_peer = peer;
                let payload = map.rewrite(&m.payload, xid);
                let names_recorded = r
                    .inner
                    .options()
                    .get(code::SERVER_ID)
                    .is_some_and(|id| recorded_ids.iter().any(|d| d == id.data));
                let names_server = !relayed && names_recorded;
                if relayed && names_recorded {
                    left_out.push(format!(
                        "#{}: the {} inside RELAY-FORW keeps the recorded server identifier (a scenario cannot put the run's server's inside a relay message yet): the server under test drops it",
                        m.record, m.kind
                    ));
                }
                let lab_dst = map.address(*dst.ip());
                if !lab_dst.is_multicast() && !lab_dst.is_unicast_link_local() && server.is_none() {
                    server = Some(lab_dst);
                }
                let own = peers[peer]
                    .address
                    .unwrap_or_else(|| dhcplab_scenario::link_local(peers[peer].mac));
                items.push(Item6::Send(Send6 {
                    record: m.record,
                    at_ns: m.at_ns,
                    peer,
                    conversation: index,
                    kind: m.kind.clone(),
                    src: SocketAddrV6::new(own, src.port(), 0, 0),
                    dst: SocketAddrV6::new(lab_dst, dst.port(), 0, 0),
                    payload,
                    server_id: names_server,
                }));
            } else {
                let is_relay_repl = r.outer.msg_type() == catalogue::MessageType::RELAY_REPL;
                if relayed != is_relay_repl {
                    continue;
                }
                let from_recorded = r
                    .inner
                    .options()
                    .get(code::SERVER_ID)
                    .is_none_or(|id| recorded_ids.iter().any(|d| d == id.data));
                if !from_recorded {
                    continue;
                }
                if server.is_none() && !src.ip().is_unicast_link_local() && !src.ip().is_multicast()
                {
                    server = Some(map.address(*src.ip()));
                }
                items.push(Item6::Answer(Answer6 {
                    record: m.record,
                    at_ns: m.at_ns,
                    peer: last_peer,
                    conversation: index,
                    kind: m.kind.clone(),
                    payload: map.rewrite(&m.payload, xid),
                    waited: false,
                }));
            }
        }
    }
    items.sort_by_key(Item6::at_ns);
    crate::mark_waited(&mut items);
    let server = server.unwrap_or(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x547));
    // The relays' sends go to the server wherever the capture had them go.
    for it in &mut items {
        if let Item6::Send(s) = it
            && peers[s.peer].relay
        {
            s.dst = SocketAddrV6::new(server, s.dst.port(), 0, 0);
        }
    }
    let recorded_servers: Vec<Vec<u8>> = recorded_duids
        .iter()
        .map(|d| {
            let mut d = d.clone();
            map.replace_macs(&mut d);
            d
        })
        .collect();
    let (config, derived) = match config {
        Some(text) => (text.to_string(), false),
        None => (crate::config6::derive(&items, &peers, &mut map), true),
    };
    Ok(Plan6 {
        server_name,
        server,
        recorded_servers,
        config,
        derived,
        peers,
        conversations,
        items,
        map,
    })
}

/// A client peer's global address: 2001:db8::/64 with the EUI-64 identifier of `mac`.
fn client_address(mac: [u8; 6]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    o[8..].copy_from_slice(&eui64(mac));
    Ipv6Addr::from(o)
}

/// The DHCPv6 conversations of `found` that can be replayed: those holding a request; the
/// others are listed in `left_out`.
pub(crate) fn choose(found: &Found, left_out: &mut Vec<String>) -> Vec<usize> {
    let mut chosen = Vec::new();
    for (i, c) in found.conversations.iter().enumerate() {
        if c.family != Family::V6 {
            continue;
        }
        let has_request = c
            .messages
            .iter()
            .filter_map(|m| read6(&found.messages[*m]))
            .any(|r| is_request6(&r));
        if has_request {
            chosen.push(i);
        } else {
            let record = c
                .messages
                .first()
                .and_then(|m| found.messages.get(*m))
                .map_or(0, |m| m.record);
            left_out.push(format!(
                "#{record}: DHCPv6 answers whose request the capture does not hold (xid {:#08x})",
                c.xid
            ));
        }
    }
    chosen
}

impl Plan6 {
    /// The lines that say where the capture's DHCPv6 addresses went in the run.
    pub fn mapping(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (r, l) in &self.map.blocks {
            if r != l {
                out.push(format!("prefix {r}/48 -> {l}/48"));
            }
        }
        for d in &self.recorded_servers {
            out.push(format!(
                "server DUID {} -> the run's server's DUID, {} ({})",
                Hex(d),
                self.server,
                self.server_name
            ));
        }
        if self.recorded_servers.is_empty() {
            out.push(format!(
                "DHCPv6 server (not in the capture) -> {} ({})",
                self.server, self.server_name
            ));
        }
        for (r, l) in &self.map.macs {
            out.push(format!("link address {} -> {}", Hex(r), Hex(l)));
        }
        out.extend(self.peers.iter().map(Peer6::mapping_line));
        out
    }

    /// What may go wrong with a `Dhcp6` configuration given: a relay's link-address that no
    /// subnet holds or names in `relay.ip-addresses`, or direct clients and no subnet with an
    /// `interface` (Kea selects a subnet for a link-local source by the interface it came in
    /// on, `CfgSubnets6::selectSubnet`). The capture's addresses moved: the warning says where.
    pub(crate) fn warnings(&self, plan: &crate::Plan) -> Vec<String> {
        if self.derived {
            return Vec::new();
        }
        let json = serde_json::from_str::<serde_json::Value>(&self.config).unwrap_or_default();
        let subnets = json["Dhcp6"]["subnet6"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let holds = |link: Ipv6Addr| {
            subnets.iter().any(|s| {
                let prefix = s["subnet"]
                    .as_str()
                    .and_then(|t| dhcplab_scenario::v6::parse_prefix6(t).ok());
                let named = s["relay"]["ip-addresses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a.as_str().and_then(|t| t.parse::<Ipv6Addr>().ok()) == Some(link));
                named
                    || prefix.is_some_and(|(p, len)| dhcplab_scenario::v6::in_prefix6(link, p, len))
            })
        };
        let mut out = Vec::new();
        let mut direct = false;
        for item in &self.items {
            let Item6::Send(s) = item else { continue };
            if !self.peers[s.peer].relay {
                direct = true;
                continue;
            }
            let link = dhcplab_wire::v6::Message::decode(&s.payload)
                .ok()
                .and_then(|m| crate::config6::link_of(&m));
            if let Some(link) = link
                && !holds(link)
            {
                let line = format!(
                    "the configuration given has no subnet for the relay's link-address {link}: the capture's addresses moved ({})",
                    plan.mapping().join("; ")
                );
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
        if direct && !subnets.iter().any(|s| s["interface"].is_string()) {
            out.push(
                "the configuration given has no subnet with an \"interface\": the server selects none for clients on its own link (Kea selects by interface for a link-local source)"
                    .to_string(),
            );
        }
        out
    }

    /// The items of each conversation, in capture order.
    pub fn items_by_conversation(&self) -> Vec<Vec<&Item6>> {
        let mut out = vec![Vec::new(); self.conversations.len()];
        for item in &self.items {
            if let Some(list) = out.get_mut(item.conversation()) {
                list.push(item);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_48_keeps_its_low_80_bits_and_documentation_addresses_stay() {
        let mut m = AddressMap6::default();
        let a: Ipv6Addr = "2001:0:0:fe00::1".parse().expect("address");
        assert_eq!(
            m.address(a),
            "2001:db8:a000:fe00::1"
                .parse::<Ipv6Addr>()
                .expect("address")
        );
        let b: Ipv6Addr = "2a00:1:1:100::".parse().expect("address");
        assert_eq!(
            m.address(b),
            "2001:db8:a001:100::".parse::<Ipv6Addr>().expect("address")
        );
        let kept: Ipv6Addr = "2001:db8:1::1".parse().expect("address");
        assert_eq!(m.address(kept), kept);
        assert_eq!(m.address(a), m.address(a));
        assert_eq!(
            m.recorded("2001:db8:a000:fe00::9".parse().expect("address")),
            Some("2001:0:0:fe00::9".parse().expect("address"))
        );
        let ll: Ipv6Addr = "fe80::a00:27ff:fefe:8f95".parse().expect("address");
        assert_eq!(m.address(ll), ll);
        let fresh = m.fresh_block();
        assert!(in_documentation(fresh));
        assert!(
            !m.blocks
                .iter()
                .any(|(_, l)| block_of(*l) == block_of(fresh))
        );
        assert_ne!(block_of(m.fresh_block()), block_of(fresh));
    }

    #[test]
    fn link_addresses_in_duids_and_eui64_identifiers_are_replaced_together() {
        let mut m = AddressMap6::default();
        let recorded = [0x08, 0x00, 0x27, 0xfe, 0x8f, 0x95];
        let lab = m.mac(recorded);
        assert_eq!(
            mac_of_duid(&[0, 3, 0, 1, 8, 0, 0x27, 0xfe, 0x8f, 0x95]),
            Some(recorded)
        );
        let ll: Ipv6Addr = "fe80::a00:27ff:fefe:8f95".parse().expect("address");
        assert_eq!(mac_of_link_local(ll), Some(recorded));
        // RELAY-FORW with that peer address, carrying a SOLICIT with a DUID-LL of it.
        let solicit = dhcplab_wire::v6::RawBuilder::new(catalogue::MessageType::SOLICIT, 0x123456)
            .option(code::CLIENT_ID, &[0, 3, 0, 1, 8, 0, 0x27, 0xfe, 0x8f, 0x95])
            .build();
        let relay = dhcplab_wire::v6::RawBuilder::relay(
            catalogue::MessageType::RELAY_FORW,
            0,
            "2001:558:ffa8::1".parse().expect("address"),
            ll,
        )
        .option(code::RELAY_MSG, &solicit)
        .build();
        let out = m.rewrite(&relay, 0xabcdef);
        let d = dhcplab_wire::v6::Message::decode(&out).expect("decodes");
        let dhcplab_wire::v6::Message::Relay(r) = &d else {
            panic!("a relay message")
        };
        assert_eq!(r.peer_address, dhcplab_scenario::link_local(lab));
        assert_eq!(
            r.link_address,
            "2001:db8:a000::1".parse::<Ipv6Addr>().expect("address")
        );
        let inner = d.innermost().expect("inner");
        let dhcplab_wire::v6::Message::Client(c) = &inner else {
            panic!("a client message")
        };
        assert_eq!(c.xid, 0xabcdef);
        let id = inner
            .options()
            .get(code::CLIENT_ID)
            .expect("client id")
            .data
            .to_vec();
        assert_eq!(mac_of_duid(&id), Some(lab));
        assert_eq!(out.len(), relay.len());
    }

    /// A relayed Solicit/Advertise and Request/Reply through one relay: the run's peer for
    /// the relay sends both as RELAY-FORW to the server; the Request inside keeps the recorded
    /// server identifier (no variable inside a relay message yet), and the plan says so.
    #[test]
    fn a_relayed_request_naming_the_server_is_listed_as_dropped() {
        use dhcplab_conversations::{ClientKey, Conversation, Message as Seen};
        use dhcplab_wire::v6::{MessageType, RawBuilder};
        let server_id = [0u8, 1, 0, 1, 1, 2, 3, 4, 0, 0x11, 0x22, 0x33, 0x44, 0x55];
        let client_id = [0u8, 3, 0, 1, 0, 1, 2, 3, 4, 5];
        let relay = "2001:db8:1::1".parse::<Ipv6Addr>().expect("address");
        let link = "2a00:1::1".parse::<Ipv6Addr>().expect("address");
        let peer = "fe80::201:2ff:fe03:405"
            .parse::<Ipv6Addr>()
            .expect("address");
        let wrap = |kind, inner: Vec<u8>| {
            RawBuilder::relay(kind, 0, link, peer)
                .option(code::RELAY_MSG, &inner)
                .build()
        };
        let msg = |kind, xid, with_server: bool| {
            let b = RawBuilder::new(kind, xid).option(code::CLIENT_ID, &client_id);
            if with_server {
                b.option(code::SERVER_ID, &server_id)
            } else {
                b
            }
            .build()
        };
        let server: Ipv6Addr = "2001:db8::547".parse().expect("address");
        let mut found = Found::default();
        for (i, (kind, outer, xid, with_server)) in [
            (MessageType::SOLICIT, MessageType::RELAY_FORW, 1, false),
            (MessageType::ADVERTISE, MessageType::RELAY_REPL, 1, true),
            (MessageType::REQUEST, MessageType::RELAY_FORW, 2, true),
            (MessageType::REPLY, MessageType::RELAY_REPL, 2, true),
        ]
        .into_iter()
        .enumerate()
        {
            let forward = outer == MessageType::RELAY_FORW;
            let (src, dst) = if forward {
                (relay, server)
            } else {
                (server, relay)
            };
            found.messages.push(Seen {
                record: i as u64 + 1,
                at_ns: i as i128 * 1_000_000,
                family: Family::V6,
                src: SocketAddr::from((src, 547)),
                dst: SocketAddr::from((dst, 547)),
                sender: if forward { Role::Relay } else { Role::Server },
                kind: kind.name().unwrap_or_default().to_string(),
                relayed: true,
                xid,
                client: ClientKey::Duid(client_id.to_vec()),
                payload: wrap(outer, msg(kind, xid, with_server)),
            });
        }
        for (xid, messages) in [(1, vec![0, 1]), (2, vec![2, 3])] {
            found.conversations.push(Conversation {
                family: Family::V6,
                client: ClientKey::Duid(client_id.to_vec()),
                xid,
                messages,
            });
        }
        let p = crate::plan(&found, "relayed", crate::Options::default()).expect("a plan");
        let p6 = p.v6.as_ref().expect("v6");
        let sends: Vec<&Send6> = p6
            .items
            .iter()
            .filter_map(|i| match i {
                Item6::Send(s) => Some(s),
                Item6::Answer(_) => None,
            })
            .collect();
        assert_eq!(sends.len(), 2);
        assert!(sends.iter().all(|s| p6.peers[s.peer].relay && !s.server_id));
        assert!(
            sends
                .iter()
                .all(|s| *s.dst.ip() == server && *s.src.ip() == relay)
        );
        assert!(
            p.left_out.iter().any(|l| l.starts_with(
                "#3: the REQUEST inside RELAY-FORW keeps the recorded server identifier"
            )),
            "{:?}",
            p.left_out
        );
        // The derived configuration has a subnet for the relay's moved link-address.
        let json: serde_json::Value = serde_json::from_str(&p6.config).expect("json");
        assert_eq!(json["Dhcp6"]["subnet6"][0]["subnet"], "2001:db8:a000::/64");
    }

    #[test]
    fn options_nested_in_themselves_thousands_deep_are_rewritten_without_overflow() {
        // A crafted Solicit whose Relay Supplied Options (66, a container of options) holds
        // itself 16,000 times, and an IA_NA in an IA_NA 4,000 times: each level is rewritten
        // by a call in the one before, so without a bound this overflows a thread's stack.
        fn opt(code: u16, data: &[u8]) -> Vec<u8> {
            let len = u16::try_from(data.len()).expect("fits");
            [&code.to_be_bytes()[..], &len.to_be_bytes(), data].concat()
        }
        let mut nested = Vec::new();
        for _ in 0..16_000 {
            nested = opt(66, &nested);
        }
        let mut ia = Vec::new();
        for _ in 0..4_000 {
            ia = opt(code::IA_NA, &[&[0, 0, 0, 1][..], &[0; 8], &ia].concat());
        }
        for payload in [nested, ia] {
            let solicit = [&[1, 0x12, 0x34, 0x56][..], &payload].concat();
            let rewritten = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || AddressMap6::after(0).rewrite(&solicit, 0xabcdef))
                .expect("thread")
                .join()
                .expect("no stack overflow");
            assert_eq!(rewritten[1..4], [0xab, 0xcd, 0xef]);
            assert_eq!(rewritten[4..], payload[..]);
        }
    }
}
