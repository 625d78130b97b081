//! The input layout of the cores' targets: a flags byte, then records of a control byte, a
//! two-byte big-endian length and that many payload bytes. A length that runs past the end
//! takes what is left, so every byte string is a valid input and a raw payload seed only
//! needs the four header bytes in front.

/// At most this many records are read from one input, so one input stays cheap.
const MAX_RECORDS: usize = 32;

/// One datagram of a core's input and the control byte that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// What the target does around the datagram (its meaning is the target's).
    pub control: u8,
    /// The datagram's payload.
    pub payload: &'a [u8],
}

/// The records of an input, in order.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    rest: &'a [u8],
    taken: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.taken == MAX_RECORDS {
            return None;
        }
        let (&control, rest) = self.rest.split_first()?;
        let (len, rest) = match rest {
            [hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
            _ => (rest.len(), rest),
        };
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        self.rest = rest;
        self.taken += 1;
        Some(Record { control, payload })
    }
}

/// Splits a core's input into its flags byte (0 for an empty input) and its records.
pub fn records(data: &[u8]) -> (u8, Records<'_>) {
    match data.split_first() {
        Some((&flags, rest)) => (flags, Records { rest, taken: 0 }),
        None => (
            0,
            Records {
                rest: &[],
                taken: 0,
            },
        ),
    }
}

/// The input [`records`] reads back as `flags` and `items` (payloads longer than 65535 bytes
/// are cut there), for seeds and tests.
pub fn encode_records(flags: u8, items: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = vec![flags];
    for (control, payload) in items {
        let payload = &payload[..payload.len().min(usize::from(u16::MAX))];
        out.push(*control);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_records_read_back() {
        let data = encode_records(7, &[(1, b"abc"), (2, b""), (3, b"xy")]);
        let (flags, recs) = records(&data);
        assert_eq!(flags, 7);
        let got: Vec<_> = recs.map(|r| (r.control, r.payload.to_vec())).collect();
        assert_eq!(
            got,
            vec![(1, b"abc".to_vec()), (2, Vec::new()), (3, b"xy".to_vec())]
        );
    }

    #[test]
    fn a_length_past_the_end_takes_the_rest() {
        let (_, recs) = records(&[0, 9, 0, 200, 1, 2]);
        let got: Vec<_> = recs.collect();
        assert_eq!(
            got,
            vec![Record {
                control: 9,
                payload: &[1, 2]
            }]
        );
        let (_, recs) = records(&[0, 9, 5]);
        assert_eq!(
            recs.collect::<Vec<_>>(),
            vec![Record {
                control: 9,
                payload: &[5]
            }]
        );
    }
}
