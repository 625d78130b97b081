//! The reference DHCPv6 server (RFC 8415) as a pure state machine that behaves like
//! kea-dhcp6 2.2.
