//! Kea's memfile lease files, so the reference server's leases and Kea's are the same files.
//!
//! The format (Kea 2.2, `src/lib/dhcpsrv/csv_lease_file4.cc`, `csv_lease_file6.cc` and
//! `src/lib/util/csv_file.cc`): a header line, then one row per lease change, appended; loading
//! applies the rows in order, the last row of an address (of an address and lease type for
//! DHCPv6) wins, and a row with `valid_lifetime` 0 deletes the lease. There
//! is no quoting: commas and `&` inside text are written as `&#x2c` and `&#x26`.
//!
//! This crate turns text into leases and leases into text; opening, appending, syncing and
//! cleaning up files is the daemon's job. A bad row is reported with its line number and
//! skipped, and the rest of the file loads.

mod escape;
mod lease4;
mod lease6;
mod row;

pub use escape::{escape, unescape};
pub use lease4::{
    HEADER4, Lease4, Load4, Rows4, STATE_DECLINED, STATE_DEFAULT, STATE_EXPIRED_RECLAIMED, load4,
    rows4,
};
pub use lease6::{
    HEADER6, HWADDR_SOURCE_CLIENT_ADDR_RELAY_OPTION, HWADDR_SOURCE_DOCSIS_CMTS,
    HWADDR_SOURCE_DOCSIS_MODEM, HWADDR_SOURCE_DUID, HWADDR_SOURCE_IPV6_LINK_LOCAL,
    HWADDR_SOURCE_RAW, HWADDR_SOURCE_REMOTE_ID, HWADDR_SOURCE_SUBSCRIBER_ID, HWADDR_SOURCE_UNKNOWN,
    HwAddr6, Lease6, LeaseType, Load6, Rows6, load6, rows6,
};
pub use row::RowError;
