//! A hook library that drops DHCPv4 queries from listed hardware addresses at
//! `pkt4_receive`, as a Kea deployment would block clients.
//!
//! Parameters: `{"macs": ["02:00:5e:00:53:01", ...]}` (six colon-separated hex octets, any
//! case; a bad address refuses the configuration).

use dhcplab_hook_sdk::{Call, Hook, NextStep};
use serde_json::Value;

/// The blocked addresses.
struct DropByMac {
    macs: Vec<Vec<u8>>,
}

/// Parses `02:00:5e:00:53:01`: six two-digit hex octets, colon-separated.
fn parse_mac(text: &str) -> Result<Vec<u8>, String> {
    let octets: Result<Vec<u8>, _> = text
        .split(':')
        .map(|o| {
            if o.len() == 2 {
                u8::from_str_radix(o, 16).map_err(|_| ())
            } else {
                Err(())
            }
        })
        .collect();
    match octets {
        Ok(o) if o.len() == 6 => Ok(o),
        _ => Err(format!(
            "{text:?} is not a MAC address like 02:00:5e:00:53:01"
        )),
    }
}

/// The client hardware address of a DHCPv4 message: `hlen` (byte 2) bytes of chaddr (from
/// byte 28), or none when the message is too short or hlen too long.
fn chaddr(query: &[u8]) -> Option<&[u8]> {
    let hlen = usize::from(*query.get(2)?);
    if hlen > 16 {
        return None;
    }
    query.get(28..28 + hlen)
}

impl Hook for DropByMac {
    fn load(parameters: Value) -> Result<Self, String> {
        let list = match parameters.get("macs") {
            None => return Ok(DropByMac { macs: Vec::new() }),
            Some(Value::Array(list)) => list,
            Some(v) => return Err(format!("\"macs\" must be a list, not {v}")),
        };
        let macs = list
            .iter()
            .map(|m| {
                m.as_str()
                    .ok_or_else(|| format!("{m} is not a MAC address string"))
                    .and_then(parse_mac)
            })
            .collect::<Result<_, _>>()?;
        Ok(DropByMac { macs })
    }

    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        if let Some(mac) = chaddr(call.query()) {
            if self.macs.iter().any(|m| m.as_slice() == mac) {
                call.set_next_step(NextStep::Drop);
            }
        }
        Ok(())
    }
}

dhcplab_hook_sdk::export!(DropByMac, [pkt4_receive]);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(
            parse_mac("02:00:5e:00:53:01").unwrap(),
            [0x02, 0, 0x5e, 0, 0x53, 1]
        );
        for bad in [
            "",
            "02:00:5e:00:53",
            "02:00:5e:00:53:01:02",
            "02:00:5e:00:53:1",
            "02-00-5e-00-53-01",
            "zz:00",
            "02:00:",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn chaddr_is_bounds_checked() {
        let mut q = vec![0u8; 34];
        q[2] = 6;
        q[28..34].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(chaddr(&q), Some(&[1u8, 2, 3, 4, 5, 6][..]));
        assert_eq!(chaddr(&q[..33]), None);
        assert_eq!(chaddr(&q[..2]), None);
        q[2] = 17;
        q.resize(300, 0);
        assert_eq!(chaddr(&q), None);
    }
}
