//! The messages the client sends, with the fields and options RFC 2131 table 5 asks of each.

use crate::Config;
use dhcplab_wire::v4::{Message, MessageType, code};
use std::net::Ipv4Addr;

/// Which message, with what it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// DISCOVER, with the address last held as a hint.
    Discover { requested: Option<Ipv4Addr> },
    /// REQUEST in SELECTING: options 50 and 54.
    Select { address: Ipv4Addr, server: Ipv4Addr },
    /// REQUEST in INIT-REBOOT: option 50, no 54, `ciaddr` zero.
    Reboot { address: Ipv4Addr },
    /// REQUEST in RENEWING or REBINDING: `ciaddr`, neither 50 nor 54.
    Renew { address: Ipv4Addr },
    /// DECLINE: options 50 and 54.
    Decline { address: Ipv4Addr, server: Ipv4Addr },
    /// RELEASE: `ciaddr` and option 54.
    Release { address: Ipv4Addr, server: Ipv4Addr },
    /// INFORM: `ciaddr`.
    Inform { address: Ipv4Addr },
    /// A BOOTREQUEST: no DHCP options but the vendor class and the request list.
    Bootp,
}

/// Builds the message. Options in a fixed order: 53, 61, 50, 54, 12, 60, 55; no vendor class
/// (60) in a DECLINE or RELEASE (RFC 2131 table 5).
pub(crate) fn build(config: &Config, kind: Kind, xid: u32, secs: u16) -> Message {
    let mut m = Message::new(Message::BOOTREQUEST, xid, config.hardware_address);
    m.secs = secs;
    let (ty, requested, server) = match kind {
        Kind::Discover { requested } => (Some(MessageType::Discover), requested, None),
        Kind::Select { address, server } => {
            (Some(MessageType::Request), Some(address), Some(server))
        }
        Kind::Reboot { address } => (Some(MessageType::Request), Some(address), None),
        Kind::Renew { address } => {
            m.ciaddr = address;
            (Some(MessageType::Request), None, None)
        }
        Kind::Decline { address, server } => {
            (Some(MessageType::Decline), Some(address), Some(server))
        }
        Kind::Release { address, server } => {
            m.ciaddr = address;
            (Some(MessageType::Release), None, Some(server))
        }
        Kind::Inform { address } => {
            m.ciaddr = address;
            (Some(MessageType::Inform), None, None)
        }
        Kind::Bootp => (None, None, None),
    };
    // `push` fails only for data over 255 bytes, and what it gets here is short; longer
    // values (client id, host name, vendor class, request list) go through `push_long`,
    // which splits them per RFC 3396.
    if let Some(t) = ty {
        let _ = m.options.push(code::MESSAGE_TYPE, &[u8::from(t)]);
    }
    if ty.is_some() {
        if let Some(id) = &config.client_id {
            let _ = m.options.push_long(code::CLIENT_ID, id);
        }
    }
    if let Some(a) = requested {
        let _ = m.options.push(code::REQUESTED_IP, &a.octets());
    }
    if let Some(s) = server {
        let _ = m.options.push(code::SERVER_ID, &s.octets());
    }
    let asks = matches!(
        kind,
        Kind::Discover { .. }
            | Kind::Select { .. }
            | Kind::Reboot { .. }
            | Kind::Renew { .. }
            | Kind::Inform { .. }
            | Kind::Bootp
    );
    if let (Some(h), true) = (
        &config.hostname,
        matches!(
            kind,
            Kind::Select { .. } | Kind::Reboot { .. } | Kind::Renew { .. }
        ),
    ) {
        let _ = m.options.push_long(code::HOST_NAME, h.as_bytes());
    }
    // RFC 2131 table 5: a DECLINE or RELEASE MUST NOT carry the vendor class identifier.
    let names_vendor = !matches!(kind, Kind::Decline { .. } | Kind::Release { .. });
    if names_vendor && !config.vendor_class.is_empty() {
        let _ = m
            .options
            .push_long(code::VENDOR_CLASS_ID, &config.vendor_class);
    }
    if asks && !config.param_request_list.is_empty() {
        let _ = m
            .options
            .push_long(code::PARAMETER_REQUEST_LIST, &config.param_request_list);
    }
    if kind == Kind::Bootp && m.encoded_len() < 300 {
        let len = m.encoded_len();
        m.options.set_tail(vec![0; 300 - len]);
    }
    m
}
