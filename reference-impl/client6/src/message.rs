//! The client's messages (RFC 8415 section 18.2) and the reading of the server's answers.

use crate::{IaKind, Lease6};
use dhcplab_wire::v6::{ClientMessage, Message, MessageType, OptionsRef, code};
use std::net::Ipv6Addr;

/// SOL_MAX_RT (82), INF_MAX_RT (83) and Information Refresh Time (32): the ORO carries them
/// whatever the configuration asks (RFC 8415 21.23, 21.24, 21.25).
const SOL_MAX_RT: u16 = code::SOL_MAX_RT;

/// An IA as the client sends it: its identity and the leases it names (hints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IaOut {
    pub kind: IaKind,
    pub iaid: u32,
    pub leases: Vec<Lease6>,
}

/// What goes in one message besides the header.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing<'a> {
    pub msg_type: MessageType,
    pub xid: u32,
    pub client_id: &'a [u8],
    pub server_id: Option<&'a [u8]>,
    pub ias: &'a [IaOut],
    pub elapsed_cs: u16,
    pub oro: Option<Vec<u16>>,
    pub rapid_commit: bool,
}

/// The message's bytes. Lifetimes and T1/T2 in what the client sends are 0 (RFC 8415 21.4,
/// 21.6, 21.22: the server ignores them).
pub(crate) fn build(o: &Outgoing<'_>) -> Vec<u8> {
    let mut m = ClientMessage::new(o.msg_type, o.xid);
    // Every option built here is far below 65535 bytes (an IA holds at most the leases the
    // client was given, each 24 or 25 bytes plus header), so pushes cannot fail; a failure
    // would only drop that option.
    let _ = m.options.push(code::CLIENT_ID, o.client_id);
    if let Some(s) = o.server_id {
        let _ = m.options.push(code::SERVER_ID, s);
    }
    for ia in o.ias {
        let mut data = Vec::new();
        data.extend_from_slice(&ia.iaid.to_be_bytes());
        data.extend_from_slice(&[0; 8]);
        for l in &ia.leases {
            match ia.kind {
                IaKind::Na => {
                    data.extend_from_slice(&code::IA_ADDR.to_be_bytes());
                    data.extend_from_slice(&24u16.to_be_bytes());
                    data.extend_from_slice(&l.address.octets());
                    data.extend_from_slice(&[0; 8]);
                }
                IaKind::Pd => {
                    data.extend_from_slice(&code::IA_PREFIX.to_be_bytes());
                    data.extend_from_slice(&25u16.to_be_bytes());
                    data.extend_from_slice(&[0; 8]);
                    data.push(l.prefix_len);
                    data.extend_from_slice(&l.address.octets());
                }
            }
        }
        let c = match ia.kind {
            IaKind::Na => code::IA_NA,
            IaKind::Pd => code::IA_PD,
        };
        let _ = m.options.push(c, &data);
    }
    let _ = m
        .options
        .push(code::ELAPSED_TIME, &o.elapsed_cs.to_be_bytes());
    if let Some(codes) = &o.oro {
        let bytes: Vec<u8> = codes.iter().flat_map(|c| c.to_be_bytes()).collect();
        let _ = m.options.push(code::ORO, &bytes);
    }
    if o.rapid_commit {
        let _ = m.options.push(code::RAPID_COMMIT, &[]);
    }
    Message::Client(m).encode()
}

/// The ORO the client sends in `msg_type`: the configured codes, then the ones RFC 8415 says
/// a client must ask for (SOL_MAX_RT in every ORO; INF_MAX_RT and the Information Refresh
/// Time in an Information-request).
pub(crate) fn oro(configured: &[u16], msg_type: MessageType) -> Vec<u16> {
    let mut codes = configured.to_vec();
    let mut add = |c: u16| {
        if !codes.contains(&c) {
            codes.push(c);
        }
    };
    if msg_type == MessageType::INFORMATION_REQUEST {
        add(code::INFORMATION_REFRESH_TIME);
        add(SOL_MAX_RT);
        add(code::INF_MAX_RT);
    } else {
        add(SOL_MAX_RT);
    }
    codes
}

/// One IA of a server's message, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IaIn {
    pub kind: IaKind,
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub status: Option<u16>,
    /// Address (or prefix), prefix length, preferred and valid lifetimes in seconds.
    pub leases: Vec<(Ipv6Addr, u8, u32, u32)>,
}

/// A server's Advertise or Reply, read.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub msg_type: MessageType,
    pub xid: u32,
    pub server_id: Vec<u8>,
    pub status: Option<u16>,
    pub preference: u8,
    pub unicast: Option<Ipv6Addr>,
    pub rapid_commit: bool,
    pub ias: Vec<IaIn>,
    pub sol_max_rt: Option<u32>,
    pub inf_max_rt: Option<u32>,
    pub refresh: Option<u32>,
}

impl Answer {
    /// True when the answer offers at least one address or prefix with a valid lifetime.
    pub fn has_leases(&self) -> bool {
        self.ias
            .iter()
            .any(|ia| ia.status.unwrap_or(0) == 0 && ia.leases.iter().any(|l| l.3 > 0))
    }
}

/// Reads `payload` as an answer to the client whose DUID is `client_id`; the error says why
/// it is not one.
pub(crate) fn read(payload: &[u8], client_id: &[u8]) -> Result<Answer, String> {
    let m = Message::decode(payload).map_err(|e| format!("malformed: {e}"))?;
    let Message::Client(cm) = &m else {
        return Err(format!("a {} message", m.msg_type()));
    };
    if cm.msg_type != MessageType::ADVERTISE && cm.msg_type != MessageType::REPLY {
        return Err(format!("a {} message", cm.msg_type));
    }
    let o = m.options();
    let cid = o.get(code::CLIENT_ID).map(|c| c.data);
    if cid != Some(client_id) {
        return Err("the Client Identifier is missing or not ours".into());
    }
    let server_id = o
        .get(code::SERVER_ID)
        .map(|s| s.data.to_vec())
        .ok_or("no Server Identifier")?;
    let status = o.status_code().map_err(|e| e.to_string())?.map(|s| s.code);
    let mut ias = Vec::new();
    for (kind, list) in [
        (IaKind::Na, o.ia_na().map_err(|e| e.to_string())?),
        (IaKind::Pd, o.ia_pd().map_err(|e| e.to_string())?),
    ] {
        for ia in list {
            ias.push(read_ia(kind, ia.iaid, ia.t1, ia.t2, ia.options)?);
        }
    }
    Ok(Answer {
        msg_type: cm.msg_type,
        xid: cm.xid,
        server_id,
        status,
        preference: o.preference().ok().flatten().unwrap_or(0),
        unicast: o.unicast().ok().flatten(),
        rapid_commit: o.rapid_commit().unwrap_or(false),
        ias,
        sol_max_rt: o.sol_max_rt().ok().flatten(),
        inf_max_rt: o.inf_max_rt().ok().flatten(),
        refresh: o.information_refresh_time().ok().flatten(),
    })
}

fn read_ia(
    kind: IaKind,
    iaid: u32,
    t1: u32,
    t2: u32,
    options: OptionsRef<'_>,
) -> Result<IaIn, String> {
    let status = options
        .status_code()
        .map_err(|e| e.to_string())?
        .map(|s| s.code);
    let leases = match kind {
        IaKind::Na => options
            .ia_addresses()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|a| (a.addr, 128, a.preferred, a.valid))
            .collect(),
        IaKind::Pd => options
            .ia_prefixes()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| (p.prefix, p.prefix_len, p.preferred, p.valid))
            .collect(),
    };
    Ok(IaIn {
        kind,
        iaid,
        t1,
        t2,
        status,
        leases,
    })
}
