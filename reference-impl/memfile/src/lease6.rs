//! DHCPv6 lease rows (`CSVLeaseFile6`, schema 4.0 as Kea 2.2 writes it).

use crate::escape::{escape, unescape};
use crate::lease4::{STATE_DECLINED, STATE_DEFAULT};
use crate::row::{Fault, Fields, RowError, Schema, hex};
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

/// The header line Kea 2.2 writes at the top of a DHCPv6 lease file.
pub const HEADER6: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source";

/// What a DHCPv6 lease is for: Kea's `Lease::Type`, written as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LeaseType {
    /// An address of an IA_NA (0).
    Na,
    /// An address of an IA_TA (1).
    Ta,
    /// A prefix of an IA_PD (2).
    Pd,
}

impl LeaseType {
    /// The number Kea writes in the `lease_type` column.
    pub fn code(self) -> u8 {
        match self {
            LeaseType::Na => 0,
            LeaseType::Ta => 1,
            LeaseType::Pd => 2,
        }
    }

    /// The type a `lease_type` number stands for.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(LeaseType::Na),
            1 => Some(LeaseType::Ta),
            2 => Some(LeaseType::Pd),
            _ => None,
        }
    }
}

/// The client's hardware address as a DHCPv6 lease keeps it (DHCPv6 has no chaddr: Kea takes
/// it from the DUID, the link-local address or a relay's option).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HwAddr6 {
    /// The address bytes.
    pub bytes: Vec<u8>,
    /// The hardware type (1: Ethernet).
    pub htype: u16,
    /// Where it came from: one of the `HWADDR_SOURCE_*` values.
    pub source: u32,
}

/// `hwaddr_source`: not known.
pub const HWADDR_SOURCE_UNKNOWN: u32 = 0;
/// `hwaddr_source`: the raw socket's frame.
pub const HWADDR_SOURCE_RAW: u32 = 1;
/// `hwaddr_source`: the client's DUID (type LLT or LL).
pub const HWADDR_SOURCE_DUID: u32 = 2;
/// `hwaddr_source`: the client's EUI-64 link-local address.
pub const HWADDR_SOURCE_IPV6_LINK_LOCAL: u32 = 4;
/// `hwaddr_source`: a relay's Client Link-Layer Address option (79, RFC 6939).
pub const HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION: u32 = 8;
/// `hwaddr_source`: a relay's Remote-Id option (37).
pub const HWADDR_SOURCE_REMOTE_ID: u32 = 16;
/// `hwaddr_source`: a relay's Subscriber-Id option (38).
pub const HWADDR_SOURCE_SUBSCRIBER_ID: u32 = 32;
/// `hwaddr_source`: a DOCSIS CMTS's option.
pub const HWADDR_SOURCE_DOCSIS_CMTS: u32 = 64;
/// `hwaddr_source`: a DOCSIS modem's option.
pub const HWADDR_SOURCE_DOCSIS_MODEM: u32 = 128;

/// One DHCPv6 lease (an address or a delegated prefix) as a row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    /// The leased address, or the delegated prefix's first address.
    pub address: Ipv6Addr,
    /// The client's DUID; empty only in a declined lease.
    pub duid: Vec<u8>,
    /// Valid lifetime in seconds; 0 in a row deletes the lease.
    pub valid_lifetime: u32,
    /// Expiry, seconds since the epoch: client last transmission time plus valid lifetime.
    pub expire: u64,
    /// The subnet's `id`.
    pub subnet_id: u32,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
    /// IA_NA, IA_TA or IA_PD.
    pub lease_type: LeaseType,
    /// The IAID of the client's IA.
    pub iaid: u32,
    /// Prefix length: 128 for an address, the delegated length for a prefix.
    pub prefix_len: u8,
    /// A forward DNS update was done.
    pub fqdn_fwd: bool,
    /// A reverse DNS update was done.
    pub fqdn_rev: bool,
    /// Host name, unescaped.
    pub hostname: String,
    /// The client's hardware address, when known.
    pub hwaddr: Option<HwAddr6>,
    /// [`crate::STATE_DEFAULT`], [`crate::STATE_DECLINED`] or
    /// [`crate::STATE_EXPIRED_RECLAIMED`].
    pub state: u32,
    /// User context: a JSON map as text, unescaped; `None` when absent.
    pub user_context: Option<String>,
}

const COLUMNS6: [&str; 17] = [
    "address",
    "duid",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "pref_lifetime",
    "lease_type",
    "iaid",
    "prefix_len",
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "hwaddr",
    "state",
    "user_context",
    "hwtype",
    "hwaddr_source",
];

/// Kea 2.2's DHCPv6 schema (4.0): every version has the columns through `hostname` (1.0);
/// `hwaddr` came in 2.0, `state` in 3.0, `user_context` in 3.1, `hwtype` and `hwaddr_source`
/// in 4.0. Newer Kea versions add columns after them (`pool_id`), ignored here.
const SCHEMA6: Schema = Schema {
    columns: &COLUMNS6,
    min_columns: 12,
    family: "DHCPv6",
};

/// The hardware type a row without `hwtype` means (Ethernet).
const HTYPE_ETHER: u16 = 1;

impl Lease6 {
    /// Client last transmission time, seconds since the epoch.
    pub fn cltt(&self) -> u64 {
        self.expire.saturating_sub(u64::from(self.valid_lifetime))
    }

    /// The row Kea 2.2 would write for this lease, without the line end
    /// (`CSVLeaseFile6::append`): `hwtype` and `hwaddr_source` only with a hardware address.
    /// Kea refuses to write a lease without a DUID unless it is declined; the row written here
    /// for one is refused by [`rows6`] as by Kea's reader.
    pub fn to_row(&self) -> String {
        let (hwaddr, hwtype, source) = match &self.hwaddr {
            Some(h) => (hex(&h.bytes), h.htype.to_string(), h.source.to_string()),
            None => Default::default(),
        };
        format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{hwaddr},{},{},{hwtype},{source}",
            self.address,
            hex(&self.duid),
            self.valid_lifetime,
            self.expire,
            self.subnet_id,
            self.preferred_lifetime,
            self.lease_type.code(),
            self.iaid,
            self.prefix_len,
            u8::from(self.fqdn_fwd),
            u8::from(self.fqdn_rev),
            escape(&self.hostname),
            self.state,
            self.user_context.as_deref().map(escape).unwrap_or_default(),
        )
    }
}

/// What loading a DHCPv6 lease file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Load6 {
    /// The leases in force, by address (a prefix's first address for IA_PD). Kea 2.2's
    /// memfile keys leases by address alone: a row of another lease type for the same address
    /// replaces (or, with valid lifetime 0, deletes) the lease.
    pub leases: BTreeMap<Ipv6Addr, Lease6>,
    /// Rows read and applied.
    pub rows: usize,
    /// Rows skipped, with why.
    pub errors: Vec<RowError>,
    /// Rows loaded without their hardware address, which could not be read: Kea 2.2 logs
    /// `DHCPSRV_MEMFILE_READ_HWADDR_FAIL` and keeps the lease.
    pub warnings: Vec<RowError>,
    /// Columns the file's header names (17 for Kea 2.2's schema).
    pub header_columns: usize,
}

/// Every row of a DHCPv6 lease file in file order, deleting rows included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows6 {
    /// The rows that could be read, with their line numbers.
    pub rows: Vec<(usize, Lease6)>,
    /// Rows skipped, with why.
    pub errors: Vec<RowError>,
    /// Rows read without their hardware address, which could not be read.
    pub warnings: Vec<RowError>,
    /// Columns the file's header names (17 for Kea 2.2's schema).
    pub header_columns: usize,
}

/// Reads every row of a DHCPv6 lease file's text, in order. A bad row is skipped and listed in
/// [`Rows6::errors`]; a missing or foreign header fails the whole read. Empty text has no rows.
pub fn rows6(text: &str) -> Result<Rows6, RowError> {
    let (rows, errors, header_columns) = SCHEMA6.read(text, parse_row)?;
    let mut out = Rows6 {
        errors,
        header_columns,
        ..Rows6::default()
    };
    for (line, (lease, warning)) in rows {
        if let Some((column, message)) = warning {
            out.warnings.push(RowError {
                line,
                column,
                message,
            });
        }
        out.rows.push((line, lease));
    }
    Ok(out)
}

/// Loads a DHCPv6 lease file's text: rows in order, the last row of an address wins (whatever
/// its lease type, as in Kea 2.2), a row with valid lifetime 0 deletes the lease. A bad row is skipped and listed in
/// [`Load6::errors`]; a missing or foreign header fails the whole load. Empty text is an empty
/// file.
pub fn load6(text: &str) -> Result<Load6, RowError> {
    let read = rows6(text)?;
    let mut load = Load6 {
        rows: read.rows.len(),
        errors: read.errors,
        warnings: read.warnings,
        header_columns: read.header_columns,
        ..Load6::default()
    };
    for (_, lease) in read.rows {
        if lease.valid_lifetime == 0 {
            load.leases.remove(&lease.address);
        } else {
            load.leases.insert(lease.address, lease);
        }
    }
    Ok(load)
}

/// A lease, and the fault in its hardware address when that was dropped.
fn parse_row(f: &Fields<'_>) -> Result<(Lease6, Option<Fault>), Fault> {
    let address = f.text(0).parse().map_err(|_| {
        (
            Some("address"),
            format!("{:?} is not an IPv6 address", f.text(0)),
        )
    })?;
    let duid = f.hex(1)?;
    if duid.is_empty() {
        return Err((Some("duid"), "empty DUIDs are not allowed".into()));
    }
    let code: u8 = f.number(6)?;
    let lease_type = LeaseType::from_code(code).ok_or_else(|| {
        (
            Some("lease_type"),
            format!("{code} is not 0 (IA_NA), 1 (IA_TA) or 2 (IA_PD)"),
        )
    })?;
    let written: u8 = f.number(8)?;
    // Kea's Lease6 keeps the length only for a prefix; an address is always /128.
    let prefix_len = match lease_type {
        LeaseType::Pd if written > 128 => {
            return Err((Some("prefix_len"), format!("{written} is above 128")));
        }
        LeaseType::Pd => written,
        LeaseType::Na | LeaseType::Ta => 128,
    };
    let state = if f.has(13) {
        f.number(13)?
    } else {
        STATE_DEFAULT
    };
    // DUID::EMPTY() is the one zero byte Kea writes for a declined lease's client.
    if duid == [0] && state != STATE_DECLINED {
        return Err((
            Some("duid"),
            "the empty DUID (00) is only valid for declined leases".into(),
        ));
    }
    let (hwaddr, warning) = match read_hwaddr(f) {
        Ok(h) => (h, None),
        Err(fault) => (None, Some(fault)),
    };
    let lease = Lease6 {
        address,
        duid,
        valid_lifetime: f.number(2)?,
        expire: f.number(3)?,
        subnet_id: f.number(4)?,
        preferred_lifetime: f.number(5)?,
        lease_type,
        iaid: f.number(7)?,
        prefix_len,
        fqdn_fwd: f.flag(9)?,
        fqdn_rev: f.flag(10)?,
        hostname: unescape(f.text(11)),
        hwaddr,
        state,
        user_context: f.user_context(14)?,
    };
    Ok((lease, warning))
}

/// The hardware address columns (`CSVLeaseFile6::readHWAddr`): none when `hwaddr` is empty;
/// an empty `hwtype` is Ethernet and an empty `hwaddr_source` unknown. A fault in any of the
/// three drops the hardware address, not the lease, as in Kea 2.2.
fn read_hwaddr(f: &Fields<'_>) -> Result<Option<HwAddr6>, Fault> {
    let bytes = f.hex(12)?;
    if bytes.is_empty() {
        return Ok(None);
    }
    let htype = if f.text(15).is_empty() {
        HTYPE_ETHER
    } else {
        f.number(15)?
    };
    let source = if f.text(16).is_empty() {
        HWADDR_SOURCE_UNKNOWN
    } else {
        f.number(16)?
    };
    Ok(Some(HwAddr6 {
        bytes,
        htype,
        source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows kea-dhcp6 2.2.0 (Debian 12) wrote on this project's machine, with no DHCP
    /// interface, after `lease6-add` (a hostname and user context with commas and an
    /// ampersand, a declined lease, a prefix), `lease6-del`, and `lease6-update` (which drops
    /// the hardware address when the command has none).
    const KEA_22: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:1::101,00:03:00:01:02:00:5e:00:53:01,3600,2000000000,1,1800,0,1234,128,1,0,a&#x2cb&#x26c.example,02:00:5e:00:53:01,0,{ \"note\": \"x&#x2cy\" },1,0
2001:db8:1::102,0a:0b,600,2000000000,1,7200,0,1,128,0,0,,,1,,,
2001:db8:1::103,01:02:03,600,1796089618,1,7200,0,4294967295,128,0,0,,,0,,,
2001:db8:1::103,01:02:03,0,1796089018,1,0,0,4294967295,128,0,0,,,0,,,
2001:db8:1::101,00:03:00:01:02:00:5e:00:53:01,7200,2000000100,1,3600,0,1234,128,0,0,renamed,,0,,,
2001:db8:8000:100::,00:01:00:01:2a:2b:2c:2d:02:00:5e:00:53:02,3600,2000000000,1,1800,2,7,56,0,0,,02:00:5e:00:53:02,0,,1,0
";

    fn addr(text: &str) -> Ipv6Addr {
        text.parse().expect("test address")
    }

    #[test]
    fn reads_what_kea_wrote() {
        let rows = rows6(KEA_22).expect("reads");
        assert_eq!((rows.rows.len(), rows.errors.len()), (6, 0));
        assert_eq!(rows.header_columns, 17);
        let (line, first) = &rows.rows[0];
        assert_eq!(*line, 2);
        assert_eq!(first.hostname, "a,b&c.example");
        assert_eq!(first.user_context.as_deref(), Some("{ \"note\": \"x,y\" }"));
        assert_eq!(
            first.hwaddr,
            Some(HwAddr6 {
                bytes: vec![2, 0, 0x5e, 0, 0x53, 1],
                htype: 1,
                source: HWADDR_SOURCE_UNKNOWN,
            })
        );
        assert_eq!((first.iaid, first.preferred_lifetime), (1234, 1800));
        assert_eq!(first.cltt(), 1_999_996_400);
        // Every row written again is Kea's row byte for byte.
        for ((_, lease), kea) in rows.rows.iter().zip(KEA_22.lines().skip(1)) {
            assert_eq!(lease.to_row(), kea);
        }

        let load = load6(KEA_22).expect("loads");
        assert_eq!(load.rows, 6);
        let kept: Vec<String> = load.leases.keys().map(ToString::to_string).collect();
        assert_eq!(
            kept,
            ["2001:db8:1::101", "2001:db8:1::102", "2001:db8:8000:100::"]
        );
        let renewed = &load.leases[&addr("2001:db8:1::101")];
        assert_eq!(
            (renewed.hostname.as_str(), renewed.hwaddr.is_none()),
            ("renamed", true)
        );
        let declined = &load.leases[&addr("2001:db8:1::102")];
        assert_eq!(declined.state, STATE_DECLINED);
        let prefix = &load.leases[&addr("2001:db8:8000:100::")];
        assert_eq!(
            (prefix.lease_type, prefix.prefix_len, prefix.iaid),
            (LeaseType::Pd, 56, 7)
        );
    }

    /// kea-dhcp6 2.2 loading these rows (checked on this machine) discards rows 3 and 5, keeps
    /// rows 4 and 6 without their hardware address, and keeps only the last lease of
    /// 2001:db8:1::6, whose second row has another lease type.
    #[test]
    fn bad_rows_and_bad_hardware_addresses() {
        let text = format!(
            "{HEADER6}\n\
             2001:db8:1::1,01:02:03,3600,2000000000,1,1800,0,1,128,0,0,,02:00:5e:00:53:01,0,,,\n\
             2001:db8:1::3,00,3600,2000000000,1,1800,0,1,128,0,0,,,0,,,\n\
             2001:db8:1::2,01:02:04,3600,2000000000,1,1800,0,1,128,0,0,,zz,0,,1,0\n\
             2001:db8:1::8,,3600,2000000000,1,1800,0,1,128,0,0,,,0,,,\n\
             2001:db8:1::9,01:02:09,3600,2000000000,1,1800,0,1,128,0,0,,02:00:5e:00:53:09,0,,x,0\n\
             2001:db8:1::6,01:02:06,3600,2000000000,1,1800,0,1,128,0,0,,,0,,,\n\
             2001:db8:1::6,01:02:07,3600,2000000000,1,1800,2,1,64,0,0,,,0,,,\n\
             2001:db8:1::4,00,3600,2000000000,1,1800,0,1,99,0,0,,,1,,,\n\
             2001:db8:1::5,01:02:05,3600,2000000000,1,1800,3,1,128,0,0,,,0,,,\n\
             192.0.2.1,01:02:05,3600,2000000000,1,1800,0,1,128,0,0,,,0,,,\n\
             2001:db8:1::7,01:02:07,3600,2000000000,1,1800,2,1,129,0,0,,,0,,,\n\
             2001:db8:1::a,01:02:0a,3600,2000000000,1,1800,0,1,128,2,0,,,0,,,\n\
             2001:db8:1::b,01:02:0b,3600,2000000000,1,1800,0,1,128,0,0,,,0,[1],,\n\
             2001:db8:1::c,01:02:0c,3600,2000000000,1,1800,0,1,128,0,0,,,0\n"
        );
        let load = load6(&text).expect("loads");
        let shown: Vec<String> = load.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "line 3: column duid: the empty DUID (00) is only valid for declined leases",
                "line 5: column duid: empty DUIDs are not allowed",
                "line 10: column lease_type: 3 is not 0 (IA_NA), 1 (IA_TA) or 2 (IA_PD)",
                "line 11: column address: \"192.0.2.1\" is not an IPv6 address",
                "line 12: column prefix_len: 129 is above 128",
                "line 13: column fqdn_fwd: \"2\" is neither 0 nor 1",
                "line 14: column user_context: \"[1]\" is not a JSON map",
                "line 15: 14 fields where the header names 17",
            ]
        );
        let warned: Vec<String> = load.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warned,
            [
                "line 4: column hwaddr: \"zz\" is not hex bytes",
                "line 6: column hwtype: \"x\" is not a number in range",
            ]
        );
        let kept: Vec<String> = load.leases.keys().map(ToString::to_string).collect();
        assert_eq!(
            kept,
            [
                "2001:db8:1::1",
                "2001:db8:1::2",
                "2001:db8:1::4",
                "2001:db8:1::6",
                "2001:db8:1::9"
            ]
        );
        // No hwtype column text: Ethernet (Kea's HTYPE_ETHER).
        assert_eq!(
            load.leases[&addr("2001:db8:1::1")]
                .hwaddr
                .as_ref()
                .map(|h| h.htype),
            Some(1)
        );
        assert_eq!(load.leases[&addr("2001:db8:1::2")].hwaddr, None);
        // An address lease is /128 whatever the column says (Kea's Lease6 constructor).
        assert_eq!(load.leases[&addr("2001:db8:1::4")].prefix_len, 128);
        let replaced = &load.leases[&addr("2001:db8:1::6")];
        assert_eq!(
            (replaced.lease_type, replaced.duid.as_slice()),
            (LeaseType::Pd, &[1u8, 2, 7][..])
        );
    }

    /// A row of another lease type deletes the lease of the same address, as in Kea 2.2.
    #[test]
    fn deleting_row_of_another_type() {
        let text = format!(
            "{HEADER6}\n\
             2001:db8:1::c,01:02:0c,3600,2000000000,1,1800,2,1,64,0,0,,,0,,,\n\
             2001:db8:1::c,01:02:0d,0,2000000000,1,1800,0,1,128,0,0,,,0,,,\n"
        );
        let load = load6(&text).expect("loads");
        assert_eq!((load.rows, load.leases.len()), (2, 0));
    }

    /// Kea 2.2 writes a newline in a host name as it is, so the row splits in two; both halves
    /// are reported and the rest of the file loads.
    #[test]
    fn a_host_name_with_a_newline_splits_kea_rows() {
        let text = format!(
            "{HEADER6}\n\
             2001:db8:1::104,01:02:03:04,600,2000000000,1,300,0,5,128,0,0,h\n\
             x,,0,,,\n\
             2001:db8:1::105,01:02:03:05,600,2000000000,1,300,0,5,128,0,0,,,0,,,\n"
        );
        let load = load6(&text).expect("loads");
        let shown: Vec<String> = load.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "line 2: 12 fields where the header names 17",
                "line 3: 6 fields where the header names 17",
            ]
        );
        assert_eq!(load.leases.len(), 1);
        // This crate escapes the newline, so its own rows stay whole.
        let mut lease = load.leases[&addr("2001:db8:1::105")].clone();
        lease.hostname = "h\nx".into();
        assert!(lease.to_row().contains(",h&#x0ax,"));
    }

    /// Rows this crate wrote for these leases; kea-dhcp6 2.2 loaded the file on this machine
    /// and `lease6-get-all` showed each lease as built here (the escaped newline in the host
    /// name decoded, the declined lease's DUID `00`, the IA_TA's hardware type 6).
    const WRITTEN_HERE: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:1::101,00:03:00:01:02:00:5e:00:53:01,3600,2000000000,1,1800,0,77,128,1,0,a&#x2cb&#x26c&#x0ad.example,02:00:5e:00:53:01,0,{ \"note\": \"x&#x2cy\" },1,2
2001:db8:8000:100::,00:03:00:01:02:00:5e:00:53:01,3600,2000000000,1,1800,2,77,56,1,0,,,0,,,
2001:db8:1::102,00,3600,2000000000,1,1800,0,77,128,1,0,,,1,,,
2001:db8:1::103,00:03:00:01:02:00:5e:00:53:01,3600,2000000000,1,1800,1,77,128,1,0,t,01:02:03:04:05:06,2,,6,8
";

    #[test]
    fn rows_kea_loads_as_written() {
        let duid = vec![0, 3, 0, 1, 2, 0, 0x5e, 0, 0x53, 1];
        let lease = |a: &str, lease_type, prefix_len, hostname: &str, state| Lease6 {
            address: addr(a),
            duid: duid.clone(),
            valid_lifetime: 3600,
            expire: 2_000_000_000,
            subnet_id: 1,
            preferred_lifetime: 1800,
            lease_type,
            iaid: 77,
            prefix_len,
            fqdn_fwd: true,
            fqdn_rev: false,
            hostname: hostname.into(),
            hwaddr: None,
            state,
            user_context: None,
        };
        let leases = [
            Lease6 {
                hwaddr: Some(HwAddr6 {
                    bytes: vec![2, 0, 0x5e, 0, 0x53, 1],
                    htype: 1,
                    source: HWADDR_SOURCE_DUID,
                }),
                user_context: Some("{ \"note\": \"x,y\" }".into()),
                ..lease(
                    "2001:db8:1::101",
                    LeaseType::Na,
                    128,
                    "a,b&c\nd.example",
                    STATE_DEFAULT,
                )
            },
            lease("2001:db8:8000:100::", LeaseType::Pd, 56, "", STATE_DEFAULT),
            Lease6 {
                duid: vec![0],
                ..lease("2001:db8:1::102", LeaseType::Na, 128, "", STATE_DECLINED)
            },
            Lease6 {
                hwaddr: Some(HwAddr6 {
                    bytes: vec![1, 2, 3, 4, 5, 6],
                    htype: 6,
                    source: HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION,
                }),
                ..lease(
                    "2001:db8:1::103",
                    LeaseType::Ta,
                    128,
                    "t",
                    crate::STATE_EXPIRED_RECLAIMED,
                )
            },
        ];
        let mut text = format!("{HEADER6}\n");
        for l in &leases {
            text.push_str(&l.to_row());
            text.push('\n');
        }
        assert_eq!(text, WRITTEN_HERE);
        let back: Vec<Lease6> = rows6(&text)
            .expect("reads")
            .rows
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(back, leases);
    }

    #[test]
    fn older_and_newer_schemas() {
        let v1 = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname\n\
                  2001:db8:1::1,01:02:03,3600,2000000000,1,1800,0,1,128,0,0,h\n";
        let load = load6(v1).expect("schema 1.0");
        let lease = &load.leases[&addr("2001:db8:1::1")];
        assert_eq!((lease.state, lease.hwaddr.is_none()), (STATE_DEFAULT, true));
        let v31 = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context\n\
                   2001:db8:1::1,01:02:03,3600,2000000000,1,1800,0,1,128,0,0,h,02:00:5e:00:53:01,2,\n";
        let lease = load6(v31).expect("schema 3.1").leases[&addr("2001:db8:1::1")].clone();
        assert_eq!(lease.state, crate::STATE_EXPIRED_RECLAIMED);
        assert_eq!(lease.hwaddr.map(|h| (h.htype, h.source)), Some((1, 0)));
        let newer = format!(
            "{HEADER6},pool_id\n2001:db8:1::1,01:02:03,3600,2000000000,1,1800,0,1,128,0,0,h,,0,,,,0\n"
        );
        assert_eq!(load6(&newer).map(|l| l.leases.len()), Ok(1));
        assert!(load6(crate::HEADER4).is_err());
        assert!(load6("address,duid,valid_lifetime\n").is_err());
        assert_eq!(load6(""), Ok(Load6::default()));
    }
}
