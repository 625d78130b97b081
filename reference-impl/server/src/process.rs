//! What the server does with each message, after Kea 2.2's `Dhcpv4Srv`: the checks of
//! `accept()`, then DISCOVER, REQUEST in its four client states, DECLINE, RELEASE, INFORM and
//! BOOTP (as Kea with its BOOTP hook). Where Kea 2.2 departs from RFC 2131, the RFC wins and
//! the function says so.

use crate::alloc::{self, ClientKey, Exhaustion, Refusal};
use crate::config::Subnet;
use crate::hooks::{self, Args, HookPoint, NextStep};
use crate::reply::{self, Options};
use crate::stats::{Counter, SubnetCounter};
use crate::{Datagram, Interface, Server, epoch_secs};
use dhcplab_memfile::{Lease4, STATE_DECLINED, STATE_DEFAULT};
use dhcplab_wire::OptionError;
use dhcplab_wire::v4::{CodeSet, Message, MessageType, code};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::SystemTime;

/// Kea's default `decline-probation-period`: a declined address rests for a day.
pub(crate) const DECLINE_PROBATION: u32 = 86_400;
/// The lifetime Kea gives BOOTP leases: infinite.
pub(crate) const INFINITE: u32 = u32::MAX;

/// Everything about one query the handlers need.
struct Query<'a> {
    msg: &'a Message,
    /// The datagram as received, for the hooks.
    raw: &'a [u8],
    /// Where it was sent to.
    destination: Ipv4Addr,
    /// What a REQUEST changed, for leases4_committed: the lease given, the lease deleted.
    committed: std::cell::RefCell<(Vec<Lease4>, Vec<Lease4>)>,
    on: std::sync::Arc<Interface>,
    source: SocketAddrV4,
    now: SystemTime,
    secs: u64,
    /// Option 61's bytes, when sent (used for identification only when `match-client-id`).
    client_id: Option<Vec<u8>>,
    /// Index of the selected subnet in the configuration.
    subnet: Option<usize>,
    /// `echo-client-id`: answers carry the client identifier back (RFC 6842).
    echo_client_id: bool,
    /// The class libdhcp_ha.so gave the query (`HA_server1`).
    ha_class: Option<String>,
    /// Options every handler may read, read once (and checked well formed) on arrival:
    /// 50, 54, 12 and the codes of 55.
    requested: Option<Ipv4Addr>,
    server_id: Option<Ipv4Addr>,
    host_name: Option<Vec<u8>>,
    asked: CodeSet,
    /// Option 53: `None` for BOOTP.
    kind: Option<MessageType>,
}

impl Query<'_> {
    fn key<'k>(&'k self, subnet: &Subnet) -> ClientKey<'k> {
        ClientKey {
            hwaddr: self.msg.hardware_address(),
            client_id: self.client_id.as_deref().filter(|_| subnet.match_client_id),
            class: self.ha_class.as_deref(),
        }
    }

    fn relayed(&self) -> bool {
        self.msg.giaddr != Ipv4Addr::UNSPECIFIED && self.msg.giaddr != Ipv4Addr::BROADCAST
    }

    fn ciaddr(&self) -> Option<Ipv4Addr> {
        (self.msg.ciaddr != Ipv4Addr::UNSPECIFIED).then_some(self.msg.ciaddr)
    }

    /// The query as the hooks see it.
    fn hook(&self) -> hooks::Query<'_> {
        hook_query(
            self.raw,
            Some(self.msg),
            &self.on,
            self.source,
            self.destination,
        )
    }
}

fn hook_query<'a>(
    raw: &'a [u8],
    msg: Option<&'a Message>,
    on: &'a Interface,
    source: SocketAddrV4,
    destination: Ipv4Addr,
) -> hooks::Query<'a> {
    hooks::Query {
        raw,
        msg,
        remote: source,
        local: SocketAddrV4::new(destination, dhcplab_wire::v4::SERVER_PORT),
        interface: (on.index, &on.name),
    }
}

/// Decodes a datagram, counts it, runs Kea's `accept()` checks and hands it to the handler of
/// its type. Anything that is not a well-formed client message for this server is counted and
/// dropped.
pub(crate) fn handle(server: &mut Server, now: SystemTime, d: Datagram<'_>) {
    let Some(on) = server
        .interfaces
        .iter()
        .find(|i| i.index == d.interface)
        .cloned()
    else {
        tracing::debug!(
            interface = d.interface,
            "datagram on an interface the server does not serve"
        );
        server.stats.bump(Counter::ReceiveDrop, now);
        return;
    };
    if server.hooks.present(HookPoint::Buffer4Receive) {
        let args = Args {
            query: Some(hook_query(d.payload, None, &on, d.source, d.destination)),
            ..Args::default()
        };
        // SKIP: the callouts parsed the packet; the server parses it anyway.
        if server.callout(HookPoint::Buffer4Receive, &args).next_step == NextStep::Drop {
            tracing::debug!(source = %d.source, "dropped by a buffer4_receive callout");
            server.stats.bump(Counter::ReceiveDrop, now);
            return;
        }
    }
    let msg = match Message::decode(d.payload) {
        Ok(m) => m,
        Err(e) => return parse_failed(server, now, &format!("from {}: {e}", d.source)),
    };
    let kind = match msg.message_type() {
        Ok(k) => k,
        Err(e) => return parse_failed(server, now, &format!("xid {:#x}: {e}", msg.xid)),
    };
    let mut ha_class = None;
    if let Some(ha) = server.ha.as_mut() {
        let hlen = usize::from(msg.hlen).min(msg.chaddr.len());
        let client_id = msg.option(code::CLIENT_ID);
        let client = dhcplab_ha::Client {
            message_type: kind.map(u8::from),
            hwaddr: &msg.chaddr[..hlen],
            client_id: client_id.as_ref().map(|o| &*o.data),
            secs: msg.secs,
        };
        let verdict = ha.accepts(now, &client);
        ha_class = verdict.class;
        if !verdict.in_scope {
            tracing::debug!(
                xid = msg.xid,
                "HA_BUFFER4_RECEIVE_NOT_FOR_US: the partner's client"
            );
            server.stats.bump(Counter::ReceiveDrop, now);
            return;
        }
    }
    let bootp = kind.is_none() && msg.op == Message::BOOTREQUEST;
    server.stats.bump(
        match kind {
            Some(MessageType::Discover) => Counter::DiscoverReceived,
            Some(MessageType::Request) => Counter::RequestReceived,
            Some(MessageType::Decline) => Counter::DeclineReceived,
            Some(MessageType::Release) => Counter::ReleaseReceived,
            Some(MessageType::Inform) => Counter::InformReceived,
            Some(MessageType::Offer) => Counter::OfferReceived,
            Some(MessageType::Ack) => Counter::AckReceived,
            Some(MessageType::Nak) => Counter::NakReceived,
            None if bootp => Counter::RequestReceived,
            _ => Counter::UnknownReceived,
        },
        now,
    );
    // Options every handler reads must be well formed (Kea fails to unpack the packet).
    let client_id = match msg.client_id() {
        Ok(c) => c.map(|c| c.to_bytes()),
        Err(e) => return parse_failed(server, now, &format!("xid {:#x}: {e}", msg.xid)),
    };
    let read = || -> Result<_, OptionError> {
        Ok((
            msg.requested_ip()?,
            msg.server_id()?,
            msg.parameter_request_list()?,
            msg.host_name()?,
        ))
    };
    let (requested, server_id, asked, host_name) = match read() {
        Ok(r) => r,
        Err(e) => return parse_failed(server, now, &format!("xid {:#x}: {e}", msg.xid)),
    };
    let mut q = Query {
        msg: &msg,
        raw: d.payload,
        destination: d.destination,
        committed: std::cell::RefCell::default(),
        on,
        source: d.source,
        now,
        secs: epoch_secs(now),
        client_id,
        subnet: None,
        echo_client_id: server.config().echo_client_id,
        ha_class,
        requested,
        server_id,
        host_name,
        asked: asked.unwrap_or_default().into_iter().collect(),
        kind,
    };
    if let Err(why) = accept(server, &mut q, bootp, d.destination) {
        tracing::debug!(xid = msg.xid, "dropped: {why}");
        server.stats.bump(Counter::ReceiveDrop, now);
        return;
    }
    if let Err(why) = receive_callouts(server, &mut q) {
        tracing::debug!(xid = msg.xid, "dropped: {why}");
        server.stats.bump(Counter::ReceiveDrop, now);
        return;
    }
    match kind {
        Some(MessageType::Discover) => discover(server, &q),
        Some(MessageType::Request) => request(server, &q),
        Some(MessageType::Decline) => decline(server, &q),
        Some(MessageType::Release) => release(server, &q),
        Some(MessageType::Inform) => inform(server, &q),
        _ => bootp_request(server, &q),
    }
}

/// pkt4_receive, then subnet4_select for the queries Kea selects a subnet for (DISCOVER,
/// REQUEST, INFORM and BOOTP): why the query is dropped, if it is.
fn receive_callouts(server: &mut Server, q: &mut Query<'_>) -> Result<(), &'static str> {
    let kind = q.kind;
    let args = Args {
        query: Some(q.hook()),
        ..Args::default()
    };
    if matches!(
        server.callout(HookPoint::Pkt4Receive, &args).next_step,
        NextStep::Skip | NextStep::Drop
    ) {
        return Err("a pkt4_receive callout set SKIP or DROP");
    }
    if matches!(
        kind,
        Some(MessageType::Discover | MessageType::Request | MessageType::Inform) | None
    ) && server.hooks.present(HookPoint::Subnet4Select)
    {
        let subnet = q.subnet.and_then(|i| server.config.subnets.get(i).cloned());
        let args = Args {
            query: Some(q.hook()),
            subnet: subnet.as_deref(),
            ..Args::default()
        };
        match server.callout(HookPoint::Subnet4Select, &args).next_step {
            NextStep::Drop => return Err("a subnet4_select callout set DROP"),
            NextStep::Skip => {
                tracing::debug!(
                    xid = q.msg.xid,
                    "no subnet: a subnet4_select callout set SKIP"
                );
                q.subnet = None;
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_failed(server: &mut Server, now: SystemTime, why: &str) {
    tracing::debug!("not a DHCPv4 message: {why}");
    server.stats.bump(Counter::ParseFailed, now);
    server.stats.bump(Counter::ReceiveDrop, now);
}

/// Kea's `Dhcpv4Srv::accept` and sanity checks, and subnet selection: the reasons a query is
/// dropped before any handler sees it.
fn accept(
    server: &Server,
    q: &mut Query<'_>,
    bootp: bool,
    destination: Ipv4Addr,
) -> Result<(), String> {
    let (msg, kind) = (q.msg, q.kind);
    match kind {
        Some(
            MessageType::Discover
            | MessageType::Request
            | MessageType::Decline
            | MessageType::Release
            | MessageType::Inform,
        ) => {}
        None if bootp => {}
        None => return Err("a BOOTREPLY without a message type".into()),
        Some(other) => return Err(format!("{other} is not a client message")),
    }
    if msg.op != Message::BOOTREQUEST {
        return Err("not a BOOTREQUEST".into());
    }
    if let Some(id) = q.server_id {
        if kind == Some(MessageType::Discover) {
            return Err("a DISCOVER with a server identifier (RFC 2131 table 5)".into());
        }
        if !server.interfaces.iter().any(|i| i.address == id) {
            return Err(format!("server identifier {id} is another server's"));
        }
    }
    if msg.hardware_address().is_empty() && q.client_id.is_none() {
        return Err("neither a hardware address nor a client identifier".into());
    }
    if kind == Some(MessageType::Inform)
        && !q.relayed()
        && q.source.ip().is_unspecified()
        && q.ciaddr().is_none()
    {
        return Err("a direct INFORM from 0.0.0.0 without ciaddr".into());
    }
    q.subnet = select_subnet(server, q);
    let direct_broadcast = !q.relayed() && destination == Ipv4Addr::BROADCAST;
    if q.subnet.is_none() && direct_broadcast {
        return Err("no subnet for a broadcast query".into());
    }
    Ok(())
}

/// Kea's `CfgSubnets4::selectSubnet`: by the link-selection sub-option of option 82 or by
/// option 118 when sent; for a relayed query by its relay (a subnet's `relay.ip-addresses`,
/// then the subnet holding `giaddr`); for a direct one by `ciaddr` or the source address when
/// the query was unicast, else by the interface named in a subnet, else by the receiving
/// interface's address.
fn select_subnet(server: &Server, q: &Query<'_>) -> Option<usize> {
    let subnets = &server.config.subnets;
    let find = |a: Ipv4Addr| subnets.iter().position(|s| s.prefix.contains(a));
    if let Some(a) = link_selection(q.msg) {
        return find(a);
    }
    if let Some(a) = q
        .msg
        .option(code::SUBNET_SELECTION)
        .and_then(|o| <[u8; 4]>::try_from(o.data.as_ref()).ok())
    {
        return find(Ipv4Addr::from(a));
    }
    if q.relayed() {
        let giaddr = q.msg.giaddr;
        return subnets
            .iter()
            .position(|s| s.relays.contains(&giaddr))
            .or_else(|| find(giaddr));
    }
    let unicast = q.source.ip() != &Ipv4Addr::BROADCAST;
    let address = q
        .ciaddr()
        .or((!q.source.ip().is_unspecified()).then_some(*q.source.ip()))
        .filter(|_| unicast);
    if let Some(a) = address {
        return find(a);
    }
    subnets
        .iter()
        .position(|s| s.interface.as_deref() == Some(q.on.name.as_str()))
        .or_else(|| find(q.on.address))
}

/// Sub-option 5 (link selection, RFC 3527) of option 82.
fn link_selection(msg: &Message) -> Option<Ipv4Addr> {
    let subs = msg.relay_agent_info().ok().flatten()?;
    subs.iter()
        .find(|s| s.code == 5)
        .and_then(|s| <[u8; 4]>::try_from(s.data.as_slice()).ok())
        .map(Ipv4Addr::from)
}

/// A query dropped by a handler: logged, not counted as a receive drop (Kea counts those in
/// `accept()` only).
fn ignore(q: &Query<'_>, why: &str) {
    tracing::debug!(xid = q.msg.xid, "ignored: {why}");
}

/// Options Kea sends whenever they are configured, asked for or not (`appendBasicOptions`).
const BASIC: [u8; 3] = [code::ROUTER, code::DNS_SERVERS, code::DOMAIN_NAME];

/// Kea's `copyDefaultOptions`: the message type, the server identifier, and the echoes of the
/// client identifier (RFC 6842, unless `echo-client-id` is false), relay agent information (RFC 3046) and subnet selection
/// (RFC 3011). A reply that does not go back through the relay carries no option 82.
fn base_options(q: &Query<'_>, kind: Option<MessageType>, through_relay: bool) -> Options {
    let mut o = Options::default();
    if let Some(k) = kind {
        o.add(code::MESSAGE_TYPE, &[u8::from(k)]);
        o.add(code::SERVER_ID, &q.on.address.octets());
    }
    if let Some(c) = q.client_id.as_ref().filter(|_| q.echo_client_id) {
        o.add(code::CLIENT_ID, c);
    }
    if through_relay {
        if let Some(rai) = q
            .msg
            .option(code::RELAY_AGENT_INFO)
            .filter(|r| !r.data.is_empty())
        {
            o.add(code::RELAY_AGENT_INFO, &rai.data);
        }
    }
    if let Some(sel) = q.msg.option(code::SUBNET_SELECTION) {
        o.add(code::SUBNET_SELECTION, &sel.data);
    }
    o
}

/// The host name the lease gets and the reply carries: the reservation's, else the client's
/// option 12 cleaned as Kea's default `hostname-char-set` does (only letters, digits, dots and
/// hyphens, lower-cased). Kea stores host names in lower case.
fn host_name(q: &Query<'_>, subnet: &Subnet) -> Option<String> {
    let key = q.key(subnet);
    if let Some(name) = subnet
        .reservation_for(key.hwaddr, key.client_id)
        .and_then(|r| r.hostname.as_deref())
    {
        return Some(name.to_ascii_lowercase());
    }
    let sent = q.host_name.as_ref()?;
    let clean: String = sent
        .iter()
        .filter(|b| b.is_ascii_alphanumeric() || **b == b'.' || **b == b'-')
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// The options of an OFFER, ACK or BOOTP reply, or of an INFORM's ACK (no `address`): lease
/// times, subnet mask, host name, and configured options the client asked for or that are
/// always sent, looked up in the reservation, then the pool, then the subnet, then globally;
/// then the Host Requirements defaults of parameters asked for and not configured.
fn config_options(
    o: &mut Options,
    q: &Query<'_>,
    subnet: &Subnet,
    address: Option<Ipv4Addr>,
    valid: Option<u32>,
) {
    if let Some(v) = valid {
        o.add(code::LEASE_TIME, &v.to_be_bytes());
        if v != INFINITE {
            let (t1, t2) = subnet.tee_times(v);
            if let Some(t) = t1 {
                o.add(code::RENEWAL_TIME, &t.to_be_bytes());
            }
            if let Some(t) = t2 {
                o.add(code::REBINDING_TIME, &t.to_be_bytes());
            }
        }
    }
    if address.is_some() {
        o.add(code::SUBNET_MASK, &subnet.mask());
    }
    let requested = q.asked;
    if address.is_some() && (q.host_name.is_some() || requested.contains(code::HOST_NAME)) {
        if let Some(name) = host_name(q, subnet) {
            o.add(code::HOST_NAME, name.as_bytes());
        }
    }
    let key = q.key(subnet);
    let reservation = subnet.reservation_for(key.hwaddr, key.client_id);
    let pool = address.and_then(|a| subnet.pool_of(a));
    let levels = reservation
        .map(|r| r.option_data.as_slice())
        .into_iter()
        .chain(pool.map(|p| p.option_data.as_slice()))
        .chain(std::iter::once(subnet.options.as_slice()));
    for level in levels {
        for opt in level {
            if opt.always_send || requested.contains(opt.code) || BASIC.contains(&opt.code) {
                o.add(opt.code, &opt.data);
            }
        }
    }
    for (c, value) in HOST_REQUIREMENTS_DEFAULTS {
        if requested.contains(*c) {
            o.add(*c, value);
        }
    }
}

/// Parameters with a default in the Host Requirements documents (RFC 1122, and RFC 1191 for
/// path MTU aging), as RFC 2132 names them, with that default: RFC 2131 4.3.1 says a server
/// MUST return the default of such a parameter a client asks for when none is configured (a
/// configured value, added before, wins). Kea 2.2 returns nothing for them.
const HOST_REQUIREMENTS_DEFAULTS: &[(u8, &[u8])] = &[
    // IP forwarding off (RFC 1122 3.3.4: a host does not forward unless configured to).
    (19, &[0]),
    // Non-local source routing off (RFC 1122 3.3.5).
    (20, &[0]),
    // Maximum datagram reassembly size 576 (RFC 1122 3.3.2).
    (22, &[0x02, 0x40]),
    // Default IP time-to-live 64 (RFC 1122 3.2.1.7, the value of Assigned Numbers).
    (23, &[64]),
    // Path MTU aging timeout 600 s (RFC 1191 6.3: ten minutes).
    (24, &[0, 0, 0x02, 0x58]),
    // All subnets are local: no (RFC 1122 3.3.3).
    (27, &[0]),
    // Perform mask discovery: no (RFC 1122 3.2.2.9).
    (29, &[0]),
    // Mask supplier: no (RFC 1122 3.2.2.9).
    (30, &[0]),
    // Trailer encapsulation: no (RFC 1122 2.3.1).
    (34, &[0]),
    // Ethernet encapsulation: RFC 894 (RFC 1122 2.3.3).
    (36, &[0]),
    // TCP default TTL 64 (RFC 1122 4.2.2.19: configurable, Assigned Numbers' value).
    (37, &[64]),
    // TCP keepalive interval two hours (RFC 1122 4.2.3.6).
    (38, &[0, 0, 0x1c, 0x20]),
    // TCP keepalive garbage octet: no (RFC 1122 4.2.3.6).
    (39, &[0]),
];

fn send(
    server: &mut Server,
    q: &Query<'_>,
    kind: Option<MessageType>,
    yiaddr: Ipv4Addr,
    options: Options,
) {
    let inform = q.kind == Some(MessageType::Inform);
    let mut reply = reply::build(q.msg, inform, kind, yiaddr, options);
    if kind != Some(MessageType::Nak) {
        // Kea's next-server, server-hostname and boot-file-name.
        let global = &server.config.kea.boot;
        let boot = q
            .subnet
            .and_then(|i| server.config.subnets.get(i))
            .map_or_else(|| global.clone(), |s| s.boot.clone());
        if let Some(a) = boot.next_server {
            reply.siaddr = a;
        }
        if let Some(name) = &boot.server_hostname {
            let n = name.len().min(reply.sname.len() - 1);
            reply.sname[..n].copy_from_slice(&name.as_bytes()[..n]);
        }
        if let Some(file) = &boot.boot_file_name {
            let n = file.len().min(reply.file.len() - 1);
            reply.file[..n].copy_from_slice(&file.as_bytes()[..n]);
        }
    }
    let mut committed = None;
    if matches!(q.kind, Some(MessageType::Request) | None) {
        let (leases, deleted) = q.committed.take();
        let args = Args {
            query: Some(q.hook()),
            leases: Some(&leases),
            deleted: Some(&deleted),
            ..Args::default()
        };
        match server.callout(HookPoint::Leases4Committed, &args).next_step {
            NextStep::Drop => {
                return ignore(q, "a leases4_committed callout set DROP: no answer");
            }
            NextStep::Park => return park(server, q),
            _ => {}
        }
        committed = Some((leases, deleted));
    }
    let args = Args {
        query: Some(q.hook()),
        response: Some(&reply),
        ..Args::default()
    };
    // SKIP: the callouts packed the answer; the server packs it anyway.
    if server.callout(HookPoint::Pkt4Send, &args).next_step == NextStep::Drop {
        return ignore(q, "a pkt4_send callout set DROP: no answer");
    }
    let t = reply::transmit(q.msg, inform, &reply, kind, &q.on, q.source);
    if server.hooks.present(HookPoint::Buffer4Send) {
        let args = Args {
            query: Some(q.hook()),
            packed: Some(&t.payload),
            ..Args::default()
        };
        if matches!(
            server.callout(HookPoint::Buffer4Send, &args).next_step,
            NextStep::Skip | NextStep::Drop
        ) {
            return ignore(q, "a buffer4_send callout set SKIP or DROP: no answer");
        }
    }
    let held = Held { transmit: t, kind };
    let ready = match committed {
        Some((leases, deleted)) => server.hold_for_partner(q.now, &leases, &deleted, Some(held)),
        None => Some(held),
    };
    if let Some(held) = ready {
        release_held(server, q.now, held);
    }
}

/// A reply ready to go, held while the HA partner acknowledges its lease updates.
#[derive(Debug)]
pub(crate) struct Held {
    transmit: crate::Transmit,
    kind: Option<MessageType>,
}

/// Sends a reply and counts it.
pub(crate) fn release_held(server: &mut Server, now: SystemTime, held: Held) {
    server.stats.bump(Counter::Sent, now);
    match held.kind {
        Some(MessageType::Offer) => server.stats.bump(Counter::OfferSent, now),
        Some(MessageType::Ack) => server.stats.bump(Counter::AckSent, now),
        Some(MessageType::Nak) => server.stats.bump(Counter::NakSent, now),
        _ => {}
    }
    server.transmit(held.transmit);
}

/// Holds a reply a leases4_committed callout parked, or drops it when `parked-packet-limit`
/// replies are parked already (Kea's parking lot full).
fn park(server: &mut Server, q: &Query<'_>) {
    let limit = server.config.kea.parked_packet_limit;
    if limit != 0 && server.parked >= limit as usize {
        return ignore(
            q,
            "parked-packet-limit reached: the parked reply is dropped",
        );
    }
    server.parked += 1;
    tracing::debug!(
        xid = q.msg.xid,
        "reply parked by a leases4_committed callout"
    );
}

/// A NAK carries only the base options (Kea 2.2: no host name, no configured options).
fn nak(server: &mut Server, q: &Query<'_>, why: &str) {
    tracing::debug!(xid = q.msg.xid, "NAK: {why}");
    let o = base_options(q, Some(MessageType::Nak), q.relayed());
    send(server, q, Some(MessageType::Nak), Ipv4Addr::UNSPECIFIED, o);
}

/// Kea's allocation failure counters: `-subnet`, then `-no-pools` or the plain one, then
/// `-classes` (every client is in class ALL), each also for the subnet.
fn exhausted(server: &mut Server, q: &Query<'_>, subnet_id: u32, why: Exhaustion) {
    tracing::warn!(
        xid = q.msg.xid,
        subnet = subnet_id,
        "no address to give: {why:?}"
    );
    let (plain, plain_subnet) = match why {
        Exhaustion::NoPools => (
            Counter::AllocationFailNoPools,
            SubnetCounter::AllocationFailNoPools,
        ),
        Exhaustion::Full => (Counter::AllocationFail, SubnetCounter::AllocationFail),
    };
    for (c, sc) in [
        (
            Counter::AllocationFailSubnet,
            SubnetCounter::AllocationFailSubnet,
        ),
        (plain, plain_subnet),
        (
            Counter::AllocationFailClasses,
            SubnetCounter::AllocationFailClasses,
        ),
    ] {
        server.stats.bump(c, q.now);
        server.stats.bump_subnet(subnet_id, sc, q.now);
    }
}

/// Counts a reserved address that another client holds, as Kea's `v4-reservation-conflicts`.
fn note_reservation_conflict(server: &mut Server, q: &Query<'_>, subnet: &Subnet) {
    let key = q.key(subnet);
    if let Some(r) = alloc::reserved_address(subnet, key) {
        if alloc::check(&server.leases, subnet, key, r, q.secs) == Err(Refusal::InUse) {
            let id = subnet.id;
            server.stats.bump(Counter::ReservationConflicts, q.now);
            server
                .stats
                .bump_subnet(id, SubnetCounter::ReservationConflicts, q.now);
        }
    }
}

/// Picks an address in subnet `si` with that subnet's allocation cursor, which moves on.
fn pick(
    server: &mut Server,
    si: usize,
    subnet: &Subnet,
    key: ClientKey<'_>,
    current: Option<&Lease4>,
    hint: Option<Ipv4Addr>,
    secs: u64,
) -> Result<Ipv4Addr, Exhaustion> {
    let mut cursor = server.cursors.get(si).copied().unwrap_or_default();
    let picked = alloc::pick(
        &server.leases,
        subnet,
        &mut cursor,
        key,
        current,
        hint,
        secs,
    );
    if let Some(c) = server.cursors.get_mut(si) {
        *c = cursor;
    }
    picked
}

/// DISCOVER: pick an address and offer it; nothing is written (Kea 2.2 does not keep offers).
/// Without a subnet or an address there is no answer.
fn discover(server: &mut Server, q: &Query<'_>) {
    let Some(si) = q.subnet else {
        return ignore(q, "no subnet for this client");
    };
    let Some(subnet) = server.config.subnets.get(si).cloned() else {
        return;
    };
    note_reservation_conflict(server, q, &subnet);
    let key = q.key(&subnet);
    let current = alloc::client_lease(&server.leases, &subnet, key);
    let hint = q.requested.or(q.ciaddr());
    let picked = pick(server, si, &subnet, key, current.as_ref(), hint, q.secs);
    match picked {
        Ok(address) => {
            let renewal = is_renewal(current.as_ref(), address, q.secs);
            let point = if renewal {
                HookPoint::Lease4Renew
            } else {
                HookPoint::Lease4Select
            };
            // The lease an OFFER stands for is built only for the callouts: Kea keeps none.
            if server.hooks.present(point) {
                let mut lease = new_lease(server, q, &subnet, address, subnet.valid_lifetime);
                if select_callouts(server, q, &subnet, &mut lease, renewal, true) == NextStep::Skip
                    && !renewal
                {
                    return ignore(q, "a lease4_select callout set SKIP: nothing to offer");
                }
            }
            let mut o = base_options(q, Some(MessageType::Offer), q.relayed());
            config_options(
                &mut o,
                q,
                &subnet,
                Some(address),
                Some(subnet.valid_lifetime),
            );
            send(server, q, Some(MessageType::Offer), address, o);
        }
        Err(why) => exhausted(server, q, subnet.id, why),
    }
}

/// REQUEST: commit the address the client asks for, or NAK when it cannot have it. The client
/// state (RFC 2131 4.3.2) is told apart by server identifier, requested address and `ciaddr`.
fn request(server: &mut Server, q: &Query<'_>) {
    let Some(si) = q.subnet else {
        // Kea 2.2 NAKs a REQUEST it finds no subnet for.
        return nak(server, q, "no subnet for this client");
    };
    let Some(subnet) = server.config.subnets.get(si).cloned() else {
        return;
    };
    let key = q.key(&subnet);
    let current = alloc::client_lease(&server.leases, &subnet, key);
    let init_reboot = q.server_id.is_none() && q.requested.is_some() && q.ciaddr().is_none();
    let hint = q.requested.or(q.ciaddr());
    if init_reboot {
        // The client checks the lease it remembers. One the server has no record of is left
        // to other servers unless this one is authoritative.
        let known = current.is_some();
        if !known && !subnet.authoritative {
            return ignore(
                q,
                "INIT-REBOOT from a client without a lease here (not authoritative)",
            );
        }
        if hint.is_some_and(|h| !subnet.prefix.contains(h)) {
            return nak(server, q, "requested address is not on this network");
        }
        if current.as_ref().is_some_and(|l| Some(l.address) != hint) {
            return nak(server, q, "the client's lease is for another address");
        }
    }
    let address = match hint {
        Some(h) => {
            if alloc::reserved_address(&subnet, key).is_some_and(|r| r != h) {
                return nak(
                    server,
                    q,
                    "the client has a reservation for another address",
                );
            }
            match alloc::check(&server.leases, &subnet, key, h, q.secs) {
                Ok(()) => h,
                Err(Refusal::WrongSubnet | Refusal::NotAllocatable) if !init_reboot => {
                    // Kea 2.2: an address in no pool it knows is someone else's business.
                    return ignore(q, &format!("{h} is in no pool of this server"));
                }
                Err(why) => return nak(server, q, &format!("{h} cannot be leased: {why:?}")),
            }
        }
        None => {
            let picked = pick(server, si, &subnet, key, current.as_ref(), None, q.secs);
            match picked {
                Ok(a) => a,
                Err(why) => {
                    exhausted(server, q, subnet.id, why);
                    return nak(server, q, "no address to give");
                }
            }
        }
    };
    grant(
        server,
        q,
        &subnet,
        address,
        current,
        subnet.valid_lifetime,
        Some(MessageType::Ack),
    );
}

/// Commits a lease of `address` for `valid` seconds and sends the reply: the client's other
/// lease in the subnet, if any, is deleted first.
fn grant(
    server: &mut Server,
    q: &Query<'_>,
    subnet: &Subnet,
    address: Ipv4Addr,
    current: Option<Lease4>,
    valid: u32,
    kind: Option<MessageType>,
) {
    let mut o = base_options(q, kind, q.relayed());
    config_options(&mut o, q, subnet, Some(address), Some(valid));
    if kind.is_none() {
        // Kea's BOOTP hook strips what is DHCP's own.
        for c in [50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 61] {
            o.remove(c);
        }
    }
    // A renewal of the client's active lease is not a new assignment.
    let renewal = is_renewal(current.as_ref(), address, q.secs);
    let mut lease = new_lease(server, q, subnet, address, valid);
    if select_callouts(server, q, subnet, &mut lease, renewal, false) == NextStep::Skip {
        if !renewal {
            return match kind {
                Some(_) => nak(server, q, "a lease4_select callout set SKIP: no lease"),
                None => ignore(q, "a lease4_select callout set SKIP: no lease"),
            };
        }
        // Kea keeps the lease as it was and answers with it.
        tracing::debug!(%address, "a lease4_renew callout set SKIP: the lease is not renewed");
        *q.committed.borrow_mut() = (current.into_iter().collect(), Vec::new());
        return send(server, q, kind, address, o);
    }
    if !renewal {
        server.stats.bump(Counter::CumulativeAssigned, q.now);
        server
            .stats
            .bump_subnet(subnet.id, SubnetCounter::CumulativeAssigned, q.now);
    }
    let mut deleted = Vec::new();
    if let Some(old) = current.filter(|l| l.address != address) {
        deleted.extend(server.delete(old.address));
    }
    if server.hooks.present(HookPoint::Leases4Committed) || server.ha.is_some() {
        *q.committed.borrow_mut() = (vec![lease.clone()], deleted);
    }
    if let Err(e) = server.commit(lease) {
        tracing::error!("lease not stored: {e}");
        return;
    }
    send(server, q, kind, address, o);
}

/// True when giving `address` extends the client's active lease of it.
fn is_renewal(current: Option<&Lease4>, address: Ipv4Addr, secs: u64) -> bool {
    current.is_some_and(|l| l.address == address && l.state == STATE_DEFAULT && l.expire >= secs)
}

/// The lease of `address` for `valid` seconds that the query would get.
fn new_lease(
    server: &Server,
    q: &Query<'_>,
    subnet: &Subnet,
    address: Ipv4Addr,
    valid: u32,
) -> Lease4 {
    Lease4 {
        address,
        hwaddr: q.msg.hardware_address().to_vec(),
        client_id: q.client_id.clone().unwrap_or_default(),
        valid_lifetime: valid,
        expire: q.secs.saturating_add(u64::from(valid)),
        subnet_id: subnet.id,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: host_name(q, subnet).unwrap_or_default(),
        state: STATE_DEFAULT,
        user_context: server.leases.get(address).and_then(|l| l.user_context),
    }
}

/// lease4_renew for a renewal of the client's lease, else lease4_select (`fake`: only
/// offered); a user context a callout set goes into `lease`. The status the callouts left:
/// SKIP means no lease (select) or the lease left as it was (renew).
fn select_callouts(
    server: &mut Server,
    q: &Query<'_>,
    subnet: &Subnet,
    lease: &mut Lease4,
    renewal: bool,
    fake: bool,
) -> NextStep {
    let point = if renewal {
        HookPoint::Lease4Renew
    } else {
        HookPoint::Lease4Select
    };
    if !server.hooks.present(point) {
        return NextStep::Continue;
    }
    let client_id = q.key(subnet).client_id.unwrap_or_default();
    let args = Args {
        query: Some(q.hook()),
        subnet: Some(subnet),
        lease: Some(lease),
        fake_allocation: (!renewal).then_some(fake),
        renew_ids: renewal.then_some((client_id, q.msg.hardware_address())),
        ..Args::default()
    };
    let out = server.callout(point, &args);
    if let Some(context) = out.lease_context {
        lease.user_context = Some(context);
    }
    out.next_step
}

/// DECLINE: the address is in use by someone else; it rests in probation for a day, as Kea's
/// `Lease4::decline` leaves it: no client, no host name, state declined. Nothing is sent.
fn decline(server: &mut Server, q: &Query<'_>) {
    let Some(address) = q.requested else {
        // Kea throws on a DECLINE without option 50: a receive drop.
        tracing::debug!(
            xid = q.msg.xid,
            "dropped: DECLINE without a requested address"
        );
        server.stats.bump(Counter::ReceiveDrop, q.now);
        return;
    };
    let Some(lease) = server.leases.get(address) else {
        return ignore(q, "DECLINE of an address without a lease");
    };
    let Some(subnet) = server.config.subnet(lease.subnet_id) else {
        return ignore(q, "DECLINE of a lease in a subnet no longer configured");
    };
    if !q.key(subnet).owns(&lease) {
        return ignore(q, "DECLINE of another client's lease");
    }
    if stopped(server, q, HookPoint::Lease4Decline, &lease) {
        return ignore(q, "a lease4_decline callout set SKIP or DROP: not declined");
    }
    tracing::info!(%address, "declined; in probation for {DECLINE_PROBATION} s");
    let declined = Lease4 {
        hwaddr: Vec::new(),
        client_id: Vec::new(),
        valid_lifetime: DECLINE_PROBATION,
        expire: q.secs + u64::from(DECLINE_PROBATION),
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        state: STATE_DECLINED,
        ..lease
    };
    if let Err(e) = server.commit(declined.clone()) {
        tracing::error!("lease not stored: {e}");
        return;
    }
    committed(server, q, &[declined], &[]);
}

/// lease4_decline or lease4_release with the query and its lease: true when a callout set
/// SKIP or DROP, and the server leaves the lease as it is.
fn stopped(server: &mut Server, q: &Query<'_>, point: HookPoint, lease: &Lease4) -> bool {
    let args = Args {
        query: Some(q.hook()),
        lease: Some(lease),
        ..Args::default()
    };
    matches!(
        server.callout(point, &args).next_step,
        NextStep::Skip | NextStep::Drop
    )
}

/// leases4_committed for a query that gets no answer (RELEASE, DECLINE).
fn committed(server: &mut Server, q: &Query<'_>, leases: &[Lease4], deleted: &[Lease4]) {
    let args = Args {
        query: Some(q.hook()),
        leases: Some(leases),
        deleted: Some(deleted),
        ..Args::default()
    };
    if server.callout(HookPoint::Leases4Committed, &args).next_step == NextStep::Drop {
        return;
    }
    server.hold_for_partner(q.now, leases, deleted, None);
}

/// RELEASE: the client gives `ciaddr` back; Kea 2.2 deletes the lease. Nothing is sent.
fn release(server: &mut Server, q: &Query<'_>) {
    let address = q.msg.ciaddr;
    let Some(lease) = server.leases.get(address) else {
        return ignore(q, "RELEASE of an address without a lease");
    };
    let owns = server
        .config
        .subnet(lease.subnet_id)
        .is_some_and(|s| q.key(s).owns(&lease));
    if !owns {
        return ignore(q, "RELEASE of another client's lease");
    }
    if stopped(server, q, HookPoint::Lease4Release, &lease) {
        return ignore(
            q,
            "a lease4_release callout set SKIP or DROP: the lease stays",
        );
    }
    tracing::info!(%address, "released");
    let deleted: Vec<Lease4> = server.delete(address).into_iter().collect();
    committed(server, q, &[], &deleted);
}

/// INFORM: configuration without an address. Without a subnet the ACK carries only the base
/// options. A reply that does not go to the relay leaves option 82 out.
fn inform(server: &mut Server, q: &Query<'_>) {
    let through_relay = q.relayed() && q.ciaddr().is_none();
    let mut o = base_options(q, Some(MessageType::Ack), through_relay);
    if let Some(subnet) = q.subnet.and_then(|i| server.config.subnets.get(i)) {
        config_options(&mut o, q, subnet, None, None);
    }
    send(server, q, Some(MessageType::Ack), Ipv4Addr::UNSPECIFIED, o);
}

/// BOOTP (no message type), as Kea with its BOOTP hook: handled as a REQUEST whose hint is
/// `ciaddr`, committed at once with an infinite lease, answered with a BOOTREPLY padded to 300
/// bytes. Where Kea would send a NAK-typed reply stripped to a bare BOOTREPLY, nothing is sent.
fn bootp_request(server: &mut Server, q: &Query<'_>) {
    let Some(si) = q.subnet else {
        return ignore(q, "no subnet for this BOOTP client");
    };
    let Some(subnet) = server.config.subnets.get(si).cloned() else {
        return;
    };
    let key = q.key(&subnet);
    let current = alloc::client_lease(&server.leases, &subnet, key);
    let picked = pick(
        server,
        si,
        &subnet,
        key,
        current.as_ref(),
        q.ciaddr(),
        q.secs,
    );
    match picked {
        Ok(address) => grant(server, q, &subnet, address, current, INFINITE, None),
        Err(why) => exhausted(server, q, subnet.id, why),
    }
}
