//! DHCPv4 lease rows (`CSVLeaseFile4`, schema 2.1 as Kea 2.2 writes it).

use crate::escape::{escape, unescape};
use crate::row::{Fault, Fields, RowError, Schema, hex};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The header line Kea 2.2 writes at the top of a DHCPv4 lease file.
pub const HEADER4: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context";

const COLUMNS4: [&str; 11] = [
    "address",
    "hwaddr",
    "client_id",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "state",
    "user_context",
];

/// Kea 2.2's DHCPv4 schema: every version has the columns through `hostname`; older files lack
/// `state` and `user_context`, newer ones add columns after them (`pool_id` from Kea 2.3.8),
/// ignored here.
const SCHEMA4: Schema = Schema {
    columns: &COLUMNS4,
    min_columns: 9,
    family: "DHCPv4",
};

/// `state` of a lease in use.
pub const STATE_DEFAULT: u32 = 0;
/// `state` of an address a client declined (in probation).
pub const STATE_DECLINED: u32 = 1;
/// `state` of an expired lease whose reclamation is done.
pub const STATE_EXPIRED_RECLAIMED: u32 = 2;

/// One DHCPv4 lease as a row holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease4 {
    /// The leased address.
    pub address: Ipv4Addr,
    /// The client's hardware address; empty when unknown.
    pub hwaddr: Vec<u8>,
    /// The client identifier (option 61's data); empty when the client sent none.
    pub client_id: Vec<u8>,
    /// Valid lifetime in seconds; 0 in a row deletes the lease.
    pub valid_lifetime: u32,
    /// Expiry, seconds since the epoch: client last transmission time plus valid lifetime.
    pub expire: u64,
    /// The subnet's `id`.
    pub subnet_id: u32,
    /// A forward DNS update was done.
    pub fqdn_fwd: bool,
    /// A reverse DNS update was done.
    pub fqdn_rev: bool,
    /// Host name, unescaped.
    pub hostname: String,
    /// [`STATE_DEFAULT`], [`STATE_DECLINED`] or [`STATE_EXPIRED_RECLAIMED`].
    pub state: u32,
    /// User context: a JSON map as text, unescaped; `None` when absent.
    pub user_context: Option<String>,
}

impl Lease4 {
    /// Client last transmission time, seconds since the epoch.
    pub fn cltt(&self) -> u64 {
        self.expire.saturating_sub(u64::from(self.valid_lifetime))
    }

    /// The row Kea 2.2 would write for this lease, without the line end.
    pub fn to_row(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            self.address,
            hex(&self.hwaddr),
            hex(&self.client_id),
            self.valid_lifetime,
            self.expire,
            self.subnet_id,
            u8::from(self.fqdn_fwd),
            u8::from(self.fqdn_rev),
            escape(&self.hostname),
            self.state,
            self.user_context.as_deref().map(escape).unwrap_or_default(),
        )
    }
}

/// What loading a DHCPv4 lease file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Load4 {
    /// The leases in force, by address.
    pub leases: BTreeMap<Ipv4Addr, Lease4>,
    /// Rows read and applied.
    pub rows: usize,
    /// Rows skipped, with why.
    pub errors: Vec<RowError>,
    /// Columns the file's header names (11 for Kea 2.2's schema).
    pub header_columns: usize,
}

/// Every row of a DHCPv4 lease file in file order, deleting rows included: what each change
/// wrote, for tools and tests that follow a lease's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows4 {
    /// The rows that could be read, with their line numbers.
    pub rows: Vec<(usize, Lease4)>,
    /// Rows skipped, with why.
    pub errors: Vec<RowError>,
    /// Columns the file's header names (11 for Kea 2.2's schema).
    pub header_columns: usize,
}

/// Reads every row of a DHCPv4 lease file's text, in order. A bad row is skipped and listed in
/// [`Rows4::errors`]; a missing or foreign header fails the whole read. Empty text has no rows.
pub fn rows4(text: &str) -> Result<Rows4, RowError> {
    let (rows, errors, header_columns) = SCHEMA4.read(text, parse_row)?;
    Ok(Rows4 {
        rows,
        errors,
        header_columns,
    })
}

/// Loads a DHCPv4 lease file's text: rows in order, the last row of an address wins, a row
/// with valid lifetime 0 deletes the lease. A bad row is skipped and listed in
/// [`Load4::errors`]; a missing or foreign header fails the whole load. Empty text is an empty
/// file (Kea writes the header when it creates one).
pub fn load4(text: &str) -> Result<Load4, RowError> {
    let read = rows4(text)?;
    let mut load = Load4 {
        rows: read.rows.len(),
        errors: read.errors,
        header_columns: read.header_columns,
        ..Load4::default()
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

fn parse_row(f: &Fields<'_>) -> Result<Lease4, Fault> {
    let address = f.text(0).parse().map_err(|_| {
        (
            Some("address"),
            format!("{:?} is not an IPv4 address", f.text(0)),
        )
    })?;
    let hwaddr = f.hex(1)?;
    let client_id = f.hex(2)?;
    let state = if f.has(9) {
        f.number(9)?
    } else {
        STATE_DEFAULT
    };
    if hwaddr.is_empty() && client_id.is_empty() && state != STATE_DECLINED {
        return Err((
            None,
            "neither a hardware address nor a client identifier".into(),
        ));
    }
    Ok(Lease4 {
        address,
        hwaddr,
        client_id,
        valid_lifetime: f.number(3)?,
        expire: f.number(4)?,
        subnet_id: f.number(5)?,
        fqdn_fwd: f.flag(6)?,
        fqdn_rev: f.flag(7)?,
        hostname: unescape(f.text(8)),
        state,
        user_context: f.user_context(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows kea-dhcp4 2.2.0 wrote after `lease4-add` (hostname and user context with commas and
    /// an ampersand) and `lease4-del`, on this project's machine.
    const KEA_22: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
192.0.2.101,02:00:5e:00:53:01,01:02:03,3600,1900000000,1,1,0,a&#x2cb&#x26c.example,0,{ \"note\": \"x&#x2cy\" }
192.0.2.102,02:00:5e:00:53:02,,600,1795441026,1,0,0,,0,
192.0.2.102,02:00:5e:00:53:02,,0,1795440426,1,0,0,,0,
";

    #[test]
    fn reads_what_kea_wrote() {
        let load = load4(KEA_22).expect("loads");
        assert_eq!(
            (load.rows, load.errors.len(), load.header_columns),
            (3, 0, 11)
        );
        assert_eq!(load.leases.len(), 1);
        let lease = &load.leases[&Ipv4Addr::new(192, 0, 2, 101)];
        assert_eq!(lease.hostname, "a,b&c.example");
        assert_eq!(lease.user_context.as_deref(), Some("{ \"note\": \"x,y\" }"));
        assert_eq!(lease.client_id, vec![1, 2, 3]);
        assert_eq!(lease.cltt(), 1_899_996_400);
        assert!(lease.fqdn_fwd && !lease.fqdn_rev);
        // Writing it again gives Kea's row byte for byte.
        assert_eq!(Some(lease.to_row().as_str()), KEA_22.lines().nth(1));
    }

    #[test]
    fn bad_rows_are_reported_by_line_and_skipped() {
        let text = format!(
            "{HEADER4}\n192.0.2.1,02:00:00:00:00:01,,60,100,1,0,0,,0,\n192.0.2.x,02:00:00:00:00:02,,60,100,1,0,0,,0,\n\
             192.0.2.3,,,60,100,1,0,0,,0,\n192.0.2.4,02:00:00:00:00:04,,60,100,1,yes,0,,0,\n192.0.2.5,zz,,60,100,1,0,0,,0,\n\
             192.0.2.6,02:00:00:00:00:06,,60,100,1,0,0,,0\n192.0.2.7,02:00:00:00:00:07,,60,100,1,0,0,,0,[1]\n\
             192.0.2.8,2:0:0:0:0:8,,60,100,1,0,0,,1,\n"
        );
        let load = load4(&text).expect("loads");
        let shown: Vec<String> = load.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "line 3: column address: \"192.0.2.x\" is not an IPv4 address",
                "line 4: neither a hardware address nor a client identifier",
                "line 5: column fqdn_fwd: \"yes\" is neither 0 nor 1",
                "line 6: column hwaddr: \"zz\" is not hex bytes",
                "line 7: 10 fields where the header names 11",
                "line 8: column user_context: \"[1]\" is not a JSON map",
            ]
        );
        let addresses: Vec<String> = load.leases.keys().map(ToString::to_string).collect();
        assert_eq!(addresses, ["192.0.2.1", "192.0.2.8"]);
        assert_eq!(
            load.leases[&Ipv4Addr::new(192, 0, 2, 8)].hwaddr,
            vec![2, 0, 0, 0, 0, 8]
        );
    }

    #[test]
    fn older_and_newer_schemas() {
        let old = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname\n\
                   192.0.2.1,02:00:00:00:00:01,,60,100,1,0,0,h\n";
        let load = load4(old).expect("schema 1.0");
        assert_eq!(
            load.leases[&Ipv4Addr::new(192, 0, 2, 1)].state,
            STATE_DEFAULT
        );
        let newer =
            format!("{HEADER4},pool_id\n192.0.2.1,02:00:00:00:00:01,,60,100,1,0,0,h,0,,0\n");
        assert_eq!(load4(&newer).map(|l| l.leases.len()), Ok(1));
        assert!(load4("address,duid,valid_lifetime\n").is_err());
        assert!(load4("hello\n").is_err());
        assert_eq!(load4(""), Ok(Load4::default()));
    }
}
