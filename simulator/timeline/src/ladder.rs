//! The ladder diagram: one column per host, one row per entry, the clock on the left.
//! Frames are arrows from the sender to the receiver (to every host a broadcast reached), marked
//! with an x where a link lost them, a partition stopped them or carrier was missing; client
//! events are boxes on their host's column; actions are bands across the columns; checks are
//! marked passed or failed at the right. One HTML file with inline SVG and CSS, no script and
//! nothing fetched, so it opens anywhere, offline, and can be attached to a CI run.

use crate::{Dest, Entry, Fate, Timeline};
use std::fmt::Write;

/// Rows drawn at most; a longer run says how many entries are left out (the pcap has every
/// frame).
pub const MAX_ROWS: usize = 4000;

const ROW: usize = 26;
const CLOCK_WIDTH: usize = 130;
const COLUMN: usize = 170;
const CHECK_WIDTH: usize = 520;
const TOP: usize = 40;

/// The ladder of `timeline` as a self-contained HTML page titled `title`, with `summary` (the
/// result) shown above it.
pub fn html(timeline: &Timeline, title: &str, summary: &str) -> String {
    let columns = timeline.hosts.len().max(1);
    let rows = timeline.entries.len().min(MAX_ROWS);
    let width = CLOCK_WIDTH + columns * COLUMN + CHECK_WIDTH;
    let height = TOP + rows * ROW + ROW;
    let x = |col: usize| CLOCK_WIDTH + col * COLUMN + COLUMN / 2;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="ladder diagram">"#
    );
    for (col, name) in timeline.hosts.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text class="host" x="{}" y="20" text-anchor="middle">{}</text><line class="life" x1="{0}" y1="28" x2="{0}" y2="{}"/>"#,
            x(col),
            escape(name),
            height - 4
        );
    }
    for (row, (at, entry)) in timeline.entries.iter().take(rows).enumerate() {
        let y = TOP + row * ROW + ROW / 2;
        let clock = clock(timeline.offset(*at));
        let _ = write!(
            svg,
            r#"<text class="clock" x="4" y="{}">{clock}</text>"#,
            y + 4
        );
        match entry {
            Entry::Frame {
                from,
                to,
                label,
                fates,
                ..
            } => {
                let targets: Vec<usize> = match to {
                    // The hosts the broadcast was offered to (those listening on its port).
                    Dest::Broadcast => fates.iter().map(|(c, _)| *c).collect(),
                    Dest::Host(c) => vec![*c],
                    Dest::Nowhere => Vec::new(),
                };
                let bcast = matches!(to, Dest::Broadcast);
                let class = if bcast { "msg bcast" } else { "msg" };
                let _ = write!(
                    svg,
                    r#"<g class="frame" data-from="{}">"#,
                    escape(&timeline.hosts[*from])
                );
                for t in &targets {
                    let fate = fates.iter().find(|(c, _)| c == t).map(|(_, f)| *f);
                    let stopped =
                        matches!(fate, Some(Fate::Lost | Fate::Partitioned | Fate::NoCarrier))
                            || fate.is_none();
                    let (x1, x2) = (x(*from), x(*t));
                    let end = if stopped { (x1 + x2) / 2 } else { x2 };
                    let _ = write!(
                        svg,
                        r#"<line class="{class}" x1="{x1}" y1="{y}" x2="{end}" y2="{y}"{}/>"#,
                        if stopped {
                            ""
                        } else {
                            r#" marker-end="url(#arrow)""#
                        }
                    );
                    if stopped {
                        let why = match fate {
                            Some(Fate::Lost) => "lost",
                            Some(Fate::Partitioned) => "partitioned",
                            Some(Fate::NoCarrier) => "no carrier",
                            _ => "not sent",
                        };
                        let _ = write!(
                            svg,
                            r#"<text class="cross" x="{end}" y="{}" text-anchor="middle"><title>{why}</title>✕</text>"#,
                            y + 5
                        );
                    }
                    if fate == Some(Fate::Duplicated) {
                        let _ = write!(
                            svg,
                            r#"<text class="dup" x="{}" y="{}">×2</text>"#,
                            x2 + 4,
                            y - 3
                        );
                    }
                }
                let lx = match targets.iter().map(|t| x(*t)).max() {
                    Some(far) if far > x(*from) => (x(*from) + far.min(x(*from) + COLUMN)) / 2,
                    Some(_) => x(*from).saturating_sub(COLUMN / 2),
                    None => x(*from),
                };
                // An IPv6 multicast frame (DHCPv6's ff02::1:2) goes to 33:33:... (RFC 2464 7).
                let multicast = entry_frame_is_multicast6(entry);
                let _ = write!(
                    svg,
                    r#"<text class="label" x="{}" y="{}" text-anchor="middle">{}{}</text></g>"#,
                    lx.max(CLOCK_WIDTH + 40),
                    y - 5,
                    escape(label),
                    match (bcast, multicast) {
                        (true, true) => " (multicast)",
                        (true, false) => " (broadcast)",
                        _ => "",
                    }
                );
            }
            Entry::Event { host, text } => {
                let w = 10 + text.len() * 7;
                let _ = write!(
                    svg,
                    r#"<g class="event"><rect x="{}" y="{}" width="{w}" height="{}" rx="4"/><text x="{}" y="{}" text-anchor="middle">{}</text></g>"#,
                    x(*host).saturating_sub(w / 2),
                    y - ROW / 2 + 2,
                    ROW - 4,
                    x(*host),
                    y + 4,
                    escape(text)
                );
            }
            Entry::Action { hosts, text } => {
                let _ = write!(
                    svg,
                    r#"<g class="action"><rect x="{CLOCK_WIDTH}" y="{}" width="{}" height="{}"/>"#,
                    y - ROW / 2 + 1,
                    columns * COLUMN,
                    ROW - 2
                );
                for h in hosts {
                    let _ = write!(svg, r#"<circle cx="{}" cy="{y}" r="4"/>"#, x(*h));
                }
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}">{}</text></g>"#,
                    CLOCK_WIDTH + 4,
                    y + 4,
                    escape(text)
                );
            }
            Entry::Check { passed, text } => {
                let (class, mark) = if *passed {
                    ("check pass", "✓")
                } else {
                    ("check fail", "✗")
                };
                let _ = write!(
                    svg,
                    r#"<text class="{class}" x="{}" y="{}">{mark} {}</text>"#,
                    CLOCK_WIDTH + columns * COLUMN + 8,
                    y + 4,
                    escape(text)
                );
            }
        }
    }
    let _ = write!(
        svg,
        r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z"/></marker></defs></svg>"##
    );
    let more = timeline.entries.len().saturating_sub(rows) as u64 + timeline.entries_dropped;
    let more = if more > 0 {
        format!(
            r#"<p class="more">{more} more entries are not drawn; the pcap holds the first {} frames.</p>"#,
            timeline
                .entries
                .iter()
                .filter(|(_, e)| matches!(e, Entry::Frame { .. }))
                .count()
        )
    } else {
        String::new()
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{t}</title>
<style>
body {{ font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
.summary {{ margin: 0 0 12px; white-space: pre-wrap; font-family: ui-monospace, monospace; }}
svg text {{ font: 12px ui-monospace, monospace; }}
.host {{ font-weight: bold; }}
.life {{ stroke: #bbb; stroke-dasharray: 3 3; }}
.clock {{ fill: #666; }}
.msg {{ stroke: #1f5fbf; stroke-width: 1.5; }}
.bcast {{ stroke-dasharray: 6 3; }}
marker path {{ fill: #1f5fbf; }}
.label {{ fill: #123; paint-order: stroke; stroke: #fff; stroke-width: 4px; }}
.cross {{ fill: #c00; font-weight: bold; }}
.dup {{ fill: #a60; }}
.event rect {{ fill: #e6f4ea; stroke: #2e7d32; }}
.event text {{ fill: #1b5e20; }}
.action rect {{ fill: #fff4e0; }}
.action circle {{ fill: #e65100; }}
.action text {{ fill: #8a4b00; paint-order: stroke; stroke: #fff4e0; stroke-width: 4px; }}
.pass {{ fill: #2e7d32; }}
.fail {{ fill: #c00; font-weight: bold; }}
.more {{ color: #a00; }}
</style></head>
<body><h1>{t}</h1><p class="summary">{s}</p>
{svg}
{more}</body></html>
"#,
        t = escape(title),
        s = escape(summary),
    )
}

/// Time since the start as `+1d02:03:04.005`.
fn clock(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    let (days, rest) = (ms / 86_400_000, ms % 86_400_000);
    let (h, m, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    if days > 0 {
        format!("+{days}d{h:02}:{m:02}:{s:02}.{milli:03}")
    } else {
        format!("+{h:02}:{m:02}:{s:02}.{milli:03}")
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Whether `entry` is a frame to an IPv6 multicast link address (33:33:xx:xx:xx:xx).
fn entry_frame_is_multicast6(entry: &Entry) -> bool {
    matches!(entry, Entry::Frame { frame, .. } if frame.starts_with(&[0x33, 0x33]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_long_note_on_the_first_host_and_a_reply_to_the_left_do_not_panic() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut t = Timeline::new(start, vec!["srv".into(), "c1".into()], true);
        t.push(
            start,
            Entry::Event {
                host: 0,
                text: "x".repeat(400),
            },
        );
        t.push(
            start,
            Entry::Frame {
                from: 0,
                to: Dest::Nowhere,
                frame: vec![],
                label: "NAK".into(),
                fates: vec![],
            },
        );
        let page = html(&t, "long", "");
        assert!(page.contains(&"x".repeat(400)));
    }

    #[test]
    fn every_kind_of_entry_is_drawn_and_text_is_escaped() {
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut t = Timeline::new(start, vec!["srv".into(), "c<1>".into()], true);
        let later = start + Duration::from_millis(90_061_005);
        t.push(
            later,
            Entry::Frame {
                from: 1,
                to: Dest::Broadcast,
                frame: vec![],
                label: "DISCOVER".into(),
                fates: vec![(0, Fate::Lost)],
            },
        );
        t.push(
            later,
            Entry::Frame {
                from: 1,
                to: Dest::Broadcast,
                frame: vec![0x33, 0x33, 0, 1, 0, 2],
                label: "SOLICIT xid 0x0a0b0c".into(),
                fates: vec![(0, Fate::Arrived(Duration::ZERO))],
            },
        );
        t.push(
            later,
            Entry::Frame {
                from: 0,
                to: Dest::Host(1),
                frame: vec![],
                label: "OFFER 192.0.2.100".into(),
                fates: vec![(1, Fate::Duplicated)],
            },
        );
        t.push(
            later,
            Entry::Event {
                host: 1,
                text: "BOUND".into(),
            },
        );
        t.push(
            later,
            Entry::Action {
                hosts: vec![1],
                text: "link down".into(),
            },
        );
        t.push(
            later,
            Entry::Check {
                passed: false,
                text: "expected ACK & got none".into(),
            },
        );
        let page = html(&t, "lease-expiry/x", "FAILED\nseed 1\u{2}");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("+1d01:01:01.005"));
        assert!(page.contains("c&lt;1&gt;"));
        assert!(
            page.contains("FAILED\nseed 1?"),
            "lines kept, control characters replaced"
        );
        assert!(page.contains("DISCOVER (broadcast)"));
        assert!(page.contains("SOLICIT xid 0x0a0b0c (multicast)"));
        assert!(page.contains("<title>lost</title>"));
        assert!(page.contains("×2"));
        assert!(page.contains(r#"class="event""#));
        assert!(page.contains("link down"));
        assert!(page.contains("✗ expected ACK &amp; got none"));
        assert!(!page.contains("<script"), "no script");
        assert!(
            !page.contains("http://") || page.matches("http://").count() == 1,
            "only the SVG namespace"
        );
    }
}
