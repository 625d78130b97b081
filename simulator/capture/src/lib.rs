//! Reads packet captures: classic pcap (either byte order, micro- or nanosecond) and pcapng
//! (several sections and interfaces, any timestamp resolution), one record at a time so a
//! large capture is never held whole in memory.
//!
//! A file cut short yields every whole record and then a [`CaptureError`] that says at which
//! byte the file ends in the middle of a record.

use dhcplab_frame::LinkType;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

/// The largest record this reader accepts (a guard against lengths that lie).
pub const MAX_RECORD: usize = 16 << 20;
const INITIAL_BUFFER: usize = 1 << 20;

/// Why a capture could not be read, and where.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("cannot read capture: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start like a pcap or pcapng file.
    #[error("not a pcap or pcapng file (unknown magic number)")]
    NotACapture,
    /// The file ends inside its header or inside a record.
    #[error("capture is truncated: it ends inside the record that starts at byte {offset}")]
    Truncated {
        /// Byte offset in the file of the record that is cut off.
        offset: u64,
    },
    /// A record or block whose structure is invalid.
    #[error("malformed capture at byte {offset}: {detail}")]
    Malformed {
        /// Byte offset in the file of the faulty record.
        offset: u64,
        /// What the parser found.
        detail: String,
    },
    /// A record that claims more than [`MAX_RECORD`] bytes.
    #[error("record at byte {offset} is larger than {MAX_RECORD} bytes")]
    RecordTooLarge {
        /// Byte offset in the file of the record.
        offset: u64,
    },
}

/// The container format of a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position of the record among the packet records, from 1 (as Wireshark numbers frames).
    pub number: u64,
    /// Capture time in nanoseconds since the Unix epoch.
    pub timestamp_ns: i128,
    /// The LINKTYPE value of the record's interface.
    pub linktype: u32,
    /// The framing, when this reader knows the LINKTYPE.
    pub link_type: Option<LinkType>,
    /// The bytes captured (possibly fewer than were on the wire).
    pub data: Vec<u8>,
    /// Length of the frame on the wire.
    pub orig_len: u32,
    /// Byte offset of the record in the file.
    pub file_offset: u64,
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    units_per_sec: u128,
    offset_secs: i64,
}

/// Reads records from a pcap or pcapng stream.
pub struct CaptureReader {
    inner: Box<dyn PcapReaderIterator + Send>,
    format: Format,
    file_offset: u64,
    state: State,
    done: bool,
}

/// What earlier blocks said about the records that follow.
#[derive(Debug, Default)]
struct State {
    number: u64,
    /// Classic pcap: linktype and whether timestamps are nanoseconds.
    legacy: Option<(u32, bool)>,
    /// pcapng: the interfaces of the current section.
    interfaces: Vec<Interface>,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("format", &self.format)
            .field("file_offset", &self.file_offset)
            .field("number", &self.state.number)
            .finish_non_exhaustive()
    }
}

impl CaptureReader {
    /// Opens a capture file.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        Self::new(File::open(path)?)
    }

    /// Reads a capture from any byte stream.
    pub fn new<R: Read + Send + 'static>(mut source: R) -> Result<Self, CaptureError> {
        let mut magic = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match source.read(&mut magic[got..])? {
                0 => break,
                n => got += n,
            }
        }
        let format = match magic {
            [0x0a, 0x0d, 0x0d, 0x0a] => Format::PcapNg,
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d] => Format::Pcap,
            _ if got < 4 => return Err(CaptureError::Truncated { offset: 0 }),
            _ => return Err(CaptureError::NotACapture),
        };
        let stream = Filling(std::io::Cursor::new(magic).chain(source));
        let inner = pcap_parser::create_reader(INITIAL_BUFFER, stream).map_err(|e| match e {
            // The magic number was right, so the rest of the header is what is wrong.
            PcapError::HeaderNotRecognized => CaptureError::Malformed {
                offset: 0,
                detail: match format {
                    Format::PcapNg => {
                        "the section header block is invalid (its block length or byte-order magic)"
                    }
                    Format::Pcap => "the file header is invalid",
                }
                .to_string(),
            },
            PcapError::ReadError => CaptureError::Io(std::io::Error::other("read failed")),
            _ => CaptureError::Truncated { offset: 0 },
        })?;
        Ok(Self {
            inner,
            format,
            file_offset: 0,
            state: State::default(),
            done: false,
        })
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    fn read_next(&mut self) -> Result<Option<Record>, CaptureError> {
        loop {
            let at = self.file_offset;
            let step = match self.inner.next() {
                Ok((len, block)) => Ok((len, self.state.take_block(block, at))),
                Err(PcapError::Eof) => return Ok(None),
                Err(PcapError::Incomplete(_)) => Err(Step::Refill),
                Err(PcapError::BufferTooSmall) => Err(Step::Grow),
                Err(PcapError::UnexpectedEof) => {
                    return Err(CaptureError::Truncated { offset: at });
                }
                Err(PcapError::ReadError) => {
                    return Err(CaptureError::Io(std::io::Error::other("read failed")));
                }
                Err(e) => {
                    return Err(CaptureError::Malformed {
                        offset: at,
                        detail: format!("{e:?}").chars().take(120).collect(),
                    });
                }
            };
            match step {
                Ok((len, record)) => {
                    self.inner.consume(len);
                    self.file_offset += len as u64;
                    if let Some(record) = record? {
                        return Ok(Some(record));
                    }
                }
                Err(Step::Refill) => {
                    if self.inner.reader_exhausted() {
                        return Err(CaptureError::Truncated { offset: at });
                    }
                    self.inner
                        .refill()
                        .map_err(|_| CaptureError::Io(std::io::Error::other("read failed")))?;
                }
                Err(Step::Grow) => {
                    let size = self.inner.data().len().max(INITIAL_BUFFER) * 2;
                    if size > MAX_RECORD * 2 || !self.inner.grow(size) {
                        return Err(CaptureError::RecordTooLarge { offset: at });
                    }
                    self.inner
                        .refill()
                        .map_err(|_| CaptureError::Io(std::io::Error::other("read failed")))?;
                }
            }
        }
    }
}

impl State {
    /// Turns a parsed block into a record, or updates state for a non-packet block.
    fn take_block(
        &mut self,
        block: PcapBlockOwned<'_>,
        at: u64,
    ) -> Result<Option<Record>, CaptureError> {
        let (iface, ts_units, data, orig_len) = match block {
            PcapBlockOwned::LegacyHeader(h) => {
                self.legacy = Some((h.network.0 as u32, h.is_nanosecond_precision()));
                return Ok(None);
            }
            PcapBlockOwned::Legacy(b) => {
                let (linktype, nanos) = self.legacy.unwrap_or((1, false));
                let per_sec: u128 = if nanos { 1_000_000_000 } else { 1_000_000 };
                let units = u128::from(b.ts_sec) * per_sec + u128::from(b.ts_usec);
                let iface = Interface {
                    linktype,
                    units_per_sec: per_sec,
                    offset_secs: 0,
                };
                (iface, units, b.data, b.origlen)
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.interfaces.clear();
                return Ok(None);
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                let resol = idb.if_tsresol;
                let units_per_sec = if resol & 0x80 == 0 {
                    10u128.checked_pow(u32::from(resol))
                } else {
                    2u128.checked_pow(u32::from(resol & 0x7f))
                };
                let units_per_sec =
                    units_per_sec
                        .filter(|u| *u > 0)
                        .ok_or_else(|| CaptureError::Malformed {
                            offset: at,
                            detail: format!(
                                "interface timestamp resolution {resol:#04x} is out of range"
                            ),
                        })?;
                self.interfaces.push(Interface {
                    linktype: idb.linktype.0 as u32,
                    units_per_sec,
                    offset_secs: idb.if_tsoffset,
                });
                return Ok(None);
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let iface = self.interface(epb.if_id, at)?;
                let units = (u128::from(epb.ts_high) << 32) | u128::from(epb.ts_low);
                // The block's data is padded to 32 bits; the frame is its first `caplen` bytes.
                (iface, units, cut(epb.data, epb.caplen), epb.origlen)
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let iface = self.interface(0, at)?;
                // Simple packet blocks carry no timestamp, and their padded data holds the
                // frame's first `origlen` bytes at most.
                (iface, 0, cut(spb.data, spb.origlen), spb.origlen)
            }
            PcapBlockOwned::NG(_) => return Ok(None),
        };
        self.number += 1;
        let whole = ts_units / iface.units_per_sec;
        let frac = ts_units % iface.units_per_sec;
        let nanos = (whole as i128 + i128::from(iface.offset_secs)) * 1_000_000_000
            + (frac * 1_000_000_000 / iface.units_per_sec) as i128;
        Ok(Some(Record {
            number: self.number,
            timestamp_ns: nanos,
            linktype: iface.linktype,
            link_type: LinkType::from_linktype(iface.linktype),
            data: data.to_vec(),
            orig_len,
            file_offset: at,
        }))
    }

    fn interface(&self, id: u32, at: u64) -> Result<Interface, CaptureError> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.interfaces.get(i))
            .copied()
            .ok_or_else(|| CaptureError::Malformed {
                offset: at,
                detail: format!(
                    "packet refers to interface {id}, which the section does not describe"
                ),
            })
    }
}

/// The first `len` bytes of `data`, or all of it when shorter.
fn cut(data: &[u8], len: u32) -> &[u8] {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    data.get(..len).unwrap_or(data)
}

/// A reader whose `read` fills the buffer unless the source ends: the pcap parser reads its
/// first block with a single call, which a chained or piped source would leave short.
struct Filling<R>(R);

impl<R: Read> Read for Filling<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
            match self.0.read(rest) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if filled == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(filled)
    }
}

enum Step {
    Refill,
    Grow,
}

impl Iterator for CaptureReader {
    type Item = Result<Record, CaptureError>;

    /// The next record; after an error the reader yields nothing more.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.read_next().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

/// Writes classic pcap with nanosecond timestamps and Ethernet framing, the artifact format of
/// every run (Wireshark opens it as is).
pub struct CaptureWriter<W: Write> {
    inner: pcap_file::pcap::PcapWriter<W>,
}

impl<W: Write> std::fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter").finish_non_exhaustive()
    }
}

/// Why a capture could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write capture: {0}")]
pub struct WriteError(#[from] pcap_file::PcapError);

impl<W: Write> CaptureWriter<W> {
    /// Starts a capture: writes the file header.
    pub fn new(sink: W) -> Result<Self, WriteError> {
        let header = pcap_file::pcap::PcapHeader {
            snaplen: 262_144,
            ts_resolution: pcap_file::TsResolution::NanoSecond,
            endianness: pcap_file::Endianness::Little,
            ..Default::default()
        };
        Ok(Self {
            inner: pcap_file::pcap::PcapWriter::with_header(sink, header)?,
        })
    }

    /// Appends one Ethernet frame captured at `timestamp_ns` nanoseconds after the epoch.
    pub fn write(&mut self, timestamp_ns: u64, frame: &[u8]) -> Result<(), WriteError> {
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let packet = pcap_file::pcap::PcapPacket::new(
            std::time::Duration::from_nanos(timestamp_ns),
            len,
            frame,
        );
        self.inner.write_packet(&packet)?;
        Ok(())
    }

    /// Finishes and returns the sink.
    pub fn into_inner(self) -> W {
        self.inner.into_writer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(records: &[(&[u8], u32, u32)], nanos: bool) -> Vec<u8> {
        let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut out = magic.to_le_bytes().to_vec();
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (data, sec, frac) in records {
            out.extend_from_slice(&sec.to_le_bytes());
            out.extend_from_slice(&frac.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    fn read_all(bytes: Vec<u8>) -> (Vec<Record>, Option<String>) {
        match CaptureReader::new(std::io::Cursor::new(bytes)) {
            Err(e) => (Vec::new(), Some(e.to_string())),
            Ok(reader) => {
                let mut records = Vec::new();
                for item in reader {
                    match item {
                        Ok(r) => records.push(r),
                        Err(e) => return (records, Some(e.to_string())),
                    }
                }
                (records, None)
            }
        }
    }

    #[test]
    fn classic_pcap_micro_and_nano() {
        let (records, err) = read_all(pcap(&[(b"abc", 10, 5), (b"de", 11, 0)], false));
        assert_eq!(err, None);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].timestamp_ns, 10_000_005_000);
        assert_eq!(records[0].file_offset, 24);
        assert_eq!(records[1].file_offset, 24 + 16 + 3);
        assert_eq!(records[1].number, 2);
        let (records, _) = read_all(pcap(&[(b"abc", 10, 5)], true));
        assert_eq!(records[0].timestamp_ns, 10_000_000_005);
        assert_eq!(records[0].link_type, Some(LinkType::Ethernet));
    }

    #[test]
    fn truncated_file_yields_whole_records_then_error() {
        let mut bytes = pcap(&[(b"abc", 1, 0), (b"defgh", 2, 0)], false);
        bytes.truncate(bytes.len() - 2);
        let (records, err) = read_all(bytes);
        assert_eq!(records.len(), 1);
        assert_eq!(
            err.as_deref(),
            Some("capture is truncated: it ends inside the record that starts at byte 43")
        );
    }

    #[test]
    fn not_a_capture_and_empty() {
        assert_eq!(
            read_all(b"hello world, not a pcap".to_vec()).1.as_deref(),
            Some("not a pcap or pcapng file (unknown magic number)")
        );
        assert!(
            read_all(Vec::new())
                .1
                .is_some_and(|e| e.contains("truncated"))
        );
        assert!(
            read_all(pcap(&[], false)[..10].to_vec())
                .1
                .is_some_and(|e| e.contains("truncated"))
        );
    }

    #[test]
    fn writer_output_reads_back_with_nanoseconds() {
        let mut writer = CaptureWriter::new(Vec::new()).expect("header");
        writer
            .write(1_700_000_000_123_456_789, b"frame-one")
            .expect("write");
        writer
            .write(1_700_000_001_000_000_000, b"two")
            .expect("write");
        let (records, err) = read_all(writer.into_inner());
        assert_eq!(err, None);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].timestamp_ns, 1_700_000_000_123_456_789);
        assert_eq!(records[0].data, b"frame-one");
        assert_eq!(records[1].link_type, Some(LinkType::Ethernet));
    }

    /// A pcapng block: type, total length, body padded to 32 bits, total length again.
    fn block(kind: u32, body: &[u8]) -> Vec<u8> {
        let mut padded = body.to_vec();
        padded.resize(body.len().div_ceil(4) * 4, 0);
        let len = (12 + padded.len()) as u32;
        [
            &kind.to_le_bytes()[..],
            &len.to_le_bytes(),
            &padded,
            &len.to_le_bytes(),
        ]
        .concat()
    }

    #[test]
    fn pcapng_frames_lose_their_padding_and_keep_resolution() {
        let shb = block(
            0x0a0d_0d0a,
            &[
                &0x1a2b_3c4du32.to_le_bytes()[..],
                &1u16.to_le_bytes(),
                &0u16.to_le_bytes(),
                &(-1i64).to_le_bytes(),
            ]
            .concat(),
        );
        // Interface 0: Ethernet, snaplen 0, option if_tsresol = 9 (nanoseconds), end of options.
        let idb = block(
            1,
            &[
                &1u16.to_le_bytes()[..],
                &[0, 0],
                &0u32.to_le_bytes(),
                &[9, 0, 1, 0, 9, 0, 0, 0],
                &[0, 0, 0, 0],
            ]
            .concat(),
        );
        let ts: u64 = 1_700_000_000_123_456_789;
        let epb = block(
            6,
            &[
                &0u32.to_le_bytes()[..],
                &((ts >> 32) as u32).to_le_bytes(),
                &(ts as u32).to_le_bytes(),
                &5u32.to_le_bytes(),
                &60u32.to_le_bytes(),
                b"abcde",
            ]
            .concat(),
        );
        let (records, err) = read_all([shb, idb, epb].concat());
        assert_eq!(err, None);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].data, b"abcde");
        assert_eq!(records[0].orig_len, 60);
        assert_eq!(records[0].timestamp_ns, i128::from(ts));
    }

    #[test]
    fn lying_record_length_is_bounded() {
        let mut bytes = pcap(&[(b"abc", 1, 0)], false);
        // caplen of the record: claim 1 GiB.
        bytes[24 + 8..24 + 12].copy_from_slice(&(1u32 << 30).to_le_bytes());
        let (records, err) = read_all(bytes);
        assert!(records.is_empty());
        assert!(err.is_some());
    }
}
