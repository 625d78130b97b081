//! The reference DHCPv6 relay agent (RFC 8415 section 19).
//!
//! A relay agent keeps no state: every datagram it receives becomes at most one datagram to
//! send, so the core is one function, [`Relay::handle`]. Messages from clients or from relays
//! further down, received on a client-side interface, go upstream wrapped in a RELAY-FORW
//! (19.1); a RELAY-REPL received on the upstream interface is unwrapped and sent down to the
//! peer it names (19.2). Whatever it cannot relay it drops, and says why.
//!
//! Choices where RFC 8415 leaves room:
//! - the link of a RELAY-FORW is named by the interface's global address in `link-address`
//!   when it has one, and by an Interface-Id option when it is configured or when there is no
//!   address to name it (19.1.1);
//! - a RELAY-FORW from a relay whose source address is global gets link-address `::`
//!   (19.1.2); the Interface-Id rules are the same as for a client's message;
//! - the Client Link-Layer Address option (RFC 6939) is added, when configured, to messages
//!   straight from a client (the first hop only, as RFC 6939 section 6 says);
//! - a RELAY-REPL goes down the interface its Interface-Id names, else the one whose
//!   address is its link-address; one that names neither is dropped.

use dhcplab_wire::v6::{
    CLIENT_PORT, Message, MessageType, Options, RelayMessage, SERVER_PORT, code,
};
use std::net::{Ipv6Addr, SocketAddrV6};

/// Relays a message passes at most (HOP_COUNT_LIMIT, RFC 8415 section 7.6).
pub const HOP_COUNT_LIMIT: u8 = 8;

/// A client-side interface of the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downlink {
    /// The driver's number for it.
    pub index: u32,
    /// A global address of the interface, put in `link-address` so servers can choose the
    /// client's subnet; `None` when it has none.
    pub link_address: Option<Ipv6Addr>,
    /// The Interface-Id option's data to send with every message relayed from it.
    pub interface_id: Option<Vec<u8>>,
}

/// How the relay is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The client-side interfaces.
    pub downlinks: Vec<Downlink>,
    /// The interface towards the servers.
    pub uplink: u32,
    /// Where RELAY-FORWs go: a server or the next relay (or All_DHCP_Servers, ff05::1:3).
    pub upstream: Ipv6Addr,
    /// Add the Client Link-Layer Address option (RFC 6939) to messages from clients.
    pub client_link_layer: bool,
}

/// A datagram the relay received.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The interface it came in on.
    pub interface: u32,
    /// Its sender.
    pub source: SocketAddrV6,
    /// The sender's link-layer (Ethernet) address, for the Client Link-Layer Address option.
    pub source_mac: Option<[u8; 6]>,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// A datagram to send, from the relay's own address on `interface` and port 547.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The interface to send it on.
    pub interface: u32,
    /// Where it goes.
    pub destination: SocketAddrV6,
    /// The DHCPv6 message.
    pub payload: Vec<u8>,
}

/// Why a datagram was not relayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Dropped {
    /// It came in on an interface the relay does not serve.
    #[error("received on interface {0}, which the relay does not serve")]
    UnknownInterface(u32),
    /// It is not a DHCPv6 message.
    #[error("not a DHCPv6 message: {0}")]
    Malformed(String),
    /// A message of this type is not relayed in this direction.
    #[error("a {0} is not relayed from this side")]
    WrongDirection(MessageType),
    /// A RELAY-FORW that has already passed HOP_COUNT_LIMIT relays.
    #[error("hop count {0} has reached the limit of {HOP_COUNT_LIMIT}")]
    HopLimit(u8),
    /// The message does not fit a RELAY-FORW.
    #[error("the message is too long to relay")]
    TooLong,
    /// A RELAY-REPL without the message to pass on.
    #[error("a RELAY-REPL without a Relay Message option")]
    NoRelayMessage,
    /// A RELAY-REPL whose Interface-Id and link-address name no interface of the relay.
    #[error("a RELAY-REPL for a link the relay does not serve")]
    UnknownLink,
}

/// The relay agent.
#[derive(Debug, Clone)]
pub struct Relay {
    config: Config,
}

impl Relay {
    /// A relay set up by `config`.
    pub fn new(config: Config) -> Self {
        Self { config }
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// What to send for a received datagram, or why nothing is sent.
    pub fn handle(&self, received: Received<'_>) -> Result<Forward, Dropped> {
        let message =
            Message::decode(received.payload).map_err(|e| Dropped::Malformed(e.to_string()))?;
        if received.interface == self.config.uplink {
            return self.down(&message);
        }
        let downlink = self
            .config
            .downlinks
            .iter()
            .find(|d| d.index == received.interface)
            .ok_or(Dropped::UnknownInterface(received.interface))?;
        self.up(downlink, &message, received)
    }

    /// 19.1: a client's or a relay's message goes upstream in a RELAY-FORW.
    fn up(
        &self,
        downlink: &Downlink,
        message: &Message,
        received: Received<'_>,
    ) -> Result<Forward, Dropped> {
        let peer = *received.source.ip();
        let (hop_count, link_address, from_client) = match message {
            Message::Relay(r) if r.msg_type == MessageType::RELAY_FORW => {
                if r.hop_count >= HOP_COUNT_LIMIT {
                    return Err(Dropped::HopLimit(r.hop_count));
                }
                let link = if is_global(peer) {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    downlink.link_address.unwrap_or(Ipv6Addr::UNSPECIFIED)
                };
                (r.hop_count + 1, link, false)
            }
            Message::Client(c) if from_client_type(c.msg_type) => (
                0,
                downlink.link_address.unwrap_or(Ipv6Addr::UNSPECIFIED),
                true,
            ),
            other => return Err(Dropped::WrongDirection(other.msg_type())),
        };
        let mut options = Options::new();
        let interface_id = match (&downlink.interface_id, link_address.is_unspecified()) {
            (Some(id), _) => Some(id.clone()),
            // 19.1.1: with no address to name the link, the Interface-Id must name it.
            (None, true) => Some(downlink.index.to_be_bytes().to_vec()),
            (None, false) => None,
        };
        if let Some(id) = interface_id {
            options
                .push(code::INTERFACE_ID, &id)
                .map_err(|_| Dropped::TooLong)?;
        }
        if from_client && self.config.client_link_layer {
            if let Some(mac) = received.source_mac {
                // RFC 6939 section 4: link-layer type 1 (Ethernet), then the address.
                let mut data = vec![0, 1];
                data.extend_from_slice(&mac);
                options
                    .push(code::CLIENT_LINKLAYER_ADDR, &data)
                    .map_err(|_| Dropped::TooLong)?;
            }
        }
        options
            .push(code::RELAY_MSG, received.payload)
            .map_err(|_| Dropped::TooLong)?;
        let forw = Message::Relay(RelayMessage {
            msg_type: MessageType::RELAY_FORW,
            hop_count,
            link_address,
            peer_address: peer,
            options,
        });
        Ok(Forward {
            interface: self.config.uplink,
            destination: SocketAddrV6::new(self.config.upstream, SERVER_PORT, 0, 0),
            payload: forw.encode(),
        })
    }

    /// 19.2: a RELAY-REPL from upstream is unwrapped and sent to its peer.
    fn down(&self, message: &Message) -> Result<Forward, Dropped> {
        let Message::Relay(r) = message else {
            return Err(Dropped::WrongDirection(message.msg_type()));
        };
        if r.msg_type != MessageType::RELAY_REPL {
            return Err(Dropped::WrongDirection(r.msg_type));
        }
        let options = message.options();
        let inner = options
            .get(code::RELAY_MSG)
            .ok_or(Dropped::NoRelayMessage)?
            .data;
        let by_id = options.interface_id().and_then(|id| {
            self.config.downlinks.iter().find(|d| {
                d.interface_id.as_deref() == Some(id)
                    || (d.interface_id.is_none() && id == d.index.to_be_bytes())
            })
        });
        let by_link = || {
            self.config
                .downlinks
                .iter()
                .find(|d| d.link_address == Some(r.link_address))
        };
        let downlink = by_id.or_else(by_link).ok_or(Dropped::UnknownLink)?;
        // The inner message's first byte is its type: a RELAY-REPL goes to the relay below,
        // on the server port; anything else to the client.
        let port = if inner.first() == Some(&MessageType::RELAY_REPL.0) {
            SERVER_PORT
        } else {
            CLIENT_PORT
        };
        let scope = if is_link_local(r.peer_address) {
            downlink.index
        } else {
            0
        };
        Ok(Forward {
            interface: downlink.index,
            destination: SocketAddrV6::new(r.peer_address, port, 0, scope),
            payload: inner.to_vec(),
        })
    }
}

/// Message types clients send (RFC 8415 section 7.3), which relays pass upstream.
fn from_client_type(t: MessageType) -> bool {
    [
        MessageType::SOLICIT,
        MessageType::REQUEST,
        MessageType::CONFIRM,
        MessageType::RENEW,
        MessageType::REBIND,
        MessageType::RELEASE,
        MessageType::DECLINE,
        MessageType::INFORMATION_REQUEST,
    ]
    .contains(&t)
}

/// True for a link-local unicast address (fe80::/10).
fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// True for a global unicast address (what is neither unspecified, loopback, link-local nor
/// multicast).
fn is_global(a: Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || is_link_local(a))
}
