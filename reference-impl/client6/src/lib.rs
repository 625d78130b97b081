//! The reference DHCPv6 client (RFC 8415) as a pure state machine, in the manner of Solaris
//! dhcpagent(1M).
