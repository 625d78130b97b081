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

/// The /24s subnets of /24 or smaller go to first, in order; then 198.19.0.0/24 upwards.
const SLOTS: [Ipv4Addr; 2] = [Ipv4Addr::new(192, 0, 2, 0), Ipv4Addr::new(198, 51, 100, 0)];

/// Where addresses outside every subnet go first; then 198.19.255.0/24 downwards.
const ELSEWHERE: Net = Net {
    base: Ipv4Addr::new(203, 0, 113, 0),
    len: 24,
};

/// The /24s of 198.19.0.0/16 (the benchmarking range, RFC 2544): small subnets from the
/// bottom, addresses outside every subnet from the top.
fn bench_24(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 0, 0)) + (n << 8))
}

/// Where subnets larger than a /24 go: aligned blocks of 198.18.0.0/15 (the benchmarking
/// range) that no other subnet overlaps.
const LARGE: Net = Net {
    base: Ipv4Addr::new(198, 18, 0, 0),
    len: 15,
};

fn allowed(a: Ipv4Addr) -> bool {
    dhcplab_scenario::in_lab_ranges(a)
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
    /// the run may use, keeps its place. Each subnet gets a place of its own: a /24 or smaller
    /// one keeps its offset in one of 192.0.2.0/24, 198.51.100.0/24 and the /24s of
    /// 198.19.0.0/16; a larger one (up to a /15) an aligned block of 198.18.0.0/15.
    pub fn add_subnet(&mut self, recorded: Net) -> Result<(), ReplayError> {
        if self
            .subnets
            .iter()
            .any(|(r, _)| r.contains(recorded.base) && r.len <= recorded.len)
        {
            return Ok(());
        }
        let free = |n: &Net| {
            !self
                .subnets
                .iter()
                .any(|(_, l)| n.contains(l.base) || l.contains(n.base))
        };
        let lab = if allowed(recorded.base) && allowed(recorded.nth(u64::MAX)) && free(&recorded) {
            Some(recorded)
        } else if recorded.len >= 24 {
            let offset = u32::from(recorded.base) & 0xff;
            SLOTS
                .into_iter()
                .chain((0..240).map(bench_24))
                .map(|slot| Net {
                    base: Ipv4Addr::from(u32::from(slot) | offset),
                    len: recorded.len,
                })
                .find(free)
        } else if recorded.len >= LARGE.len {
            let size = 1u32 << (32 - u32::from(recorded.len));
            (0..(1u32 << (32 - u32::from(LARGE.len))) / size)
                .map(|k| Net {
                    base: Ipv4Addr::from(u32::from(LARGE.base) + k * size),
                    len: recorded.len,
                })
                .find(free)
        } else {
            None
        };
        let lab = lab.ok_or(ReplayError::TooManySubnets(recorded))?;
        self.subnets.push((recorded, lab));
        Ok(())
    }

    /// Where a recorded address goes: the same host number in its subnet's place, itself when
    /// it is 0.0.0.0, 255.255.255.255 or already in a range the run may use, else an address
    /// of its own (the same one each time it is seen), from [`AddressMap::fresh`].
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
        let lab = self.fresh();
        self.elsewhere.insert(a, lab);
        lab
    }

    /// An address no subnet of the run and no mapped address holds: 203.0.113.1-254 first
    /// (a capture of that range keeping its place), then from 198.19.255.0/24 downwards.
    pub fn fresh(&self) -> Ipv4Addr {
        let used = |c: &Ipv4Addr| {
            self.subnets.iter().any(|(_, l)| l.contains(*c))
                || self.elsewhere.values().any(|v| v == c)
        };
        (1..255)
            .map(|n| ELSEWHERE.nth(n))
            .chain((0..16).rev().flat_map(|k| {
                (1..255).map(move |n| {
                    Net {
                        base: bench_24(240 + k),
                        len: 24,
                    }
                    .nth(n)
                })
            }))
            .find(|c| !used(c))
            .unwrap_or(ELSEWHERE.nth(254))
    }

    /// Where a recorded subnet went, if the map holds it.
    pub fn subnet(&self, recorded_address: Ipv4Addr) -> Option<Net> {
        self.subnets
            .iter()
            .find(|(r, _)| r.contains(recorded_address))
            .map(|(_, l)| *l)
    }

    /// The run's link address for a recorded one, given out in order from
    /// 02:00:5e:00:53:11 (RFC 7042's documentation block, locally administered), and past
    /// 02:00:5e:00:53:ef from 02:00:5e:01:00:00 (still locally administered).
    pub fn mac(&mut self, recorded: [u8; 6]) -> [u8; 6] {
        if let Some((_, l)) = self.macs.iter().find(|(r, _)| *r == recorded) {
            return *l;
        }
        let lab = lab_mac(self.macs.len());
        self.macs.push((recorded, lab));
        lab
    }

    /// Maps the addresses inside one option's data, in place: address lists (policy filter
    /// pairs: the address, not the mask), classless routes (destination and router), SIP
    /// servers given as addresses, relay agent sub-options 5 (link selection) and 11 (server
    /// identifier override). Data whose length does not fit its format is left as it is.
    fn rewrite_option(&mut self, code: u8, data: &mut [u8]) {
        let map4 = |map: &mut AddressMap, chunk: &mut [u8]| {
            if let Ok(b) = <[u8; 4]>::try_from(&*chunk) {
                chunk.copy_from_slice(&map.address(Ipv4Addr::from(b)).octets());
            }
        };
        match catalogue::lookup(code).map(|(_, f)| f) {
            _ if code == catalogue::code::SUBNET_MASK => {}
            Some(Format::Addr | Format::Addrs | Format::AddrsOrEmpty) if data.len() % 4 == 0 => {
                data.chunks_exact_mut(4).for_each(|c| map4(self, c));
            }
            Some(Format::AddrPairs) if data.len() % 8 == 0 => {
                for pair in data.chunks_exact_mut(8) {
                    let (first, second) = pair.split_at_mut(4);
                    map4(self, first);
                    // Option 21 pairs an address with a mask; 33 a destination with a router.
                    if code != 21 {
                        map4(self, second);
                    }
                }
            }
            Some(Format::ClasslessRoutes) => {
                let mut i = 0;
                while let Some(&width) = data.get(i) {
                    let significant = usize::from(width.min(32)).div_ceil(8);
                    let (dest, router) = (i + 1, i + 1 + significant);
                    if router + 4 > data.len() {
                        break;
                    }
                    let mut full = [0u8; 4];
                    full[..significant].copy_from_slice(&data[dest..router]);
                    let lab = self.address(Ipv4Addr::from(full)).octets();
                    data[dest..router].copy_from_slice(&lab[..significant]);
                    map4(self, &mut data[router..router + 4]);
                    i = router + 4;
                }
            }
            Some(Format::RelayAgent) => {
                let mut i = 0;
                while i + 2 <= data.len() {
                    let (sub, len) = (data[i], usize::from(data[i + 1]));
                    let end = (i + 2 + len).min(data.len());
                    if matches!(sub, 5 | 11) && len == 4 {
                        map4(self, &mut data[i + 2..end]);
                    }
                    i = end;
                }
            }
            _ if code == 120 && data.first() == Some(&1) && data.len() % 4 == 1 => {
                data[1..].chunks_exact_mut(4).for_each(|c| map4(self, c));
            }
            _ => {}
        }
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
            let data = &mut out[at..at + o.data.len()];
            if o.code == catalogue::code::CLIENT_ID {
                if let (Some(r), Some(l)) = (recorded_mac, lab_mac)
                    && let Some(i) = data.windows(6).position(|w| w == r)
                {
                    data[i..i + 6].copy_from_slice(&l);
                }
            } else {
                self.rewrite_option(o.code, data);
            }
        }
        out
    }
}

/// The `n`th link address the run gives out.
pub(crate) fn lab_mac(n: usize) -> [u8; 6] {
    match u8::try_from(n + 0x11) {
        Ok(last) if last < 0xf0 => [0x02, 0x00, 0x5e, 0x00, 0x53, last],
        _ => {
            let [.., hi, lo] = (n as u32).to_be_bytes();
            [0x02, 0x00, 0x5e, 0x01, hi, lo]
        }
    }
}

/// A relay agent's link address in the run: 02:00:5e:00:53:f1 upwards, then
/// 02:00:5e:02:xx:xx.
pub fn relay_mac(n: usize) -> [u8; 6] {
    match u8::try_from(n + 0xf1) {
        Ok(last) => [0x02, 0x00, 0x5e, 0x00, 0x53, last],
        Err(_) => {
            let [.., hi, lo] = (n as u32).to_be_bytes();
            [0x02, 0x00, 0x5e, 0x02, hi, lo]
        }
    }
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
        m.add_subnet(Net::of(Ipv4Addr::new(172, 16, 0, 0), 24))
            .unwrap();
        m.add_subnet(Net::of(Ipv4Addr::new(172, 17, 0, 0), 20))
            .unwrap();
        assert_eq!(
            m.address(Ipv4Addr::new(172, 17, 1, 1)),
            Ipv4Addr::new(198, 19, 17, 1),
            "the first /20 of 198.18.0.0/15 clear of the /16 and of 198.19.0.0/24"
        );
        assert!(matches!(
            m.add_subnet(Net::of(Ipv4Addr::new(172, 20, 0, 0), 15)),
            Err(ReplayError::TooManySubnets(_))
        ));
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
            m.address(Ipv4Addr::new(172, 16, 0, 9)),
            Ipv4Addr::new(198, 19, 0, 9)
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
    }

    #[test]
    fn subnets_never_share_a_place_and_strangers_never_run_out() {
        let mut m = AddressMap::default();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 0, 1, 64), 26))
            .unwrap();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 0, 2, 64), 26))
            .unwrap();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 0, 3, 64), 26))
            .unwrap();
        let places: Vec<Net> = m.subnets.iter().map(|(_, l)| *l).collect();
        assert_eq!(places.len(), 3);
        for (i, a) in places.iter().enumerate() {
            for b in &places[i + 1..] {
                assert!(!a.contains(b.base) && !b.contains(a.base), "{a} and {b}");
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for n in 0..600u32 {
            let lab = m.address(Ipv4Addr::from(0x0b00_0000 + n));
            assert!(
                !lab.is_broadcast() && lab.octets()[3] != 255 && lab.octets()[3] != 0,
                "{lab}"
            );
            assert!(allowed(lab), "{lab}");
            assert!(seen.insert(lab), "{lab} given twice");
        }
        let macs: std::collections::BTreeSet<[u8; 6]> = (0..600u16)
            .map(|n| m.mac([0, 0, 0, 0, (n >> 8) as u8, n as u8]))
            .collect();
        assert_eq!(macs.len(), 600);
        assert!(macs.iter().all(|mac| mac[0] == 0x02));
    }

    #[test]
    fn addresses_inside_routes_relay_sub_options_and_sip_servers_are_moved_too() {
        let mut m = AddressMap::default();
        m.add_subnet(Net::of(Ipv4Addr::new(10, 1, 0, 0), 24))
            .unwrap();
        // 121: 10.1.0.0/24 via 10.1.0.1, 0.0.0.0/0 via 10.1.0.1
        let mut routes = vec![24, 10, 1, 0, 10, 1, 0, 1, 0, 10, 1, 0, 1];
        m.rewrite_option(121, &mut routes);
        assert_eq!(routes, [24, 192, 0, 2, 192, 0, 2, 1, 0, 192, 0, 2, 1]);
        // 82: circuit id kept, link selection (5) and server id override (11) moved.
        let mut rai = vec![1, 2, 0xaa, 0xbb, 5, 4, 10, 1, 0, 0, 11, 4, 10, 1, 0, 1];
        m.rewrite_option(82, &mut rai);
        assert_eq!(
            rai,
            [1, 2, 0xaa, 0xbb, 5, 4, 192, 0, 2, 0, 11, 4, 192, 0, 2, 1]
        );
        // 21: address and mask pairs: the mask stays.
        let mut filter = vec![10, 1, 0, 0, 255, 255, 255, 0];
        m.rewrite_option(21, &mut filter);
        assert_eq!(filter, [192, 0, 2, 0, 255, 255, 255, 0]);
        // 120: addresses when the encoding byte is 1, names left alone.
        let mut sip = vec![1, 10, 1, 0, 5];
        m.rewrite_option(120, &mut sip);
        assert_eq!(sip, [1, 192, 0, 2, 5]);
        let mut names = vec![0, 3, b'a', b'b', b'c', 0];
        m.rewrite_option(120, &mut names.clone());
        m.rewrite_option(120, &mut names);
        assert_eq!(names, [0, 3, b'a', b'b', b'c', 0]);
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
