//! The server DUID, made as Kea's `DUIDFactory` makes it (`createLLT`, `createEN`,
//! `createLL`): every field the `server-id` configuration leaves unset is taken from the DUID
//! in `kea-dhcp6-serverid` when that DUID has the configured type, else generated.

use dhcplab_kea_config::dhcp6::{DuidType, ServerId};
use dhcplab_rng::Rng;
use dhcplab_wire::v4::Hex;
use dhcplab_wire::v6::Duid;
use std::time::SystemTime;

/// Seconds from the Unix epoch to 2000-01-01 00:00 UTC, the DUID-LLT time origin.
const DUID_TIME_EPOCH: u64 = 946_684_800;
/// ISC's enterprise number, Kea's default for DUID-EN.
const ENTERPRISE_ISC: u32 = 2495;
/// Hardware type Ethernet.
const HTYPE_ETHER: u16 = 1;

/// The DUID made, and the file text to write when it must be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Made {
    pub duid: Vec<u8>,
    pub write: Option<String>,
}

/// The file's text for a DUID: colon hex and no line end, as Kea's `DUIDFactory::set` writes
/// it (`ofs << duid.toText()`).
pub(crate) fn file_text(duid: &[u8]) -> String {
    Hex(duid).to_string()
}

/// Six bytes drawn from a generator seeded by `now`, made a locally administered unicast
/// link-layer address (the core knows no interface's address when it starts).
fn generated_id(now: SystemTime) -> Vec<u8> {
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let bits = Rng::fork(nanos, "server6-duid").next_u64().to_be_bytes();
    let mut id = bits[..6].to_vec();
    id[0] = (id[0] | 0x02) & 0xfe;
    id
}

/// The hardware type and link-layer address of an LLT or LL DUID: the configured address
/// (with the configured type, else the stored one's, else Ethernet), else the stored DUID's,
/// else a generated one.
fn link_layer(cfg: &ServerId, htype_cur: u16, id_cur: Vec<u8>, now: SystemTime) -> (u16, Vec<u8>) {
    if !cfg.identifier.is_empty() {
        let htype = match (cfg.htype, htype_cur) {
            (0, 0) => HTYPE_ETHER,
            (0, h) => h,
            (h, _) => h,
        };
        return (htype, cfg.identifier.clone());
    }
    if id_cur.is_empty() {
        (HTYPE_ETHER, generated_id(now))
    } else {
        (htype_cur, id_cur)
    }
}

/// The server DUID for configuration `cfg`, `file` being the text of `kea-dhcp6-serverid`
/// when there is one.
pub(crate) fn server_duid(cfg: &ServerId, file: Option<&str>, now: SystemTime) -> Made {
    let stored = file
        .and_then(|t| dhcplab_kea_config::common::hex(t).ok())
        .and_then(|b| Duid::parse(&b).ok());
    let duid = match cfg.kind {
        DuidType::Llt => {
            let (htype_cur, time_cur, id_cur) = match &stored {
                Some(Duid::Llt { htype, time, addr }) => (*htype, *time, addr.clone()),
                _ => (0, 0, Vec::new()),
            };
            let time = match (cfg.time, time_cur) {
                (0, 0) => (crate::epoch_secs(now).saturating_sub(DUID_TIME_EPOCH)) as u32,
                (0, t) => t,
                (t, _) => t,
            };
            let (htype, addr) = link_layer(cfg, htype_cur, id_cur, now);
            Duid::Llt { htype, time, addr }
        }
        DuidType::En => {
            let (ent_cur, id_cur) = match &stored {
                Some(Duid::En { enterprise, id }) => (*enterprise, id.clone()),
                _ => (0, Vec::new()),
            };
            let enterprise = match (cfg.enterprise_id, ent_cur) {
                (0, 0) => ENTERPRISE_ISC,
                (0, e) => e,
                (e, _) => e,
            };
            let id = match (cfg.identifier.is_empty(), id_cur.is_empty()) {
                (true, true) => generated_id(now),
                (true, false) => id_cur,
                (false, _) => cfg.identifier.clone(),
            };
            Duid::En { enterprise, id }
        }
        DuidType::Ll => {
            let (htype_cur, id_cur) = match &stored {
                Some(Duid::Ll { htype, addr }) => (*htype, addr.clone()),
                _ => (0, Vec::new()),
            };
            let (htype, addr) = link_layer(cfg, htype_cur, id_cur, now);
            Duid::Ll { htype, addr }
        }
    };
    let bytes = duid.to_bytes();
    let unchanged = stored.is_some_and(|s| s.to_bytes() == bytes);
    Made {
        write: (cfg.persist && !unchanged).then(|| file_text(&bytes)),
        duid: bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_stored_duid_of_the_configured_type_is_kept() {
        let file = "00:01:00:01:2b:4c:5d:6e:02:00:00:00:00:01\n";
        let made = server_duid(&ServerId::default(), Some(file), at(1_800_000_000));
        assert_eq!(
            made.duid,
            dhcplab_kea_config::common::hex(file).expect("hex")
        );
        assert_eq!(made.write, None);
    }

    #[test]
    fn a_new_llt_duid_takes_the_time_from_now_and_is_written() {
        let made = server_duid(&ServerId::default(), None, at(DUID_TIME_EPOCH + 1000));
        assert_eq!(&made.duid[..8], &[0, 1, 0, 1, 0, 0, 0x03, 0xe8]);
        assert_eq!(made.duid.len(), 14);
        assert_eq!(
            made.write.as_deref(),
            Some("00:01:00:01:00:00:03:e8:".to_string() + &Hex(&made.duid[8..]).to_string())
                .as_deref(),
            "colon hex without a line end, as kea-dhcp6 2.2 writes it"
        );
        let again = server_duid(&ServerId::default(), None, at(DUID_TIME_EPOCH + 1000));
        assert_eq!(again, made, "the same start makes the same DUID");
    }

    #[test]
    fn a_configured_field_overrides_the_file_and_is_written() {
        let file = "00:01:00:01:2b:4c:5d:6e:02:00:00:00:00:01";
        let cfg = ServerId {
            kind: DuidType::En,
            identifier: vec![0xab, 0xcd],
            enterprise_id: 0,
            persist: false,
            ..ServerId::default()
        };
        let made = server_duid(&cfg, Some(file), at(1_800_000_000));
        assert_eq!(made.duid, vec![0, 2, 0, 0, 0x09, 0xbf, 0xab, 0xcd]);
        assert_eq!(made.write, None, "persist false writes nothing");
    }
}
