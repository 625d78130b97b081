//! Kea's hook points and next-step statuses, and what a hook library is to the server: the
//! pure side of hooks. The server core calls [`Library`] values in configuration order and
//! never loads anything itself; the driver builds them (native libraries through
//! `dhcplab-hook-loader`, the built-in run-script hook in the server).

use std::fmt;

/// A hook point, with Kea's name ([`HookPoint::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookPoint {
    /// A DHCPv4 datagram arrived, before it is parsed.
    Buffer4Receive,
    /// A DHCPv4 query was parsed.
    Pkt4Receive,
    /// A subnet was selected for the query.
    Subnet4Select,
    /// Host reservations are looked up by a flexible identifier.
    Host4Identifier,
    /// An address was picked (offered, or about to be committed).
    Lease4Select,
    /// A client's lease is being extended.
    Lease4Renew,
    /// A client released its lease.
    Lease4Release,
    /// A client declined its lease.
    Lease4Decline,
    /// The leases of a query were committed (or deleted), before the answer is sent.
    Leases4Committed,
    /// The answer is about to be packed.
    Pkt4Send,
    /// The answer was packed and is about to leave.
    Buffer4Send,
    /// An expired lease is being reclaimed.
    Lease4Expire,
    /// A declined lease leaves probation.
    Lease4Recover,
    /// A control command was processed.
    CommandProcessed,
    /// The DHCPv4 server took a configuration.
    Dhcp4SrvConfigured,
    /// A DHCPv6 datagram arrived, before it is parsed.
    Buffer6Receive,
    /// A DHCPv6 query was parsed.
    Pkt6Receive,
    /// A subnet was selected for the query.
    Subnet6Select,
    /// Host reservations are looked up by a flexible identifier.
    Host6Identifier,
    /// An address or prefix was picked.
    Lease6Select,
    /// A lease is being renewed.
    Lease6Renew,
    /// A lease is being rebound.
    Lease6Rebind,
    /// A client released its leases.
    Lease6Release,
    /// A client declined an address.
    Lease6Decline,
    /// The leases of a query were committed, before the answer is sent.
    Leases6Committed,
    /// The answer is about to be packed.
    Pkt6Send,
    /// The answer was packed and is about to leave.
    Buffer6Send,
    /// An expired lease is being reclaimed.
    Lease6Expire,
    /// A declined lease leaves probation.
    Lease6Recover,
    /// The DHCPv6 server took a configuration.
    Dhcp6SrvConfigured,
}

impl HookPoint {
    /// Every hook point, DHCPv4 first.
    pub const ALL: [HookPoint; 30] = [
        Self::Buffer4Receive,
        Self::Pkt4Receive,
        Self::Subnet4Select,
        Self::Host4Identifier,
        Self::Lease4Select,
        Self::Lease4Renew,
        Self::Lease4Release,
        Self::Lease4Decline,
        Self::Leases4Committed,
        Self::Pkt4Send,
        Self::Buffer4Send,
        Self::Lease4Expire,
        Self::Lease4Recover,
        Self::CommandProcessed,
        Self::Dhcp4SrvConfigured,
        Self::Buffer6Receive,
        Self::Pkt6Receive,
        Self::Subnet6Select,
        Self::Host6Identifier,
        Self::Lease6Select,
        Self::Lease6Renew,
        Self::Lease6Rebind,
        Self::Lease6Release,
        Self::Lease6Decline,
        Self::Leases6Committed,
        Self::Pkt6Send,
        Self::Buffer6Send,
        Self::Lease6Expire,
        Self::Lease6Recover,
        Self::Dhcp6SrvConfigured,
    ];

    /// Kea's name, which is also the name of a library's callout function.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Buffer4Receive => "buffer4_receive",
            Self::Pkt4Receive => "pkt4_receive",
            Self::Subnet4Select => "subnet4_select",
            Self::Host4Identifier => "host4_identifier",
            Self::Lease4Select => "lease4_select",
            Self::Lease4Renew => "lease4_renew",
            Self::Lease4Release => "lease4_release",
            Self::Lease4Decline => "lease4_decline",
            Self::Leases4Committed => "leases4_committed",
            Self::Pkt4Send => "pkt4_send",
            Self::Buffer4Send => "buffer4_send",
            Self::Lease4Expire => "lease4_expire",
            Self::Lease4Recover => "lease4_recover",
            Self::CommandProcessed => "command_processed",
            Self::Dhcp4SrvConfigured => "dhcp4_srv_configured",
            Self::Buffer6Receive => "buffer6_receive",
            Self::Pkt6Receive => "pkt6_receive",
            Self::Subnet6Select => "subnet6_select",
            Self::Host6Identifier => "host6_identifier",
            Self::Lease6Select => "lease6_select",
            Self::Lease6Renew => "lease6_renew",
            Self::Lease6Rebind => "lease6_rebind",
            Self::Lease6Release => "lease6_release",
            Self::Lease6Decline => "lease6_decline",
            Self::Leases6Committed => "leases6_committed",
            Self::Pkt6Send => "pkt6_send",
            Self::Buffer6Send => "buffer6_send",
            Self::Lease6Expire => "lease6_expire",
            Self::Lease6Recover => "lease6_recover",
            Self::Dhcp6SrvConfigured => "dhcp6_srv_configured",
        }
    }

    /// Its position in [`HookPoint::ALL`], for tables indexed by hook point.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The hook point of Kea's name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for HookPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the server does next, as the callouts decide (Kea's `CalloutNextStep`, same numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextStep {
    /// Go on as usual.
    #[default]
    Continue,
    /// Leave out the server's own step at this point (its meaning depends on the hook point).
    Skip,
    /// Drop the packet.
    Drop,
    /// Hold the packet until a library releases it.
    Park,
}

impl NextStep {
    /// The status of Kea's number `n`; an unknown number is none.
    pub fn from_code(n: i32) -> Option<Self> {
        match n {
            0 => Some(Self::Continue),
            1 => Some(Self::Skip),
            2 => Some(Self::Park),
            3 => Some(Self::Drop),
            _ => None,
        }
    }

    /// Kea's number.
    pub fn code(self) -> i32 {
        match self {
            Self::Continue => 0,
            Self::Skip => 1,
            Self::Park => 2,
            Self::Drop => 3,
        }
    }

    /// The status named `name` (`continue`, `skip`, `drop`, `park`, in any case), so that
    /// libraries can take statuses from their parameters.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Continue, Self::Skip, Self::Drop, Self::Park]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// Kea's name: CONTINUE, SKIP, DROP, PARK.
    pub fn name(self) -> &'static str {
        match self {
            Self::Continue => "CONTINUE",
            Self::Skip => "SKIP",
            Self::Drop => "DROP",
            Self::Park => "PARK",
        }
    }
}

/// One hook point call, as each library in turn sees it.
#[derive(Debug)]
pub struct Call<'a> {
    /// The hook point.
    pub point: HookPoint,
    /// The server's count of hook point calls, from 1; the same for every library of a call.
    pub sequence: u64,
    /// The client's message as received, or empty.
    pub query: &'a [u8],
    /// The server's answer as it stands, or empty.
    pub response: &'a [u8],
    /// The other arguments, a JSON object with Kea's argument names, NUL-terminated as the C
    /// ABI hands it on (built once for all the libraries of a call).
    pub arguments: &'a std::ffi::CStr,
    /// In: what the callouts before decided. Out: this library's decision; the last wins.
    pub next_step: NextStep,
    /// A user context (JSON object text) a library set on the lease the call is about.
    pub lease_context: Option<String>,
}

/// A hook library as the server sees it: loaded (and with its `load()` done) by whoever
/// built it, unloaded when dropped.
pub trait Library: fmt::Debug + Send {
    /// The library as configured (its path), for logs and errors.
    fn name(&self) -> &str;
    /// True when the library has a callout for `point`.
    fn implements(&self, point: HookPoint) -> bool;
    /// Runs the library's callout for `call.point`. An error is the callout's failure: the
    /// server logs it and keeps the status the callout left, as Kea does with a non-zero
    /// return.
    fn call(&mut self, call: &mut Call<'_>) -> Result<(), String>;
}

/// The driver's way to load a hook library: only the driver may run foreign code.
pub trait Loader: fmt::Debug + Send {
    /// The library at `library` (the `index`th of the configured list, from 0) with its
    /// `parameters` (null when none), loaded and with its `load()` done; or why not.
    fn load(
        &mut self,
        library: &str,
        parameters: &serde_json::Value,
        index: u32,
    ) -> Result<Box<dyn Library>, String>;

    /// Checks that `path` is a program the run-script hook can run (Kea's run_script
    /// refuses to load otherwise).
    fn check_script(&mut self, path: &str) -> Result<(), String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = HookPoint::ALL.iter().map(|p| p.name()).collect();
        for p in HookPoint::ALL {
            assert_eq!(HookPoint::from_name(p.name()), Some(p));
        }
        for (i, p) in HookPoint::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), HookPoint::ALL.len());
        assert_eq!(HookPoint::from_name("pkt4_recieve"), None);
    }

    #[test]
    fn next_steps_have_keas_numbers() {
        for (n, s) in [
            (0, NextStep::Continue),
            (1, NextStep::Skip),
            (2, NextStep::Park),
            (3, NextStep::Drop),
        ] {
            assert_eq!(NextStep::from_code(n), Some(s));
            assert_eq!(s.code(), n);
        }
        assert_eq!(NextStep::from_code(4), None);
        assert_eq!(NextStep::from_name("skip"), Some(NextStep::Skip));
        assert_eq!(NextStep::from_name("DROP"), Some(NextStep::Drop));
        assert_eq!(NextStep::from_name("stop"), None);
        assert_eq!(NextStep::from_code(-1), None);
    }
}
