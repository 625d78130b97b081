//! What the client holds (the binding: IAs, their timers, their addresses and prefixes) and
//! how a server's IA changes it (RFC 8415 18.2.10.1).

use crate::message::{IaIn, IaOut};
use crate::{Configuration, status};
use std::net::Ipv6Addr;
use std::time::{Duration, SystemTime};

/// Whether an IA holds addresses or delegated prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IaKind {
    /// IA_NA: non-temporary addresses.
    Na,
    /// IA_PD: delegated prefixes.
    Pd,
}

/// One address (IA_NA) or delegated prefix (IA_PD) the client holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    /// The address, or the prefix.
    pub address: Ipv6Addr,
    /// 128 for an address; the prefix's length.
    pub prefix_len: u8,
    /// When the preferred lifetime ends; `None` for infinite.
    pub preferred_until: Option<SystemTime>,
    /// When the valid lifetime ends and the lease goes; `None` for infinite.
    pub valid_until: Option<SystemTime>,
}

/// One IA of the binding, with its timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaBinding {
    /// IA_NA or IA_PD.
    pub kind: IaKind,
    /// Its IAID.
    pub iaid: u32,
    /// T1: when to Renew; `None` for never.
    pub renew_at: Option<SystemTime>,
    /// T2: when to Rebind; `None` for never.
    pub rebind_at: Option<SystemTime>,
    /// The addresses or prefixes.
    pub leases: Vec<Lease6>,
}

/// What the client holds from one server: the lease file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The server's DUID as sent (option 2).
    pub server_id: Vec<u8>,
    /// The server's address from the Server Unicast option, where Renews may go.
    pub server_unicast: Option<Ipv6Addr>,
    /// The IAs, each with at least one lease.
    pub ias: Vec<IaBinding>,
    /// The last Reply that gave or extended the binding, as received, so that the options
    /// the server gave can be read later (`dhcplab info -v6`) and across restarts (a Reply to
    /// Confirm carries none).
    pub reply: Option<Vec<u8>>,
}

impl Binding {
    /// Every lease with its IA's kind and IAID.
    pub fn leases(&self) -> impl Iterator<Item = (IaKind, u32, &Lease6)> {
        self.ias
            .iter()
            .flat_map(|ia| ia.leases.iter().map(move |l| (ia.kind, ia.iaid, l)))
    }

    /// The IA of `kind` with `iaid`.
    pub fn ia(&self, kind: IaKind, iaid: u32) -> Option<&IaBinding> {
        self.ias
            .iter()
            .find(|ia| ia.kind == kind && ia.iaid == iaid)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ias.iter().all(|ia| ia.leases.is_empty())
    }
}

pub(crate) fn config_of(kind: IaKind, l: &Lease6) -> Configuration {
    Configuration {
        kind,
        address: l.address,
        prefix_len: l.prefix_len,
    }
}

pub(crate) fn describe(what: &str, b: &Binding) -> String {
    let leases: Vec<String> = b
        .leases()
        .map(|(_, _, l)| format!("{}/{}", l.address, l.prefix_len))
        .collect();
    format!("{what} {}", leases.join(", "))
}

/// The offered leases of an Advertise's IA, as hints for the Request.
pub(crate) fn hints(offered: &IaIn) -> Vec<Lease6> {
    if offered.status.unwrap_or(status::SUCCESS) != status::SUCCESS {
        return Vec::new();
    }
    offered
        .leases
        .iter()
        .filter(|l| l.3 > 0)
        .map(|&(address, prefix_len, _, _)| Lease6 {
            address,
            prefix_len,
            preferred_until: None,
            valid_until: None,
        })
        .collect()
}

/// A held IA as the client sends it: its leases named as hints.
impl From<&IaBinding> for IaOut {
    fn from(ia: &IaBinding) -> Self {
        IaOut {
            kind: ia.kind,
            iaid: ia.iaid,
            leases: ia.leases.clone(),
        }
    }
}

/// The IA as held (leases as hints), or as sent when it is not held.
pub(crate) fn held_ia(b: &Binding, sent: &IaOut) -> IaOut {
    b.ia(sent.kind, sent.iaid)
        .map_or_else(|| sent.clone(), IaOut::from)
}

/// Whether the binding holds a lease of the IA `sent` names.
pub(crate) fn holds(b: &Binding, sent: &IaOut) -> bool {
    b.ia(sent.kind, sent.iaid)
        .is_some_and(|ia| !ia.leases.is_empty())
}

/// Removes an IA's leases from the binding; returns them as configurations.
pub(crate) fn take_ia(b: &mut Binding, kind: IaKind, iaid: u32) -> Vec<Configuration> {
    b.ias
        .iter_mut()
        .filter(|ia| ia.kind == kind && ia.iaid == iaid)
        .flat_map(|ia| std::mem::take(&mut ia.leases))
        .map(|l| config_of(kind, &l))
        .collect()
}

/// The latest valid lifetime's end among the leases of `ias`; `None` when one is infinite.
pub(crate) fn latest_valid(b: &Binding, ias: &[IaOut]) -> Option<SystemTime> {
    let mut latest = None;
    for ia in ias {
        for l in b.ia(ia.kind, ia.iaid).map_or(&[][..], |i| &i.leases) {
            let v = l.valid_until?;
            latest = Some(latest.map_or(v, |x: SystemTime| x.max(v)));
        }
    }
    latest
}

/// `secs` from `now`; `None` for infinity (0xffffffff).
fn until(now: SystemTime, secs: u32) -> Option<SystemTime> {
    (secs != u32::MAX).then(|| now + Duration::from_secs(u64::from(secs)))
}

/// Takes a successful IA of a Reply into the binding (RFC 8415 18.2.10.1): leases with valid
/// lifetime 0 go, others are added or updated, leases not named keep their lifetimes; T1 and
/// T2 of 0 become 0.5 and 0.8 of the shortest preferred lifetime (RFC 8415 14.2, 21.4).
/// A deprecated lease (preferred lifetime 0) counts with its valid lifetime there, and T1 is
/// at least 1 s, so that the client never renews at once after every Reply (dhcpagent's
/// configure_v6_leases also keeps T1 at 1 s or more).
/// Returns the leases removed and whether any lease was added or extended. An IA whose T1 is
/// above a non-zero T2, and leases whose preferred lifetime is above the valid one, are
/// ignored (RFC 8415 21.4, 21.6, 21.22).
pub(crate) fn apply_ia(b: &mut Binding, got: &IaIn, now: SystemTime) -> (Vec<Configuration>, bool) {
    let mut removed = Vec::new();
    if got.t2 != 0 && got.t1 > got.t2 {
        return (removed, false);
    }
    if b.ia(got.kind, got.iaid).is_none() {
        b.ias.push(IaBinding {
            kind: got.kind,
            iaid: got.iaid,
            renew_at: None,
            rebind_at: None,
            leases: Vec::new(),
        });
    }
    let Some(ia) = b
        .ias
        .iter_mut()
        .find(|ia| ia.kind == got.kind && ia.iaid == got.iaid)
    else {
        return (removed, false);
    };
    let mut extended = false;
    for &(address, prefix_len, preferred, valid) in &got.leases {
        if preferred > valid {
            continue;
        }
        let at = ia
            .leases
            .iter()
            .position(|l| l.address == address && l.prefix_len == prefix_len);
        if valid == 0 {
            if let Some(i) = at {
                removed.push(config_of(got.kind, &ia.leases.remove(i)));
            }
            continue;
        }
        let lease = Lease6 {
            address,
            prefix_len,
            preferred_until: until(now, preferred),
            valid_until: until(now, valid),
        };
        match at {
            Some(i) => ia.leases[i] = lease,
            None => ia.leases.push(lease),
        }
        extended = true;
    }
    let shortest = got
        .leases
        .iter()
        .filter(|l| l.3 > 0 && l.2 <= l.3)
        .map(|l| if l.2 == 0 { l.3 } else { l.2 })
        .min();
    let (t1, t2) = match (got.t1, got.t2, shortest) {
        (0, _, Some(p)) | (_, 0, Some(p)) if p != u32::MAX => {
            let t1 = if got.t1 == 0 { (p / 2).max(1) } else { got.t1 };
            let t2 = if got.t2 == 0 {
                ((u64::from(p) * 4 / 5) as u32).max(t1)
            } else {
                got.t2
            };
            (t1, t2)
        }
        (0, _, _) | (_, 0, _) => (u32::MAX, u32::MAX),
        (t1, t2, _) => (t1, t2),
    };
    if extended {
        ia.renew_at = until(now, t1);
        ia.rebind_at = until(now, t2);
    }
    (removed, extended)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IaKind;
    use std::time::UNIX_EPOCH;

    const A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 5);
    const B: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 6);

    fn empty() -> Binding {
        Binding {
            reply: None,
            server_id: vec![0, 1],
            server_unicast: None,
            ias: Vec::new(),
        }
    }

    fn ia(t1: u32, t2: u32, leases: Vec<(Ipv6Addr, u8, u32, u32)>) -> IaIn {
        IaIn {
            kind: IaKind::Na,
            iaid: 1,
            t1,
            t2,
            status: None,
            leases,
        }
    }

    #[test]
    fn t1_above_t2_discards_the_ia_and_preferred_above_valid_the_address() {
        let now = UNIX_EPOCH + Duration::from_secs(100);
        let mut b = empty();
        // RFC 8415 21.4: T1 > T2 (T2 not 0): the IA is discarded.
        let (removed, extended) = apply_ia(&mut b, &ia(90, 80, vec![(A, 128, 100, 200)]), now);
        assert!(removed.is_empty() && !extended);
        assert!(b.ias.is_empty());
        // RFC 8415 21.6: preferred > valid: that address is discarded, the other taken.
        let (_, extended) = apply_ia(
            &mut b,
            &ia(50, 80, vec![(A, 128, 300, 200), (B, 128, 100, 200)]),
            now,
        );
        assert!(extended);
        let held: Vec<Ipv6Addr> = b.leases().map(|(_, _, l)| l.address).collect();
        assert_eq!(held, vec![B]);
        assert_eq!(b.ias[0].renew_at, Some(now + Duration::from_secs(50)));
    }

    #[test]
    fn infinite_lifetimes_and_timers() {
        let now = UNIX_EPOCH + Duration::from_secs(100);
        let mut b = empty();
        apply_ia(&mut b, &ia(0, 0, vec![(A, 128, u32::MAX, u32::MAX)]), now);
        // Infinite preferred lifetime with T1 = T2 = 0: no renewal at all.
        assert_eq!(b.ias[0].renew_at, None);
        assert_eq!(b.ias[0].rebind_at, None);
        assert_eq!(b.ias[0].leases[0].valid_until, None);
        apply_ia(&mut b, &ia(u32::MAX, u32::MAX, vec![(A, 128, 10, 20)]), now);
        assert_eq!(b.ias[0].renew_at, None);
        assert_eq!(
            b.ias[0].leases[0].valid_until,
            Some(now + Duration::from_secs(20))
        );
    }
}
