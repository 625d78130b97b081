//! Where a capture's addresses go in the run: each subnet the capture shows gets a subnet of
//! the documentation ranges (host numbers kept), any other address one of 203.0.113.0/24, and
//! each client's link address one of 02:00:5e:00:53:xx; then a recorded DHCPv4 message is
//! rewritten byte for byte in place, so everything the rewriting does not touch (option order,
//! duplicates, padding, bytes after END, overloaded fields) stays as recorded.

use crate::ReplayError;
use dhcplab_wire::v4::Message;
use dhcplab_wire::v4::catalogue::{self, Format};
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Net {
    /// Its first address.
    pub base: Ipv4Addr,
    /// Its prefix length.
    pub len: u8,
}

impl Net {
    /// The prefix of `len` bits holding `a`.
    pub fn of(a: Ipv4Addr, len: u8) -> Net {
        Net {
            base: Ipv4Addr::from(u32::from(a) & mask(len)),
            len,
        }
    }

    /// Whether `a` lies in it.
    pub fn contains(self, a: Ipv4Addr) -> bool {
        u32::from(a) & mask(self.len) == u32::from(self.base)
    }

    fn size(self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    /// Its `n`th address (wrapping inside it).
    pub fn nth(self, n: u64) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) | (n % self.size()) as u32)
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.len)
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// The ranges a run may use (documentation and benchmarking).
const ALLOWED: [(Ipv4Addr, u8); 4] = [
    (Ipv4Addr::new(192, 0, 2, 0), 24),
    (Ipv4Addr::new(198, 51, 100, 0), 24),
    (Ipv4Addr::new(203, 0, 113, 0), 24),
    (Ipv4Addr::new(198, 18, 0, 0), 15),
];

/// The /24 ranges subnets of /24 or smaller go to, in order.
const SLOTS: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 2, 0), Ipv4Addr::new(198, 51, 100, 0)];

/// Where addresses outside every subnet go.
const ELSEWHERE: Net = Net {
    base: Ipv4Addr::new(203, 0, 113, 0),
    len: 24,
};

/// Where subnets larger than a /24 go (the benchmarking range, RFC 2544): two of up to a /16,
/// or one larger.
const LARGE: [Net; 2] = [
    Net {
        base: Ipv4Addr::new(198, 18, 0, 0),
        len: 16,
    },
    Net {
        base: Ipv4Addr::new(198, 19, 0, 0),
        len: 16,
    },
];

fn allowed(a: Ipv4Addr) -> bool {
    ALLOWED.iter().any(|(b, l)| Net::of(*b, *l).contains(a))
}

/// The capture's addresses and link addresses, and where each goes in the run.
#[derive(Debug, Clone, Default)]
pub struct AddressMap {
    /// Recorded subnet and the run's, in the order they were seen.
    pub subnets: Vec<(Net, Net)>,
    /// Recorded addresses outside every subnet and where they go.
    pub elsewhere: BTreeMap<Ipv4Addr, Ipv4Addr>,
    /// Recorded link address and the run's.
    pub macs: Vec<([u8; 6], [u8; 6])>,
}

impl AddressMap {
    /// Takes a subnet the capture shows; a subnet inside one already taken, or inside a range
    /// the run may use, keeps its place.
    pub fn add_subnet(&mut self, recorded: Net) -> Result<(), ReplayError> {
        if self
            .subnets
            .iter()
            .any(|(r, _)| r.contains(recorded.base) && r.len <= recorded.len)
        {
            return Ok(());
        }
        let lab = if allowed(recorded.base) && allowed(recorded.nth(u64::MAX)) {
            recorded
        } else if recorded.len >= 24 {
            let taken = |slot: Ipv4Addr| self.subnets.iter().any(|(_, l)| l.contains(slot));
            let slot = SLOTS
                .iter()
                .find(|s| !taken(**s))
                .ok_or(ReplayError::TooManySubnets(recorded))?;
            Net {
                base: Ipv4Addr::from(u32::from(*slot) | (u32::from(recorded.base) & 0xff)),
                len: recorded.len,
            }
        } else {
            let taken = |n: Net| {
                self.subnets
                    .iter()
                    .any(|(_, l)| n.contains(l.base) || l.contains(n.base))
            };
            let slot = if recorded.len >= 16 {
                LARGE.into_iter().find(|n| !taken(*n))
            } else {
                Some(Net::of(LARGE[0].base, recorded.len.max(15))).filter(|n| !taken(*n))
            };
            let slot = slot.ok_or(ReplayError::TooManySubnets(recorded))?;
            Net {
                base: slot.base,
                len: recorded.len.max(slot.len),
            }
        };
        self.subnets.push((recorded, lab));
        Ok(())
    }

    /// Where a recorded address goes: the same host number in its subnet's place, itself when
    /// it is 0.0.0.0, 255.255.255.255 or already in a range the run may use, else the next
    /// address of 203.0.113.0/24 (the same one each time it is seen).
    pub fn address(&mut self, a: Ipv4Addr) -> Ipv4Addr {
        if a.is_unspecified() || a.is_broadcast() {
            return a;
        }
        if let Some((r, l)) = self.subnets.iter().find(|(r, _)| r.contains(a)) {
            return l.nth(u64::from(u32::from(a) - u32::from(r.base)));
        }
        if allowed(a) {
            return a;
        }
        if let Some(l) = self.elsewhere.get(&a) {
            return *l;
        }
        // The next address of 203.0.113.0/24 that no subnet of the run holds (a capture of
        // that range keeps its place).
        let used = |c: Ipv4Addr| {
            self.subnets.iter().any(|(_, l)| l.contains(c))
                || self.elsewhere.values().any(|v| *v == c)
        };
        let lab = (1..255)
            .map(|n| ELSEWHERE.nth(n))
            .find(|c| !used(*c))
            .unwrap_or(ELSEWHERE.nth(255));
        self.elsewhere.insert(a, lab);
        lab
    }

    /// Where a recorded subnet went, if the map holds it.
    pub fn subnet(&self, recorded_address: Ipv4Addr) -> Option<Net> {
        self.subnets
            .iter()
            .find(|(r, _)| r.contains(recorded_address))
            .map(|(_, l)| *l)
    }

    /// The run's link address for a recorded one, given out in order from
    /// 02:00:5e:00:53:11 (RFC 7042's documentation block, locally administered).
    pub fn mac(&mut self, recorded: [u8; 6]) -> [u8; 6] {
        if let Some((_, l)) = self.macs.iter().find(|(r, _)| *r == recorded) {
            return *l;
        }
        let n = 0x11 + self.macs.len() as u8;
        let lab = [0x02, 0x00, 0x5e, 0x00, 0x53, n];
        self.macs.push((recorded, lab));
        lab
    }

    /// The run's link address for a recorded one, if it was given one.
    pub fn known_mac(&self, recorded: &[u8]) -> Option<[u8; 6]> {
        self.macs
            .iter()
            .find(|(r, _)| r.as_slice() == recorded)
            .map(|(_, l)| *l)
    }

    /// `payload` (a DHCPv4 message that decodes) with the transaction id `xid`, and every
    /// address field, address option and client hardware address mapped; option 61 has the
    /// recorded link address replaced wherever it holds it.
    pub fn rewrite(&mut self, payload: &[u8], xid: u32) -> Vec<u8> {
        let mut out = payload.to_vec();
        let Ok(m) = Message::decode(payload) else {
            return out;
        };
        out[4..8].copy_from_slice(&xid.to_be_bytes());
        for at in [12, 16, 20, 24] {
            let a = Ipv4Addr::new(out[at], out[at + 1], out[at + 2], out[at + 3]);
            out[at..at + 4].copy_from_slice(&self.address(a).octets());
        }
        let recorded_mac = <[u8; 6]>::try_from(m.hardware_address()).ok();
        let lab_mac = recorded_mac
            .filter(|_| m.htype == 1)
            .and_then(|r| self.known_mac(&r));
        if let Some(l) = lab_mac {
            out[28..34].copy_from_slice(&l);
        }
        for o in m.options() {
            let at = o.data_offset();
            let addresses = matches!(
                catalogue::lookup(o.code).map(|(_, f)| f),
                Some(Format::Addr | Format::Addrs | Format::AddrsOrEmpty | Format::AddrPairs)
            ) && o.code != catalogue::code::SUBNET_MASK;
            if addresses && o.data.len() % 4 == 0 {
                for (i, chunk) in o.data.chunks_exact(4).enumerate() {
                    let a = Ipv4Addr::new(chunk[0], chunk[1], chunk[2], chunk[3]);
                    let p = at + 4 * i;
                    out[p..p + 4].copy_from_slice(&self.address(a).octets());
                }
            }
            if o.code == catalogue::code::CLIENT_ID
                && let (Some(r), Some(l)) = (recorded_mac, lab_mac)
            {
                let data = &mut out[at..at + o.data.len()];
                if let Some(i) = data.windows(6).position(|w| w == r) {
                    data[i..i + 6].copy_from_slice(&l);
                }
            }
        }
        out
    }
}

/// A link address written out (`02:00:5e:00:53:11`).
pub fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_subnet_keeps_its_host_numbers_and_strangers_go_to_203_0_113() {
        let mut m = AddressMap::default();
        m.add_subnet(Net::of(Ipv4Addr::new(192, 168, 0, 10), 24))
            .unwrap();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 1, 2, 3), 26))
            .unwrap();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 254, 0, 1), 16))
            .unwrap();
        assert_eq!(
            m.address(Ipv4Addr::new(192, 168, 0, 10)),
            Ipv4Addr::new(192, 0, 2, 10)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(10, 1, 2, 3)),
            Ipv4Addr::new(198, 51, 100, 3)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(10, 254, 1, 2)),
            Ipv4Addr::new(198, 18, 1, 2)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(8, 8, 8, 8)),
            Ipv4Addr::new(203, 0, 113, 1)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(9, 9, 9, 9)),
            Ipv4Addr::new(203, 0, 113, 2)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(8, 8, 8, 8)),
            Ipv4Addr::new(203, 0, 113, 1)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(192, 0, 2, 7)),
            Ipv4Addr::new(192, 0, 2, 7)
        );
        assert_eq!(m.address(Ipv4Addr::BROADCAST), Ipv4Addr::BROADCAST);
        assert!(matches!(
            m.add_subnet(Net::of(Ipv4Addr::new(172, 16, 0, 0), 24)),
            Err(ReplayError::TooManySubnets(_))
        ));
    }

    #[test]
    fn a_subnet_already_in_the_documentation_ranges_stays() {
        let mut m = AddressMap::default();
        m.add_subnet(Net::of(Ipv4Addr::new(192, 0, 2, 1), 24))
            .unwrap();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 0, 0, 1), 24))
            .unwrap();
        assert_eq!(
            m.address(Ipv4Addr::new(192, 0, 2, 9)),
            Ipv4Addr::new(192, 0, 2, 9)
        );
        assert_eq!(
            m.address(Ipv4Addr::new(10, 0, 0, 9)),
            Ipv4Addr::new(198, 51, 100, 9)
        );
    }

    #[test]
    fn rewriting_touches_xid_addresses_chaddr_and_client_id_only() {
        let mac = [0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42];
        let mut msg = Message::new(1, 0x3d1d, mac);
        msg.ciaddr = Ipv4Addr::new(192, 168, 0, 10);
        msg.options.push(53, &[3]).unwrap();
        msg.options
            .push(61, &[1, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42])
            .unwrap();
        msg.options.push(50, &[192, 168, 0, 10]).unwrap();
        msg.options.push(54, &[192, 168, 0, 1]).unwrap();
        msg.options.push(1, &[255, 255, 255, 0]).unwrap();
        msg.options.push(12, b"host").unwrap();
        let bytes = msg.encode();
        let mut m = AddressMap::default();
        m.add_subnet(Net::of(Ipv4Addr::new(192, 168, 0, 0), 24))
            .unwrap();
        let lab = m.mac(mac);
        let out = Message::decode(&m.rewrite(&bytes, 7)).unwrap();
        assert_eq!(out.xid, 7);
        assert_eq!(out.ciaddr, Ipv4Addr::new(192, 0, 2, 10));
        assert_eq!(out.hardware_address(), lab);
        let opt = |c| out.option(c).unwrap().data.into_owned();
        assert_eq!(opt(61), [&[1u8][..], &lab].concat());
        assert_eq!(opt(50), [192, 0, 2, 10]);
        assert_eq!(opt(54), [192, 0, 2, 1]);
        assert_eq!(opt(1), [255, 255, 255, 0]);
        assert_eq!(opt(12), b"host");
        assert_eq!(out.encode().len(), bytes.len());
    }
}
