//! The check every run makes beside its steps when servers share a link: no address held by
//! two clients at once, as the ACKs on the link tell it and as the servers' lease tables tell
//! it. Both modes use it: virtual mode as messages go and leases are written, TAP mode on the
//! switch's capture and the servers' lease files.

use dhcplab_memfile::Lease4;
use dhcplab_wire::v4::{Hex, Message, MessageType};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Who holds which address by the ACKs seen so far: the client's link address and when its
/// lease ends (nanoseconds since the start of the run). A RELEASE or DECLINE from the holder
/// ends its hold.
#[derive(Debug, Default, Clone)]
pub struct AckLedger {
    held: BTreeMap<Ipv4Addr, ([u8; 6], u128)>,
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
        let Ok(Some(kind)) = m.message_type() else {
            return None;
        };
        let mac = <[u8; 6]>::try_from(m.hardware_address()).ok()?;
        if !from_server {
            let address = match kind {
                MessageType::Release => m.ciaddr,
                MessageType::Decline => m.requested_ip().ok().flatten()?,
                _ => return None,
            };
            if self.held.get(&address).is_some_and(|(h, _)| *h == mac) {
                self.held.remove(&address);
            }
            return None;
        }
        if kind != MessageType::Ack || m.yiaddr == Ipv4Addr::UNSPECIFIED {
            return None;
        }
        let lifetime = m.lease_time().ok().flatten().unwrap_or(0);
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
}

/// Whether two leases of one address, from two servers, are both in force at `now` (seconds
/// since 1970) for different clients.
pub fn leases_conflict(a: &Lease4, b: &Lease4, now: u64) -> bool {
    let active = |l: &Lease4| l.state == 0 && l.valid_lifetime > 0 && l.expire > now;
    let same = a.hwaddr == b.hwaddr || (!a.client_id.is_empty() && a.client_id == b.client_id);
    a.address == b.address && active(a) && active(b) && !same
}

/// The conflicts between servers' lease tables at `now`: each server's name and its leases.
pub fn table_conflicts(tables: &[(String, Vec<Lease4>)], now: u64) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (name_a, a)) in tables.iter().enumerate() {
        let by: BTreeMap<Ipv4Addr, &Lease4> = a.iter().map(|l| (l.address, l)).collect();
        for (name_b, b) in tables.iter().skip(i + 1) {
            for l in b {
                if let Some(other) = by.get(&l.address)
                    && leases_conflict(other, l, now)
                {
                    out.push(lease_conflict_text(name_b, l, name_a, other));
                }
            }
        }
    }
    out
}

/// How a lease-table conflict reads: `leased` by `by`, while `holder` leases `theirs`.
pub fn lease_conflict_text(by: &str, leased: &Lease4, holder: &str, theirs: &Lease4) -> String {
    format!(
        "{by} leased {} to {} while {holder} leases it to {}",
        leased.address,
        Hex(&leased.hwaddr),
        Hex(&theirs.hwaddr)
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
}
