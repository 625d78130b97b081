//! What the server does with each message, after Kea 2.2's `Dhcpv6Srv`: unpacking (relay
//! layers included), `testServerID`, `testUnicast`, `sanityCheck`, subnet selection
//! (`CfgSubnets6::selectSubnet`), then `processSolicit`, `processRequest`, `processRenew`,
//! `processRebind`, `processConfirm`, `processRelease`, `processDecline` and
//! `processInfRequest`.

use crate::alloc::{self, Client, Request};
use crate::config::Subnet;
use crate::hooks::{self, Args, HookPoint, NextStep};
use crate::reply::{self, IaReply, OptionList, RELAY_SOURCE_PORT, RelayLayer};
use crate::store::{HwAddr6, Lease6, LeaseType, STATE_DECLINED};
use crate::{ALL_DHCP_RELAY_AGENTS_AND_SERVERS, Datagram, Interface, Server, Transmit, epoch_secs};
use dhcplab_kea_config::dhcp6::OptionData6;
use dhcplab_wire::v6::{
    CLIENT_PORT, Duid, Ia, MAX_DEPTH, Message, MessageType, OptionsRef, SERVER_PORT, code,
};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;
use std::time::SystemTime;

/// Status codes (RFC 8415 21.13).
pub(crate) mod status {
    pub const SUCCESS: u16 = 0;
    pub const UNSPEC_FAIL: u16 = 1;
    pub const NO_ADDRS_AVAIL: u16 = 2;
    pub const NO_BINDING: u16 = 3;
    pub const NOT_ON_LINK: u16 = 4;
    pub const NO_PREFIX_AVAIL: u16 = 6;
}

/// One Relay-forw layer of a query.
#[derive(Debug, Clone)]
struct Relay {
    layer: RelayLayer,
    /// Client Link-Layer Address option (79): hardware type and address.
    client_link_layer: Option<Vec<u8>>,
    /// Remote-Id option (37): enterprise number and identifier.
    remote_id: Option<Vec<u8>>,
    /// Vendor-specific Information options (17): enterprise number and sub-options.
    vendor: Vec<Vec<u8>>,
}

/// Everything about one query the handlers need.
struct Query {
    msg: Message,
    msg_type: MessageType,
    xid: u32,
    /// Relay layers, outermost (the relay next to the server) first.
    relays: Vec<Relay>,
    on: Interface,
    source: SocketAddrV6,
    destination: Ipv6Addr,
    now: SystemTime,
    secs: u64,
    /// The Client Identifier's data; empty for an Information-request without one.
    duid: Vec<u8>,
    hwaddr: Option<HwAddr6>,
    subnet: Option<Arc<Subnet>>,
    /// The datagram as received, for the hooks.
    raw: Vec<u8>,
    /// What the handler committed (leases given or extended, leases deleted), for
    /// leases6_committed; `None` when it committed nothing (Advertise, Confirm, ...).
    committed: std::cell::RefCell<Option<(Vec<Lease6>, Vec<Lease6>)>>,
}

impl Query {
    /// The query as the hooks see it.
    fn hook(&self) -> hooks::Query<'_> {
        hooks::Query {
            raw: &self.raw,
            parsed: Some((self.msg_type, self.xid)),
            duid: (!self.duid.is_empty()).then_some(self.duid.as_slice()),
            remote: self.source,
            local: SocketAddrV6::new(self.destination, SERVER_PORT, 0, 0),
            interface: (self.on.index, &self.on.name),
        }
    }

    /// Notes leases given and deleted for leases6_committed.
    fn note(&self, given: &[Lease6], deleted: &[Lease6]) {
        let mut c = self.committed.borrow_mut();
        let (g, d) = c.get_or_insert_with(Default::default);
        g.extend_from_slice(given);
        d.extend_from_slice(deleted);
    }

    fn options(&self) -> OptionsRef<'_> {
        self.msg.options()
    }

    fn client(&self) -> Client<'_> {
        Client {
            duid: &self.duid,
            hwaddr: self.hwaddr.as_ref(),
        }
    }

    /// The IAs of one kind, in wire order; malformed ones were refused at unpacking.
    fn ias(&self, kind: LeaseType) -> Vec<Ia<'_>> {
        match kind {
            LeaseType::Na | LeaseType::Ta => self.options().ia_na(),
            LeaseType::Pd => self.options().ia_pd(),
        }
        .unwrap_or_default()
    }
}

/// The addresses (IA_NA) or prefixes (IA_PD) inside an IA, in wire order.
fn resources(ia: &Ia<'_>, kind: LeaseType) -> Vec<(Ipv6Addr, u8)> {
    match kind {
        LeaseType::Na | LeaseType::Ta => ia
            .options
            .ia_addresses()
            .unwrap_or_default()
            .iter()
            .map(|a| (a.addr, 128))
            .collect(),
        LeaseType::Pd => ia
            .options
            .ia_prefixes()
            .unwrap_or_default()
            .iter()
            .map(|p| (p.prefix, p.prefix_len))
            .collect(),
    }
}

fn discard(server: &mut Server, now: SystemTime, why: &str) {
    tracing::debug!("dropped: {why}");
    server.stats.bump("pkt6-receive-drop", now);
}

fn parse_failed(server: &mut Server, now: SystemTime, why: &str) {
    server.stats.bump("pkt6-parse-failed", now);
    discard(server, now, why);
}

/// Unpacks a datagram, runs Kea's checks and hands it to the handler of its type.
pub(crate) fn handle(server: &mut Server, now: SystemTime, d: Datagram<'_>) {
    let Some(on) = server
        .interfaces
        .iter()
        .find(|i| i.index == d.interface)
        .cloned()
    else {
        return discard(
            server,
            now,
            "datagram on an interface the server does not serve",
        );
    };
    if !d.destination.is_multicast()
        && d.destination != on.link_local
        && !on.addresses.contains(&d.destination)
    {
        return discard(
            server,
            now,
            "a unicast datagram to an address not the server's",
        );
    }
    if server.hooks.present(HookPoint::Buffer6Receive) {
        let args = Args {
            query: Some(hooks::Query {
                raw: d.payload,
                parsed: None,
                duid: None,
                remote: d.source,
                local: SocketAddrV6::new(d.destination, SERVER_PORT, 0, 0),
                interface: (on.index, &on.name),
            }),
            ..Args::default()
        };
        // SKIP: the callouts parsed the packet; the server parses it anyway.
        if server.callout(HookPoint::Buffer6Receive, &args).next_step == NextStep::Drop {
            return discard(server, now, "a buffer6_receive callout set DROP");
        }
    }
    let mut msg = match Message::decode(d.payload) {
        Ok(m) => m,
        Err(e) => return parse_failed(server, now, &format!("not a DHCPv6 message: {e}")),
    };
    let mut relays = Vec::new();
    while let Message::Relay(r) = &msg {
        if r.msg_type != MessageType::RELAY_FORW {
            return discard(server, now, "a relay message that is not a Relay-forw");
        }
        if relays.len() >= MAX_DEPTH {
            return discard(server, now, "more relay layers than MAX_DEPTH (32)");
        }
        let o = msg.options();
        relays.push(Relay {
            layer: RelayLayer {
                hop_count: r.hop_count,
                link_address: r.link_address,
                peer_address: r.peer_address,
                interface_id: o.interface_id().map(<[u8]>::to_vec),
                source_port: o.get(RELAY_SOURCE_PORT).map(|x| x.data.to_vec()),
            },
            client_link_layer: o.get(code::CLIENT_LINKLAYER_ADDR).map(|x| x.data.to_vec()),
            remote_id: o.get(code::REMOTE_ID).map(|x| x.data.to_vec()),
            vendor: o
                .get_all(code::VENDOR_OPTS)
                .map(|x| x.data.to_vec())
                .collect(),
        });
        msg = match msg.relayed() {
            Ok(Some(inner)) => inner,
            _ => return parse_failed(server, now, "Relay-forw without a relayed message"),
        };
    }
    let Message::Client(c) = &msg else {
        return discard(server, now, "no client message");
    };
    if let Err(fault) = check_read_options(msg.options()) {
        return parse_failed(server, now, &format!("malformed option: {fault}"));
    }
    let (msg_type, xid) = (c.msg_type, c.xid);
    server.stats.bump(received_counter(msg_type), now);
    let o = msg.options();
    // Kea's testServerID: a Server Identifier that is not ours drops the message.
    if o.get(code::SERVER_ID)
        .is_some_and(|s| s.data != server.duid.as_slice())
    {
        return discard(server, now, "the server identifier is another server's");
    }
    // Kea's testUnicast: these four must come by multicast (or through a relay).
    let must_multicast = [
        MessageType::SOLICIT,
        MessageType::CONFIRM,
        MessageType::REBIND,
        MessageType::INFORMATION_REQUEST,
    ];
    if must_multicast.contains(&msg_type) && relays.is_empty() && !d.destination.is_multicast() {
        return discard(
            server,
            now,
            "a message that must be multicast came by unicast",
        );
    }
    if let Err(why) = sanity_check(msg_type, o) {
        return discard(server, now, &why);
    }
    let duid = o
        .get(code::CLIENT_ID)
        .map(|x| x.data.to_vec())
        .unwrap_or_default();
    let hwaddr = hardware_address(&duid, d.source.ip(), &relays, o);
    let mut q = Query {
        msg_type,
        xid,
        relays,
        on,
        source: d.source,
        destination: d.destination,
        now,
        secs: epoch_secs(now),
        duid,
        hwaddr,
        subnet: None,
        msg,
        raw: d.payload.to_vec(),
        committed: Default::default(),
    };
    // pkt6_receive: SKIP and DROP both drop (Kea).
    if server.hooks.present(HookPoint::Pkt6Receive) {
        let args = Args {
            query: Some(q.hook()),
            ..Args::default()
        };
        if server.callout(HookPoint::Pkt6Receive, &args).next_step != NextStep::Continue {
            return discard(server, now, "a pkt6_receive callout set SKIP or DROP");
        }
    }
    q.subnet = select_subnet(server, &q);
    // subnet6_select: SKIP goes on without a subnet, DROP drops.
    if server.hooks.present(HookPoint::Subnet6Select) {
        let args = Args {
            query: Some(q.hook()),
            subnet: q.subnet.as_deref(),
            ..Args::default()
        };
        match server.callout(HookPoint::Subnet6Select, &args).next_step {
            NextStep::Drop => return discard(server, now, "a subnet6_select callout set DROP"),
            NextStep::Skip => q.subnet = None,
            _ => {}
        }
    }
    let answer = match msg_type {
        MessageType::SOLICIT => solicit(server, &q),
        MessageType::REQUEST => Some(request(server, &q)),
        MessageType::RENEW | MessageType::REBIND => extend(server, &q),
        MessageType::CONFIRM => confirm(server, &q),
        MessageType::RELEASE => Some(release(server, &q)),
        MessageType::DECLINE => decline(server, &q),
        MessageType::INFORMATION_REQUEST => Some(information(server, &q)),
        _ => None,
    };
    match answer {
        Some((reply_type, options)) => send(server, &q, reply_type, options),
        // Kea counts nothing for a message it processed without answering (a Confirm without
        // addresses, a Decline a callout dropped).
        None => tracing::debug!("no answer for this message"),
    }
}

/// Checks the options of a client message the server reads (IAs with their addresses,
/// prefixes and status codes, ORO, Rapid Commit): a malformed one drops the message, as a
/// failed unpack does in Kea. Options the server does not read are not checked: Kea reads
/// many of them as opaque bytes (user class, vendor class data), and a fault in one it
/// structures differently is not worth dropping a client for here. The identifiers are not
/// read as structured DUIDs either: RFC 8415 section 11 makes a DUID opaque, and Kea keeps
/// it as bytes, so a DUID-LLT too short for its time is still a client; only their lengths
/// count ([`sanity_check`]).
fn check_read_options(o: OptionsRef<'_>) -> Result<(), dhcplab_wire::OptionError> {
    for ia in o.ia_na()?.iter().chain(o.ia_pd()?.iter()) {
        ia.options.ia_addresses()?;
        ia.options.ia_prefixes()?;
        ia.options.status_code()?;
    }
    o.oro()?;
    o.rapid_commit()?;
    Ok(())
}

/// Kea's `processStatsReceived` names; Confirm has none of its own.
fn received_counter(t: MessageType) -> &'static str {
    match t {
        MessageType::SOLICIT => "pkt6-solicit-received",
        MessageType::ADVERTISE => "pkt6-advertise-received",
        MessageType::REQUEST => "pkt6-request-received",
        MessageType::REPLY => "pkt6-reply-received",
        MessageType::RENEW => "pkt6-renew-received",
        MessageType::REBIND => "pkt6-rebind-received",
        MessageType::RELEASE => "pkt6-release-received",
        MessageType::DECLINE => "pkt6-decline-received",
        MessageType::INFORMATION_REQUEST => "pkt6-infrequest-received",
        _ => "pkt6-unknown-received",
    }
}

/// Kea's `sanityCheck`: Client Identifier mandatory (exactly one) except in
/// Information-request (at most one); Server Identifier mandatory in Request, Renew, Release
/// and Decline, forbidden in Solicit, Rebind and Confirm, optional in Information-request;
/// each identifier at least 3 bytes (`sanityCheckDUID`) and at most [`MAX_DUID_LEN`]. Other
/// message types are dropped, and so is an Information-request with an IA option, as RFC 8415
/// 16.12 says (where Kea 2.2 answers it).
/// The longest DUID kea-dhcp6 2.2 serves, type included: 128 bytes (its `DUID::MAX_DUID_LEN`;
/// seen in review: a Solicit with a 128-byte Client Identifier is answered, one of 129 is
/// dropped), though RFC 8415 11.1 allows 130.
const MAX_DUID_LEN: usize = 128;

fn sanity_check(t: MessageType, o: OptionsRef<'_>) -> Result<(), String> {
    #[derive(PartialEq)]
    enum Level {
        Mandatory,
        Forbidden,
        Optional,
    }
    let (client, server) = match t {
        MessageType::SOLICIT | MessageType::REBIND | MessageType::CONFIRM => {
            (Level::Mandatory, Level::Forbidden)
        }
        MessageType::REQUEST | MessageType::RENEW | MessageType::RELEASE | MessageType::DECLINE => {
            (Level::Mandatory, Level::Mandatory)
        }
        MessageType::INFORMATION_REQUEST => (Level::Optional, Level::Optional),
        other => return Err(format!("message type {} is not served", other.0)),
    };
    for (c, level, name) in [
        (code::CLIENT_ID, client, "client-id"),
        (code::SERVER_ID, server, "server-id"),
    ] {
        let all: Vec<_> = o.get_all(c).collect();
        match level {
            Level::Mandatory if all.len() != 1 => {
                return Err(format!(
                    "exactly 1 {name} option expected, {} received",
                    all.len()
                ));
            }
            Level::Optional if all.len() > 1 => {
                return Err(format!("too many ({}) {name} options", all.len()));
            }
            Level::Forbidden if !all.is_empty() => {
                return Err(format!("{name} option was not expected"));
            }
            _ => {}
        }
        if let Some(x) = all.first() {
            if x.data.len() < 3 {
                return Err(format!(
                    "empty or truncated {name} option: {} byte(s) only",
                    x.data.len()
                ));
            }
            if x.data.len() > MAX_DUID_LEN {
                return Err(format!(
                    "{name} option of {} bytes, above the {MAX_DUID_LEN} a DUID may have",
                    x.data.len()
                ));
            }
        }
    }
    // RFC 8415 16.12: "Servers MUST discard any received Information-request message that
    // meets any of the following conditions: ... The message includes an IA option." Kea 2.2
    // answers it; the RFC rules here.
    if t == MessageType::INFORMATION_REQUEST
        && [code::IA_NA, code::IA_TA, code::IA_PD]
            .into_iter()
            .any(|c| o.get(c).is_some())
    {
        return Err("an Information-request with an IA option (RFC 8415 16.12)".into());
    }
    Ok(())
}

/// The CableLabs enterprise number, of DOCSIS vendor options.
const CABLE_LABS: u32 = 4491;
/// DOCSIS 3 sub-options: the modem's device id, and the cable modem MAC a CMTS adds.
const DOCSIS_DEVICE_ID: u16 = 36;
const DOCSIS_CMTS_CM_MAC: u16 = 1026;

/// The data of sub-option `code` of a CableLabs Vendor-specific Information option.
fn docsis_sub_option(data: &[u8], code: u16) -> Option<Vec<u8>> {
    let (ent, mut rest) = data.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*ent) != CABLE_LABS {
        return None;
    }
    while let Some((h, tail)) = rest.split_first_chunk::<4>() {
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let body = tail.get(..len)?;
        if u16::from_be_bytes([h[0], h[1]]) == code && !body.is_empty() {
            return Some(body.to_vec());
        }
        rest = tail.get(len..)?;
    }
    None
}

/// The client's hardware address, from the sources of Kea's default `mac-sources` ("any")
/// the core can see, in Kea's order (`Pkt::getMAC`: raw socket, which a UDP core has not,
/// then the relay option, DUID, link-local, Remote-Id, DOCSIS): the Client Link-Layer
/// Address option (RFC 6939) of the relay next to the client; the DUID (LLT or LL); the
/// EUI-64 of a link-local address (the source of a direct query, the peer address of the
/// relay next to the client); that relay's Remote-Id (the interface's hardware type,
/// Ethernet, as Kea gives it); the cable modem MAC a CMTS relay adds; the DOCSIS modem's
/// device id.
fn hardware_address(
    duid: &[u8],
    source: &Ipv6Addr,
    relays: &[Relay],
    client: OptionsRef<'_>,
) -> Option<HwAddr6> {
    use dhcplab_memfile as m;
    let hw = |bytes: Vec<u8>, htype: u16, source: u32| {
        Some(HwAddr6 {
            bytes,
            htype,
            source,
        })
    };
    let nearest = relays.last();
    if let Some([h0, h1, addr @ ..]) = nearest.and_then(|r| r.client_link_layer.as_deref()) {
        if !addr.is_empty() {
            let htype = u16::from_be_bytes([*h0, *h1]);
            return hw(
                addr.to_vec(),
                htype,
                m::HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION,
            );
        }
    }
    if let Ok(Duid::Llt { htype, addr, .. } | Duid::Ll { htype, addr }) = Duid::parse(duid) {
        if !addr.is_empty() {
            return hw(addr, htype, m::HWADDR_SOURCE_DUID);
        }
    }
    let ll = nearest.map_or(*source, |r| r.layer.peer_address);
    let o = ll.octets();
    // Kea's getMACFromIPv6: u bit set and g bit clear in the identifier, ff:fe in its middle.
    if ll.is_unicast_link_local() && o[8] & 3 == 2 && o[11] == 0xff && o[12] == 0xfe {
        let mac = vec![o[8] ^ 0x02, o[9], o[10], o[13], o[14], o[15]];
        return hw(mac, 1, m::HWADDR_SOURCE_IPV6_LINK_LOCAL);
    }
    if let Some(id) = nearest
        .and_then(|r| r.remote_id.as_deref())
        .and_then(|d| d.get(4..))
        .filter(|id| !id.is_empty())
    {
        let id = &id[..id.len().min(20)];
        return hw(id.to_vec(), 1, m::HWADDR_SOURCE_REMOTE_ID);
    }
    let cmts = relays
        .iter()
        .rev()
        .flat_map(|r| r.vendor.iter())
        .find_map(|v| docsis_sub_option(v, DOCSIS_CMTS_CM_MAC));
    if let Some(mac) = cmts {
        return hw(mac, 1, m::HWADDR_SOURCE_DOCSIS_CMTS);
    }
    client
        .get_all(code::VENDOR_OPTS)
        .find_map(|v| docsis_sub_option(v.data, DOCSIS_DEVICE_ID))
        .and_then(|id| hw(id, 1, m::HWADDR_SOURCE_DOCSIS_MODEM))
}

/// Kea's `CfgSubnets6::selectSubnet` with `initSelector`: a relayed query whose relays give
/// a link-address (the one of the relay nearest the client that is neither unspecified nor
/// link-local) is placed by the Interface-Id of the relay next to the client, then by that
/// link-address (a subnet naming it in `relay.ip-addresses`, then the subnet holding it); any
/// other query (direct, or relayed with no such link-address, its Interface-Id then unused)
/// by the receiving interface's name, then by its source address.
fn select_subnet(server: &Server, q: &Query) -> Option<Arc<Subnet>> {
    let subnets = &server.config.subnets;
    let link = q
        .relays
        .iter()
        .rev()
        .map(|r| r.layer.link_address)
        .find(|a| !a.is_unspecified() && !a.is_unicast_link_local());
    if let Some(link) = link {
        let id = q
            .relays
            .last()
            .and_then(|r| r.layer.interface_id.as_deref());
        return id
            .and_then(|id| {
                subnets
                    .iter()
                    .find(|s| s.interface_id.as_deref() == Some(id))
            })
            .or_else(|| subnets.iter().find(|s| s.relays.contains(&link)))
            .or_else(|| subnets.iter().find(|s| s.prefix.contains(link)))
            .cloned();
    }
    subnets
        .iter()
        .find(|s| s.interface.as_deref() == Some(q.on.name.as_str()))
        .or_else(|| subnets.iter().find(|s| s.prefix.contains(*q.source.ip())))
        .cloned()
}

/// The reply's first options: the client's identifier back (Kea's `copyClientOptions`) and
/// ours (`appendDefaultOptions`).
fn base_options(server: &Server, q: &Query) -> OptionList {
    let mut o = OptionList::default();
    if let Some(c) = q.options().get(code::CLIENT_ID) {
        o.push(code::CLIENT_ID, c.data.to_vec());
    }
    o.push(code::SERVER_ID, server.duid.clone());
    o
}

/// Kea's `buildCfgOptionList` and `appendRequestedOptions`: the option lists in force, most
/// specific first (the client's reservation, the pools of what it got, its subnet, the global
/// list), and from them the first of each code the client asked for in its ORO or that is
/// `always-send`, unless the reply has the code already.
fn requested_options(server: &Server, q: &Query, given: &[Lease6], reply: &mut OptionList) {
    let mut lists: Vec<&[OptionData6]> = Vec::new();
    if let Some(s) = &q.subnet {
        if let Some(r) = s.reservation_for(&q.duid, q.hwaddr.as_ref().map(|h| h.bytes.as_slice())) {
            lists.push(&r.option_data);
        }
        for l in given {
            if let Some(range) = s.range_of(l.lease_type, l.address) {
                lists.push(&range.options);
            }
        }
        lists.push(&s.options);
    }
    lists.push(&server.config.kea.option_data);
    let mut codes: std::collections::BTreeSet<u16> = q
        .options()
        .oro()
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .collect();
    codes.extend(
        lists
            .iter()
            .flat_map(|l| l.iter().filter(|o| o.always_send).map(|o| o.code)),
    );
    for c in codes {
        if reply.has(c) {
            continue;
        }
        if let Some(o) = lists.iter().find_map(|l| l.iter().find(|o| o.code == c)) {
            reply.push(c, o.data.clone());
        }
    }
}

/// An IA option of the reply for `lease`s (lifetimes as they are) and T1/T2 from the shortest
/// preferred lifetime.
fn fill(ia: &mut IaReply, subnet: &Subnet, leases: &[Lease6]) {
    for l in leases {
        put_resource(ia, l, l.preferred_lifetime, l.valid_lifetime);
    }
    if let Some(min) = leases.iter().map(|l| l.preferred_lifetime).min() {
        (ia.t1, ia.t2) = subnet.tee_times(min);
    }
}

fn put_resource(ia: &mut IaReply, l: &Lease6, preferred: u32, valid: u32) {
    match l.lease_type {
        LeaseType::Na | LeaseType::Ta => ia.options.push(
            code::IA_ADDR,
            reply::ia_address(l.address, preferred, valid),
        ),
        LeaseType::Pd => ia.options.push(
            code::IA_PREFIX,
            reply::ia_prefix(l.address, l.prefix_len, preferred, valid),
        ),
    }
}

fn ia_code(kind: LeaseType) -> u16 {
    match kind {
        LeaseType::Na | LeaseType::Ta => code::IA_NA,
        LeaseType::Pd => code::IA_PD,
    }
}

/// Runs the lease hooks on what the engine decided, then stores it (when committing) and
/// counts new leases. A new lease goes through lease6_select (SKIP: not given, Kea's
/// `createLease6`); an extended one through lease6_renew or lease6_rebind (SKIP: given but
/// not stored, Kea's `extendLease6`).
fn apply(server: &mut Server, q: &Query, ia: hooks::IaArg, out: &mut alloc::Outcome, commit: bool) {
    let subnet = q.subnet.clone();
    let mut kept = Vec::new();
    let mut stored = Vec::new();
    for l in std::mem::take(&mut out.leases) {
        let fresh = server
            .leases
            .get(l.lease_type, l.address)
            .is_none_or(|o| o.duid != l.duid || o.iaid != l.iaid);
        let point = match (fresh, q.msg_type) {
            (true, _) => HookPoint::Lease6Select,
            (false, MessageType::RENEW) => HookPoint::Lease6Renew,
            (false, MessageType::REBIND) => HookPoint::Lease6Rebind,
            (false, _) => {
                kept.push(l);
                stored.push(true);
                continue;
            }
        };
        let step = if server.hooks.present(point) {
            let args = Args {
                query: Some(q.hook()),
                subnet: subnet.as_deref(),
                lease: Some(&l),
                ia: Some(ia),
                fake_allocation: (point == HookPoint::Lease6Select).then_some(!commit),
                ..Args::default()
            };
            server.callout(point, &args).next_step
        } else {
            NextStep::Continue
        };
        match (point, step) {
            (HookPoint::Lease6Select, NextStep::Skip) => {
                tracing::debug!(address = %l.address, "a lease6_select callout set SKIP");
            }
            (_, NextStep::Skip) => {
                kept.push(l);
                stored.push(false);
            }
            _ => {
                if fresh && commit {
                    let name = match l.lease_type {
                        LeaseType::Na | LeaseType::Ta => "cumulative-assigned-nas",
                        LeaseType::Pd => "cumulative-assigned-pds",
                    };
                    server.stats.add_subnet(l.subnet_id, name, 1, q.now);
                    server.stats.bump(name, q.now);
                }
                kept.push(l);
                stored.push(true);
            }
        }
    }
    out.leases = kept;
    if !commit {
        return;
    }
    for old in &out.old {
        server.delete(old.lease_type, old.address);
    }
    for (l, store) in out.leases.iter().zip(stored) {
        if store {
            server.commit(l.clone());
        }
    }
    q.note(&out.leases, &out.old);
}

/// Kea's `assignLeases`: one IA option per IA_NA and IA_PD of the query, IA_NAs first (Kea
/// walks its options by code), each from `assignIA_NA` or `assignIA_PD`; in a Request, an
/// IA_NA holding an address off the link gets NotOnLink (RFC 8415 18.3.2).
fn assign(server: &mut Server, q: &Query, commit: bool, reply: &mut OptionList) -> Vec<Lease6> {
    let mut given = Vec::new();
    let mut taken = Vec::new();
    for kind in [LeaseType::Na, LeaseType::Pd] {
        for ia in q.ias(kind) {
            let mut out = IaReply::new(ia_code(kind), ia.iaid);
            let Some(subnet) = q.subnet.clone() else {
                unavailable(
                    &mut out,
                    kind,
                    "Server could not select subnet for this client",
                    "Sorry, no subnet available.",
                );
                reply.push(out.code, out.data());
                continue;
            };
            // RFC 8415 18.3.2: a Request's IA holding an address not appropriate for the link
            // goes back with NotOnLink, and nothing is allocated for it. Kea 2.2 ignores the
            // address and allocates another; the RFC rules here.
            if q.msg_type == MessageType::REQUEST
                && kind == LeaseType::Na
                && let Some((a, _)) = resources(&ia, kind)
                    .into_iter()
                    .find(|(a, _)| !a.is_unspecified() && !subnet.prefix.contains(*a))
            {
                out.status(status::NOT_ON_LINK, &format!("Address {a} is not on link."));
                reply.push(out.code, out.data());
                continue;
            }
            let decided = decide(server, q, &subnet, &ia, kind, &taken, commit);
            if decided.leases.is_empty() {
                unavailable(
                    &mut out,
                    kind,
                    "Sorry, no address could be allocated.",
                    "Sorry, no prefixes could be allocated.",
                );
            }
            // Kea 2.2's assignIA_NA puts only the first lease of the IA in the answer (every
            // lease of the binding is still committed); assignIA_PD puts them all.
            let shown = match kind {
                LeaseType::Na | LeaseType::Ta => decided.leases.get(..1).unwrap_or_default(),
                LeaseType::Pd => &decided.leases[..],
            };
            fill(&mut out, &subnet, shown);
            taken.extend(decided.leases.iter().map(|l| (l.lease_type, l.address)));
            given.extend(decided.leases);
            reply.push(out.code, out.data());
        }
    }
    given
}

/// The allocation engine's decision for one IA (the client's addresses or prefixes in it
/// as hints), through the lease hooks and stored when `commit`.
fn decide(
    server: &mut Server,
    q: &Query,
    subnet: &Subnet,
    ia: &Ia<'_>,
    kind: LeaseType,
    taken: &[(LeaseType, Ipv6Addr)],
    commit: bool,
) -> alloc::Outcome {
    let hints = resources(ia, kind);
    let r = Request {
        subnet,
        client: q.client(),
        kind,
        iaid: ia.iaid,
        hints: &hints,
        renewing: matches!(q.msg_type, MessageType::RENEW | MessageType::REBIND),
        now: q.secs,
        taken,
    };
    let index = server.config.subnets.iter().position(|s| s.id == subnet.id);
    let mut decided = match index.and_then(|i| server.cursors.get_mut(i)) {
        Some(c) => alloc::allocate(&server.leases, c, &r),
        None => alloc::Outcome::default(),
    };
    apply(
        server,
        q,
        (kind, ia.iaid, ia.t1, ia.t2),
        &mut decided,
        commit,
    );
    decided
}

/// The IA's status when it gets nothing: NoAddrsAvail with `na` for an IA_NA, NoPrefixAvail
/// with `pd` for an IA_PD.
fn unavailable(out: &mut IaReply, kind: LeaseType, na: &str, pd: &str) {
    match kind {
        LeaseType::Na | LeaseType::Ta => out.status(status::NO_ADDRS_AVAIL, na),
        LeaseType::Pd => out.status(status::NO_PREFIX_AVAIL, pd),
    }
}

/// Kea's `processSolicit`: an Advertise of what the client would get, nothing stored; or,
/// when the client sent Rapid Commit and its subnet's `rapid-commit` is on, a Reply with the
/// leases committed and Rapid Commit in it (RFC 8415 18.3.1).
fn solicit(server: &mut Server, q: &Query) -> Option<(MessageType, OptionList)> {
    let rapid = q.options().rapid_commit().unwrap_or(false)
        && q.subnet.as_ref().is_some_and(|s| s.rapid_commit);
    let mut reply = base_options(server, q);
    let given = assign(server, q, rapid, &mut reply);
    if rapid {
        reply.push(code::RAPID_COMMIT, Vec::new());
    }
    requested_options(server, q, &given, &mut reply);
    let t = if rapid {
        MessageType::REPLY
    } else {
        MessageType::ADVERTISE
    };
    Some((t, reply))
}

/// Kea's `processRequest`.
fn request(server: &mut Server, q: &Query) -> (MessageType, OptionList) {
    let mut reply = base_options(server, q);
    let given = assign(server, q, true, &mut reply);
    requested_options(server, q, &given, &mut reply);
    (MessageType::REPLY, reply)
}

/// Kea's `processRenew` and `processRebind` (`extendIA_NA`, `extendIA_PD`): every lease of
/// the binding is extended (or, when the binding has none, one is allocated, the client's
/// address first); a lease the binding lost and every address the client sent that it does
/// not get are listed with lifetimes 0. A Rebind of an IA_PD with no subnet for the client
/// is discarded (RFC 8415 18.3.5, as Kea).
fn extend(server: &mut Server, q: &Query) -> Option<(MessageType, OptionList)> {
    let mut reply = base_options(server, q);
    let mut given = Vec::new();
    let mut taken = Vec::new();
    for kind in [LeaseType::Na, LeaseType::Pd] {
        for ia in q.ias(kind) {
            let mut out = IaReply::new(ia_code(kind), ia.iaid);
            let Some(subnet) = q.subnet.clone() else {
                match (kind, q.msg_type) {
                    (LeaseType::Na | LeaseType::Ta, _) => out.status(
                        status::NO_BINDING,
                        "Sorry, no known leases for this duid/iaid.",
                    ),
                    (LeaseType::Pd, MessageType::RENEW) => out.status(
                        status::NO_BINDING,
                        "Sorry, no known PD leases for this duid/iaid.",
                    ),
                    (LeaseType::Pd, _) => return None,
                }
                reply.push(out.code, out.data());
                continue;
            };
            let mut hints = resources(&ia, kind);
            let decided = decide(server, q, &subnet, &ia, kind, &taken, true);
            fill(&mut out, &subnet, &decided.leases);
            hints.retain(|(a, _)| !decided.leases.iter().any(|l| l.address == *a));
            for old in &decided.old {
                if old.duid == q.duid {
                    put_resource(&mut out, old, 0, 0);
                }
                hints.retain(|(a, _)| *a != old.address);
            }
            for (a, len) in hints {
                // A zero prefix is a hint of length only (Kea sends nothing back for it).
                match kind {
                    LeaseType::Na | LeaseType::Ta => {
                        out.options.push(code::IA_ADDR, reply::ia_address(a, 0, 0))
                    }
                    LeaseType::Pd if !a.is_unspecified() => out
                        .options
                        .push(code::IA_PREFIX, reply::ia_prefix(a, len, 0, 0)),
                    LeaseType::Pd => {}
                }
            }
            if decided.leases.is_empty() {
                unavailable(
                    &mut out,
                    kind,
                    "Sorry, no addresses could be assigned at this time.",
                    "Sorry, no prefixes could be assigned at this time.",
                );
            }
            taken.extend(decided.leases.iter().map(|l| (l.lease_type, l.address)));
            given.extend(decided.leases);
            reply.push(out.code, out.data());
        }
    }
    requested_options(server, q, &given, &mut reply);
    Some((MessageType::REPLY, reply))
}

/// Kea's `processConfirm`: no IA_NA, or no address in them, and the Confirm is discarded;
/// an address outside the selected subnet gives NotOnLink for it; no subnet gives NotOnLink
/// "No subnet selected"; else Success. The status code is the message's, not an IA's.
fn confirm(server: &mut Server, q: &Query) -> Option<(MessageType, OptionList)> {
    let ias = q.ias(LeaseType::Na);
    let addresses: Vec<Ipv6Addr> = ias
        .iter()
        .flat_map(|ia| resources(ia, LeaseType::Na))
        .map(|(a, _)| a)
        .collect();
    if addresses.is_empty() {
        return None;
    }
    let mut reply = base_options(server, q);
    requested_options(server, q, &[], &mut reply);
    let (c, text) = match &q.subnet {
        Some(s) => match addresses.iter().find(|a| !s.prefix.contains(**a)) {
            Some(a) => (status::NOT_ON_LINK, format!("Address {a} is not on link.")),
            None => (status::SUCCESS, "All addresses are on-link".to_string()),
        },
        None => (status::NOT_ON_LINK, "No subnet selected".to_string()),
    };
    reply.push(code::STATUS_CODE, reply::status(c, &text));
    Some((MessageType::REPLY, reply))
}

/// Kea's `processRelease` (`releaseIA_NA`, `releaseIA_PD`): each IA names its first address
/// or prefix; it is released (the lease deleted) when it is the client's, in that IA; else the
/// IA gets NoBinding. The message's status code sums up: Success only when every IA was.
fn release(server: &mut Server, q: &Query) -> (MessageType, OptionList) {
    let mut reply = base_options(server, q);
    let mut general = status::SUCCESS;
    for kind in [LeaseType::Na, LeaseType::Pd] {
        for ia in q.ias(kind) {
            let mut out = IaReply::new(ia_code(kind), ia.iaid);
            let verdict = match resources(&ia, kind).first() {
                None => Err(match kind {
                    LeaseType::Na | LeaseType::Ta => {
                        "You did not include an address in your RELEASE"
                    }
                    LeaseType::Pd => "You did not include a prefix in your RELEASE",
                }),
                Some((a, _)) => match server.leases.get(kind, *a) {
                    None => Err("Sorry, no known leases for this duid/iaid, can't release."),
                    Some(l) if l.duid != q.duid => {
                        Err("This address does not belong to you, you can't release it")
                    }
                    Some(l) if l.iaid != ia.iaid => {
                        Err("This is your address, but you used wrong IAID")
                    }
                    Some(l) => Ok(l.address),
                },
            };
            match verdict {
                Ok(a) => {
                    // lease6_release: SKIP or DROP keeps the lease (Kea's releaseIA_NA).
                    let kept = server.hooks.present(HookPoint::Lease6Release) && {
                        let lease = server.leases.get(kind, a);
                        let args = Args {
                            query: Some(q.hook()),
                            lease: lease.as_ref(),
                            ..Args::default()
                        };
                        server.callout(HookPoint::Lease6Release, &args).next_step
                            != NextStep::Continue
                    };
                    if kept {
                        out.status(status::UNSPEC_FAIL, "Server failed to release a lease");
                        general = status::UNSPEC_FAIL;
                    } else {
                        let gone: Vec<Lease6> = server.delete(kind, a).into_iter().collect();
                        q.note(&[], &gone);
                        out.status(
                            status::SUCCESS,
                            "Lease released. Thank you, please come again.",
                        );
                    }
                }
                Err(text) => {
                    out.status(status::NO_BINDING, text);
                    general = status::NO_BINDING;
                }
            }
            reply.push(out.code, out.data());
        }
    }
    reply.push(
        code::STATUS_CODE,
        reply::status(general, "Summary status for all processed IA_NAs"),
    );
    (MessageType::REPLY, reply)
}

/// Kea's `processDecline` (`declineIA`, `declineLease`): each address of each IA_NA that is
/// the client's, in that IA, is declined: the lease loses its client (Kea's empty DUID, one
/// zero byte), its preferred lifetime and host name, and is held for
/// `decline-probation-period` seconds in state declined. IA_PDs are ignored, as Kea does.
fn decline(server: &mut Server, q: &Query) -> Option<(MessageType, OptionList)> {
    let mut reply = base_options(server, q);
    let probation = server.config.kea.decline_probation_period;
    for ia in q.ias(LeaseType::Na) {
        let mut out = IaReply::new(code::IA_NA, ia.iaid);
        let addresses = resources(&ia, LeaseType::Na);
        for (a, _) in &addresses {
            match server.leases.get(LeaseType::Na, *a) {
                None => out.set_status(
                    status::NO_BINDING,
                    "Server does not know about such an address.",
                ),
                Some(l) if l.duid != q.duid => out.status(
                    status::NO_BINDING,
                    "This address does not belong to you, you can't decline it",
                ),
                Some(l) if l.iaid != ia.iaid => out.set_status(
                    status::NO_BINDING,
                    "This is your address, but you used wrong IAID",
                ),
                Some(mut l) => {
                    // lease6_decline: SKIP keeps the lease as it is, DROP drops the Decline
                    // (Kea's declineLease).
                    let step = if server.hooks.present(HookPoint::Lease6Decline) {
                        let args = Args {
                            query: Some(q.hook()),
                            lease: Some(&l),
                            ..Args::default()
                        };
                        server.callout(HookPoint::Lease6Decline, &args).next_step
                    } else {
                        NextStep::Continue
                    };
                    match step {
                        NextStep::Drop => return None,
                        NextStep::Skip => continue,
                        _ => {}
                    }
                    l.hwaddr = None;
                    l.duid = vec![0];
                    l.preferred_lifetime = 0;
                    l.valid_lifetime = probation;
                    l.expire = q.secs + u64::from(probation);
                    l.hostname.clear();
                    l.fqdn_fwd = false;
                    l.fqdn_rev = false;
                    l.state = STATE_DECLINED;
                    q.note(std::slice::from_ref(&l), &[]);
                    server.commit(l);
                    out.status(
                        status::SUCCESS,
                        "Lease declined. Hopefully the next one will be better.",
                    );
                }
            }
        }
        if addresses.is_empty() {
            out.set_status(status::NO_BINDING, "No addresses sent in IA_NA");
        }
        reply.push(out.code, out.data());
    }
    Some((MessageType::REPLY, reply))
}

/// Kea's `processInfRequest`: the identifiers and the options asked for.
fn information(server: &mut Server, q: &Query) -> (MessageType, OptionList) {
    let mut reply = base_options(server, q);
    requested_options(server, q, &[], &mut reply);
    (MessageType::REPLY, reply)
}

/// Sends the reply: to a relayed query, Relay-repl layers to the relay that sent it (port
/// 547, or its source port when it asked with Relay Source Port, RFC 8357, as Kea's
/// `checkRelaySourcePort`); else to the client at port 546. The source is the address the
/// query was sent to, or the interface's link-local address for a multicast query.
fn send(server: &mut Server, q: &Query, t: MessageType, options: OptionList) {
    let layers: Vec<RelayLayer> = q.relays.iter().map(|r| r.layer.clone()).collect();
    let payload = reply::encode(t, q.xid, options, &layers);
    let committed = q.committed.borrow_mut().take();
    if let Some((given, deleted)) = committed
        .as_ref()
        .filter(|_| server.hooks.present(HookPoint::Leases6Committed))
    {
        let args = Args {
            query: Some(q.hook()),
            leases: Some(given),
            deleted: Some(deleted),
            ..Args::default()
        };
        match server.callout(HookPoint::Leases6Committed, &args).next_step {
            NextStep::Drop => {
                tracing::debug!("a leases6_committed callout set DROP: no answer");
                return;
            }
            NextStep::Park => {
                server.parked += 1;
                return;
            }
            _ => {}
        }
    }
    // pkt6_send: DROP sends nothing; SKIP (the callouts packed) is sent as packed here.
    // buffer6_send: SKIP and DROP both send nothing.
    for (point, stop) in [
        (HookPoint::Pkt6Send, &[NextStep::Drop][..]),
        (
            HookPoint::Buffer6Send,
            &[NextStep::Drop, NextStep::Skip][..],
        ),
    ] {
        if server.hooks.present(point) {
            let args = Args {
                query: Some(q.hook()),
                response: Some(&payload),
                ..Args::default()
            };
            if stop.contains(&server.callout(point, &args).next_step) {
                tracing::debug!("a {point} callout kept the answer");
                return;
            }
        }
    }
    let port = match q.relays.first() {
        None => CLIENT_PORT,
        Some(r) if r.layer.source_port.is_some() => q.source.port(),
        Some(_) => SERVER_PORT,
    };
    let from = if q.destination.is_multicast() || q.destination == ALL_DHCP_RELAY_AGENTS_AND_SERVERS
    {
        q.on.link_local
    } else {
        q.destination
    };
    server.stats.bump("pkt6-sent", q.now);
    server.stats.bump(
        if t == MessageType::ADVERTISE {
            "pkt6-advertise-sent"
        } else {
            "pkt6-reply-sent"
        },
        q.now,
    );
    server.transmit(Transmit {
        interface: q.on.index,
        source: SocketAddrV6::new(from, SERVER_PORT, 0, 0),
        destination: SocketAddrV6::new(*q.source.ip(), port, 0, q.source.scope_id()),
        payload,
    });
}
