//! The check every run makes beside its steps when servers share a link: no address held by
//! two clients at once, as the ACKs (DHCPv6: the Replies) on the link tell it and as the
//! servers' lease tables tell it. For DHCPv6 an address is held by a client's DUID, and two
//! delegated prefixes conflict when they overlap. Both modes use it: virtual mode as messages
//! go and leases are written, TAP mode on the switch's capture and the servers' lease files.

use dhcplab_memfile::{Lease4, Lease6, LeaseType};
use dhcplab_scenario::v6::in_prefix6;
use dhcplab_wire::v4::{Glance, Hex, Message, MessageType};
use dhcplab_wire::v6;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Who holds which address by the ACKs seen so far: the client's link address and when its
/// lease ends (nanoseconds since the start of the run). A RELEASE or DECLINE from the holder
/// ends its hold. DHCPv6 holds (addresses as /128, delegated prefixes) are kept by the
/// client's DUID, from servers' Replies.
#[derive(Debug, Default, Clone)]
pub struct AckLedger {
    /// Looked up for every ACK and RELEASE, never iterated.
    held: hashbrown::HashMap<Ipv4Addr, ([u8; 6], u128)>,
    held6: BTreeMap<(Ipv6Addr, u8), (Vec<u8>, u128)>,
    /// The prefix lengths held6 has seen, so a lookup of the holds containing a prefix asks
    /// only for those.
    lengths6: std::collections::BTreeSet<u8>,
}

/// Whether a message of type `kind` can change who holds what: a server's ACK, a client's
/// RELEASE or DECLINE.
fn concerns(from_server: bool, kind: MessageType) -> bool {
    if from_server {
        kind == MessageType::Ack
    } else {
        matches!(kind, MessageType::Release | MessageType::Decline)
    }
}

/// What the ledger reads of a DHCPv4 message: its type and client, the addresses it names
/// and the lease time it gives.
struct Facts {
    kind: MessageType,
    mac: [u8; 6],
    ciaddr: Ipv4Addr,
    yiaddr: Ipv4Addr,
    requested: Option<Ipv4Addr>,
    lifetime: Option<u32>,
}

/// What a DHCPv6 message says about the addresses and prefixes of its IAs: (address or
/// prefix, length, valid lifetime), leaving out IAs whose status code is a failure.
fn ia_holdings(options: &v6::OptionsRef<'_>) -> Vec<(Ipv6Addr, u8, u32)> {
    let ok = |o: &v6::OptionsRef<'_>| o.status_code().ok().flatten().is_none_or(|s| s.code == 0);
    let mut out = Vec::new();
    for ia in options.ia_na().unwrap_or_default() {
        if ok(&ia.options) {
            for a in ia.options.ia_addresses().unwrap_or_default() {
                out.push((a.addr, 128, a.valid));
            }
        }
    }
    for ia in options.ia_pd().unwrap_or_default() {
        if ok(&ia.options) {
            for p in ia.options.ia_prefixes().unwrap_or_default() {
                out.push((p.prefix, p.prefix_len, p.valid));
            }
        }
    }
    out
}

/// `a` with its bits past the first `len` cleared.
fn masked6(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    Ipv6Addr::from(u128::from(a) & mask)
}

/// Whether prefix `a`/`la` and prefix `b`/`lb` share an address (one holds the other).
pub fn overlap6(a: Ipv6Addr, la: u8, b: Ipv6Addr, lb: u8) -> bool {
    in_prefix6(a, b, la.min(lb))
}

impl AckLedger {
    /// Takes a message sent at `at_ns` by `sender` (`from_server`: a server); the broken
    /// invariant, if this ACK gives an address another client holds.
    pub fn observe(
        &mut self,
        at_ns: u128,
        sender: &str,
        from_server: bool,
        m: &Message,
    ) -> Option<String> {
        let kind = m.message_type().ok().flatten()?;
        if !concerns(from_server, kind) {
            return None;
        }
        let facts = Facts {
            kind,
            mac: <[u8; 6]>::try_from(m.hardware_address()).ok()?,
            ciaddr: m.ciaddr,
            yiaddr: m.yiaddr,
            requested: m.requested_ip().ok().flatten(),
            lifetime: m.lease_time().ok().flatten(),
        };
        self.observe_facts(at_ns, sender, from_server, facts)
    }

    /// [`AckLedger::observe`] of a UDP payload: read in place when it is the common message,
    /// decoded otherwise; a payload that is no DHCPv4 message holds nothing.
    pub fn observe_bytes(
        &mut self,
        at_ns: u128,
        sender: &str,
        from_server: bool,
        payload: &[u8],
    ) -> Option<String> {
        let Some(g) = Glance::new(payload) else {
            let m = Message::decode(payload).ok()?;
            return self.observe(at_ns, sender, from_server, &m);
        };
        let kind = g.message_type()?;
        if !concerns(from_server, kind) {
            return None;
        }
        let facts = Facts {
            kind,
            mac: <[u8; 6]>::try_from(g.hardware_address()).ok()?,
            ciaddr: g.ciaddr(),
            yiaddr: g.yiaddr(),
            requested: g.requested_ip(),
            lifetime: g.lease_time(),
        };
        self.observe_facts(at_ns, sender, from_server, facts)
    }

    fn observe_facts(
        &mut self,
        at_ns: u128,
        sender: &str,
        from_server: bool,
        m: Facts,
    ) -> Option<String> {
        let mac = m.mac;
        if !from_server {
            let address = match m.kind {
                MessageType::Release => m.ciaddr,
                MessageType::Decline => m.requested?,
                _ => return None,
            };
            if self.held.get(&address).is_some_and(|(h, _)| *h == mac) {
                self.held.remove(&address);
            }
            return None;
        }
        if m.kind != MessageType::Ack || m.yiaddr == Ipv4Addr::UNSPECIFIED {
            return None;
        }
        let lifetime = m.lifetime.unwrap_or(0);
        let broken = match self.held.get(&m.yiaddr) {
            Some((holder, until)) if *holder != mac && *until > at_ns => Some(format!(
                "{sender} ACKed {} to {} while {} holds it from an earlier ACK",
                m.yiaddr,
                Hex(&mac),
                Hex(holder)
            )),
            _ => None,
        };
        let until = at_ns + u128::from(lifetime) * 1_000_000_000;
        self.held.insert(m.yiaddr, (mac, until));
        broken
    }

    /// Takes a DHCPv6 message sent at `at_ns` by `sender` (`from_server`: a server; a
    /// RELAY-REPL is read for the message inside); the broken invariant, if this Reply gives
    /// an address, or a prefix overlapping one, that another client (DUID) holds. A Reply's
    /// valid lifetime of 0, and a client's Release or Decline, end the holder's hold.
    pub fn observe6(
        &mut self,
        at_ns: u128,
        sender: &str,
        from_server: bool,
        m: &v6::Message,
    ) -> Option<String> {
        let Ok(inner) = m.innermost() else {
            return None;
        };
        let options = inner.options();
        let duid = options.get(v6::code::CLIENT_ID)?.data.to_vec();
        let kind = inner.msg_type();
        if !from_server {
            if kind == v6::MessageType::RELEASE || kind == v6::MessageType::DECLINE {
                for (a, len, _) in ia_holdings(&options) {
                    if self.held6.get(&(a, len)).is_some_and(|(h, _)| *h == duid) {
                        self.held6.remove(&(a, len));
                    }
                }
            }
            return None;
        }
        if kind != v6::MessageType::REPLY {
            return None;
        }
        let mut broken = None;
        for (a, len, valid) in ia_holdings(&options) {
            if valid == 0 {
                if self.held6.get(&(a, len)).is_some_and(|(h, _)| *h == duid) {
                    self.held6.remove(&(a, len));
                }
                continue;
            }
            let other = self
                .overlapping6(a, len)
                .find(|((_, _), (h, until))| *h != duid && *until > at_ns);
            if let Some(((b, lb), (h, _))) = other
                && broken.is_none()
            {
                broken = Some(format!(
                    "{sender} gave {a}/{len} to DUID {} while DUID {} holds {b}/{lb} from an earlier Reply",
                    Hex(&duid),
                    Hex(h)
                ));
            }
            let until = at_ns + u128::from(valid) * 1_000_000_000;
            self.held6.insert((a, len), (duid.clone(), until));
            self.lengths6.insert(len);
        }
        broken
    }
}

impl AckLedger {
    /// The holds overlapping `a`/`len`: those inside it (their start lies in it, by a range
    /// of the map), and those holding it (one lookup per shorter length).
    fn overlapping6(
        &self,
        a: Ipv6Addr,
        len: u8,
    ) -> impl Iterator<Item = (&(Ipv6Addr, u8), &(Vec<u8>, u128))> {
        let first = masked6(a, len);
        let host_bits = u128::MAX.checked_shr(u32::from(len)).unwrap_or(0);
        let last = Ipv6Addr::from(u128::from(first) | host_bits);
        let inside = self
            .held6
            .range((first, len)..=(last, u8::MAX))
            .filter(move |((_, lb), _)| *lb >= len);
        let holding = self
            .lengths6
            .range(..len)
            .filter_map(move |l| self.held6.get_key_value(&(masked6(a, *l), *l)));
        inside.chain(holding)
    }
}

/// A lease row of either version, as the lease-table check reads it.
pub trait Held {
    /// Whether it and `other` cover a common address (the same address; overlapping
    /// delegated prefixes).
    fn overlaps(&self, other: &Self) -> bool;
    /// Whether both belong to one client.
    fn same_client(&self, other: &Self) -> bool;
    /// Whether it is in force at `now` (seconds since 1970).
    fn active(&self, now: u64) -> bool;
    /// The address or prefix, as text.
    fn what(&self) -> String;
    /// The client, as text.
    fn holder(&self) -> String;
}

impl Held for Lease4 {
    fn overlaps(&self, other: &Self) -> bool {
        self.address == other.address
    }
    fn same_client(&self, other: &Self) -> bool {
        self.hwaddr == other.hwaddr
            || (!self.client_id.is_empty() && self.client_id == other.client_id)
    }
    fn active(&self, now: u64) -> bool {
        self.state == 0 && self.valid_lifetime > 0 && self.expire > now
    }
    fn what(&self) -> String {
        self.address.to_string()
    }
    fn holder(&self) -> String {
        Hex(&self.hwaddr).to_string()
    }
}

impl Held for Lease6 {
    fn overlaps(&self, other: &Self) -> bool {
        let pd = |l: &Lease6| l.lease_type == LeaseType::Pd;
        pd(self) == pd(other)
            && overlap6(
                self.address,
                self.prefix_len,
                other.address,
                other.prefix_len,
            )
    }
    fn same_client(&self, other: &Self) -> bool {
        self.duid == other.duid
    }
    fn active(&self, now: u64) -> bool {
        self.state == 0 && self.valid_lifetime > 0 && self.expire > now
    }
    fn what(&self) -> String {
        match self.lease_type {
            LeaseType::Pd => format!("{}/{}", self.address, self.prefix_len),
            _ => self.address.to_string(),
        }
    }
    fn holder(&self) -> String {
        format!("DUID {}", Hex(&self.duid))
    }
}

/// Whether two leases (one address, or overlapping prefixes), from two servers, are both in
/// force at `now` (seconds since 1970) for different clients.
pub fn leases_conflict<L: Held>(a: &L, b: &L, now: u64) -> bool {
    a.overlaps(b) && a.active(now) && b.active(now) && !a.same_client(b)
}

/// The conflicts between servers' lease tables at `now`: each server's name and its leases.
pub fn table_conflicts<L: Held>(tables: &[(String, Vec<L>)], now: u64) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (name_a, a)) in tables.iter().enumerate() {
        let live: Vec<&L> = a.iter().filter(|l| l.active(now)).collect();
        for (name_b, b) in tables.iter().skip(i + 1) {
            for l in b.iter().filter(|l| l.active(now)) {
                if let Some(other) = live.iter().find(|o| leases_conflict(**o, l, now)) {
                    out.push(lease_conflict_text(name_b, l, name_a, *other));
                }
            }
        }
    }
    out
}

/// How a lease-table conflict reads: `leased` by `by`, while `holder` leases `theirs`.
pub fn lease_conflict_text<L: Held>(by: &str, leased: &L, holder: &str, theirs: &L) -> String {
    format!(
        "{by} leased {} to {} while {holder} leases {} to {}",
        leased.what(),
        leased.holder(),
        if leased.what() == theirs.what() {
            "it".to_string()
        } else {
            theirs.what()
        },
        theirs.holder()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcplab_wire::v4::code;

    fn ack(mac: u8, address: [u8; 4], lifetime: u32) -> Message {
        let mut m = Message::new(Message::BOOTREPLY, 1, [2, 0, 0x5e, 0, 0x53, mac]);
        m.yiaddr = Ipv4Addr::from(address);
        m.options.push(code::MESSAGE_TYPE, &[5]).expect("fits");
        m.options
            .push(code::LEASE_TIME, &lifetime.to_be_bytes())
            .expect("fits");
        m
    }

    #[test]
    fn an_ack_of_a_held_address_to_another_client_breaks_it_until_the_lease_ends() {
        let mut l = AckLedger::default();
        let s = 1_000_000_000u128;
        assert_eq!(
            l.observe(0, "srv1", true, &ack(1, [192, 0, 2, 100], 60)),
            None
        );
        assert_eq!(
            l.observe(10 * s, "srv1", true, &ack(1, [192, 0, 2, 100], 60)),
            None,
            "a renewal"
        );
        let broken = l.observe(20 * s, "srv2", true, &ack(2, [192, 0, 2, 100], 60));
        assert_eq!(
            broken.as_deref(),
            Some(
                "srv2 ACKed 192.0.2.100 to 02:00:5e:00:53:02 while 02:00:5e:00:53:01 holds it from an earlier ACK"
            )
        );
        // After the lease ran out, or a release, the address is free.
        assert_eq!(
            l.observe(200 * s, "srv1", true, &ack(3, [192, 0, 2, 100], 60)),
            None
        );
        let mut release = Message::new(Message::BOOTREQUEST, 2, [2, 0, 0x5e, 0, 0x53, 3]);
        release.ciaddr = Ipv4Addr::new(192, 0, 2, 100);
        release
            .options
            .push(code::MESSAGE_TYPE, &[7])
            .expect("fits");
        assert_eq!(l.observe(201 * s, "c3", false, &release), None);
        assert_eq!(
            l.observe(202 * s, "srv2", true, &ack(4, [192, 0, 2, 100], 60)),
            None
        );
    }

    #[test]
    fn lease_tables_conflict_only_for_two_clients_in_force() {
        let lease = |mac: u8, expire: u64| Lease4 {
            address: Ipv4Addr::new(192, 0, 2, 100),
            hwaddr: vec![2, 0, 0x5e, 0, 0x53, mac],
            client_id: Vec::new(),
            valid_lifetime: 60,
            expire,
            subnet_id: 1,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            state: 0,
            user_context: None,
        };
        let t = |l: Lease4| vec![l];
        let tables = [
            ("a".to_string(), t(lease(1, 100))),
            ("b".to_string(), t(lease(2, 100))),
        ];
        assert_eq!(
            table_conflicts(&tables, 50),
            ["b leased 192.0.2.100 to 02:00:5e:00:53:02 while a leases it to 02:00:5e:00:53:01"]
        );
        assert!(table_conflicts(&tables, 100).is_empty(), "expired");
        let same = [
            ("a".to_string(), t(lease(1, 100))),
            ("b".to_string(), t(lease(1, 100))),
        ];
        assert!(table_conflicts(&same, 50).is_empty(), "one client");
    }

    /// A server's Reply (as a RELAY-REPL carries it) with one IA_NA address or IA_PD prefix.
    fn reply6(duid: u8, pd: bool, address: Ipv6Addr, len: u8, valid: u32) -> v6::Message {
        let mut inner = v6::Options::new();
        let mut entry = Vec::new();
        if pd {
            entry.extend_from_slice(&valid.to_be_bytes());
            entry.extend_from_slice(&valid.to_be_bytes());
            entry.push(len);
            entry.extend_from_slice(&address.octets());
        } else {
            entry.extend_from_slice(&address.octets());
            entry.extend_from_slice(&valid.to_be_bytes());
            entry.extend_from_slice(&valid.to_be_bytes());
        }
        let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let (ia_code, entry_code) = if pd {
            (v6::code::IA_PD, v6::code::IA_PREFIX)
        } else {
            (v6::code::IA_NA, v6::code::IA_ADDR)
        };
        ia.extend_from_slice(&entry_code.to_be_bytes());
        ia.extend_from_slice(&(entry.len() as u16).to_be_bytes());
        ia.extend_from_slice(&entry);
        inner
            .push(
                v6::code::CLIENT_ID,
                &[0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, duid],
            )
            .expect("fits");
        inner.push(ia_code, &ia).expect("fits");
        let reply = v6::Message::Client(v6::ClientMessage {
            msg_type: v6::MessageType::REPLY,
            xid: 7,
            options: inner,
        });
        let mut outer = v6::Options::new();
        outer
            .push(v6::code::RELAY_MSG, &reply.encode())
            .expect("fits");
        v6::Message::Relay(v6::RelayMessage {
            msg_type: v6::MessageType::RELAY_REPL,
            hop_count: 0,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: Ipv6Addr::UNSPECIFIED,
            options: outer,
        })
    }

    #[test]
    fn a_v6_reply_of_a_held_address_or_an_overlapping_prefix_to_another_duid_breaks_it() {
        let s = 1_000_000_000u128;
        let a: Ipv6Addr = "2001:db8:1::100".parse().expect("address");
        let mut l = AckLedger::default();
        assert_eq!(
            l.observe6(0, "srv1", true, &reply6(1, false, a, 128, 60)),
            None
        );
        assert_eq!(
            l.observe6(5 * s, "srv1", true, &reply6(1, false, a, 128, 60)),
            None,
            "a renewal by the holder"
        );
        let broken = l.observe6(10 * s, "srv2", true, &reply6(2, false, a, 128, 60));
        assert_eq!(
            broken.as_deref(),
            Some(
                "srv2 gave 2001:db8:1::100/128 to DUID 00:03:00:01:02:00:5e:00:53:02 while DUID 00:03:00:01:02:00:5e:00:53:01 holds 2001:db8:1::100/128 from an earlier Reply"
            )
        );
        // Lifetime 0 from the server ends the hold (RFC 8415 18.3.4: the lease is gone).
        let p: Ipv6Addr = "2001:db8:8::".parse().expect("prefix");
        let mut l = AckLedger::default();
        assert_eq!(
            l.observe6(0, "srv1", true, &reply6(1, true, p, 48, 60)),
            None
        );
        let inside: Ipv6Addr = "2001:db8:8:100::".parse().expect("prefix");
        assert!(
            l.observe6(s, "srv2", true, &reply6(2, true, inside, 56, 60))
                .is_some(),
            "a /56 inside a held /48 overlaps it"
        );
        let mut l = AckLedger::default();
        assert_eq!(
            l.observe6(0, "srv1", true, &reply6(1, true, inside, 56, 60)),
            None
        );
        assert!(
            l.observe6(s, "srv2", true, &reply6(2, true, p, 48, 60))
                .is_some(),
            "a /48 holding a held /56 overlaps it"
        );
        let next: Ipv6Addr = "2001:db8:9::".parse().expect("prefix");
        assert_eq!(
            l.observe6(s, "srv2", true, &reply6(3, true, next, 48, 60)),
            None,
            "the next /48 does not"
        );
        let mut l = AckLedger::default();
        assert_eq!(
            l.observe6(0, "srv1", true, &reply6(1, true, p, 56, 60)),
            None
        );
        assert_eq!(
            l.observe6(s, "srv1", true, &reply6(1, true, p, 56, 0)),
            None
        );
        assert_eq!(
            l.observe6(2 * s, "srv2", true, &reply6(2, true, p, 56, 60)),
            None,
            "given back with lifetime 0, the prefix is free"
        );
        assert_eq!(
            l.observe6(200 * s, "srv2", false, &reply6(3, false, a, 128, 60)),
            None,
            "a client's message gives nothing"
        );
    }

    #[test]
    fn v6_lease_tables_conflict_for_overlapping_prefixes_of_two_duids() {
        let lease = |duid: u8, address: &str, len: u8, lease_type: LeaseType| Lease6 {
            address: address.parse().expect("address"),
            duid: vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, duid],
            valid_lifetime: 60,
            expire: 100,
            subnet_id: 1,
            preferred_lifetime: 30,
            lease_type,
            iaid: 1,
            prefix_len: len,
            fqdn_fwd: false,
            fqdn_rev: false,
            hostname: String::new(),
            hwaddr: None,
            state: 0,
            user_context: None,
        };
        let tables = [
            (
                "a".to_string(),
                vec![lease(1, "2001:db8:8::", 48, LeaseType::Pd)],
            ),
            (
                "b".to_string(),
                vec![
                    lease(2, "2001:db8:8:100::", 56, LeaseType::Pd),
                    lease(2, "2001:db8:8::", 128, LeaseType::Na),
                ],
            ),
        ];
        assert_eq!(
            table_conflicts(&tables, 50),
            [
                "b leased 2001:db8:8:100::/56 to DUID 00:03:00:01:02:00:5e:00:53:02 while a leases 2001:db8:8::/48 to DUID 00:03:00:01:02:00:5e:00:53:01"
            ],
            "an address is not a prefix: only the /56 conflicts"
        );
        assert!(table_conflicts(&tables, 100).is_empty(), "expired");
    }
}
