//! The lease file's group commit: rows made durable per second by the daemon's writer thread
//! (`LeaseWriter`: one append job per turn of the daemon's loop, one `fdatasync` per batch of
//! jobs) when rows arrive one at a time and in groups of 8, 64 and 512, against the peer
//! measured in the same run: a `write` and an `fdatasync` for every row, what a server that
//! does not batch pays. Also what formatting one row costs (`to_row`, Kea's memfile CSV) for
//! a DHCPv4 and a DHCPv6 lease.
//!
//! `cargo bench -p dhcplab-server-daemon --bench lease_store`. Files are in a temporary
//! directory under /tmp (the system's temporary directory: its file system decides what a
//! sync costs; tmpfs makes syncs free, and the figures meaningless). Each case appends to its
//! own file, which grows as the case runs, as a lease file does between cleanups.
//!
//! Cases (criterion reports each as rows per second):
//! - `durable/fdatasync_per_row`: the peer, `write_all` of one row then `sync_data`;
//! - `durable/writer_group/N`: one append of N rows to the writer, then a wait until the
//!   writer reports them durable (the daemon gathers the rows of one loop turn, up to 256
//!   datagrams, into one append);
//! - `durable/writer_queued_singles/64`: 64 appends of one row each, back to back, then a
//!   wait for the last: the writer takes every job queued while it was syncing into the next
//!   batch;
//! - `to_row/lease4`, `to_row/lease6`: formatting one row.
//!
//! What a sync costs moves by ten times and more within a minute on a shared disk (other
//! writers fill the journal), so cases measured one after the other compare badly. The last
//! part of the run therefore measures the peer and every writer case interleaved, round after
//! round (one group of each per round), and prints a table of median times, rows per second
//! and the ratio to the peer: those ratios are the figures to quote.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dhcplab_memfile::{Lease4, Lease6, LeaseType};
use dhcplab_server_daemon::lease_file::{Durable, LeaseWriter, load};
use std::fs::OpenOptions;
use std::hint::black_box;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

fn lease4(n: u32) -> Lease4 {
    let b = n.to_be_bytes();
    Lease4 {
        address: Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 1)) + n % 131_070),
        hwaddr: vec![0x02, 0x00, b[0], b[1], b[2], b[3]],
        client_id: vec![1, 0x02, 0x00, b[0], b[1], b[2], b[3]],
        valid_lifetime: 3600,
        expire: 1_800_003_600,
        subnet_id: 1,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        state: 0,
        user_context: None,
    }
}

fn lease6(n: u32) -> Lease6 {
    let b = n.to_be_bytes();
    Lease6 {
        address: Ipv6Addr::from(
            u128::from(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 1, 0)) + u128::from(n),
        ),
        duid: vec![0, 3, 0, 1, 0x02, 0x00, b[0], b[1], b[2], b[3]],
        valid_lifetime: 4000,
        expire: 1_800_004_000,
        subnet_id: 1,
        preferred_lifetime: 3000,
        lease_type: LeaseType::Na,
        iaid: 1,
        prefix_len: 128,
        fqdn_fwd: false,
        fqdn_rev: false,
        hostname: String::new(),
        hwaddr: None,
        state: 0,
        user_context: None,
    }
}

/// `n` DHCPv4 rows, each with its line end, starting at client `from`.
fn rows(from: u32, n: u32) -> String {
    let mut text = String::new();
    for i in from..from + n {
        text.push_str(&lease4(i).to_row());
        text.push('\n');
    }
    text
}

/// A writer on a new lease file (Kea's DHCPv4 header) at `path`.
fn writer(path: &Path) -> LeaseWriter {
    load::<Lease4>(path).expect("a new lease file");
    LeaseWriter::start(path).expect("the writer starts")
}

/// Waits until the writer reports every job up to `seq` durable.
fn wait(rt: &tokio::runtime::Runtime, w: &LeaseWriter, seq: u64) {
    let mut durable = w.durable();
    rt.block_on(async {
        durable
            .wait_for(|d| match d {
                Durable::UpTo(done) => *done >= seq,
                Durable::Failed(why) => panic!("the writer failed: {why}"),
            })
            .await
            .map(|_| ())
    })
    .expect("the writer runs");
}

fn durable(c: &mut Criterion) {
    let dir = tempfile::tempdir_in("/tmp").expect("a temporary directory");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("durable");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // The peer: a write and a sync for every row.
    let path = dir.path().join("per-row.csv");
    load::<Lease4>(&path).expect("a new lease file");
    let mut file = OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open for append");
    let one = rows(0, 1);
    group.throughput(Throughput::Elements(1));
    group.bench_function("fdatasync_per_row", |b| {
        b.iter(|| {
            file.write_all(one.as_bytes()).expect("write");
            file.sync_data().expect("fdatasync");
        });
    });

    for n in [1u32, 8, 64, 512] {
        let path = dir.path().join(format!("group-{n}.csv"));
        let mut w = writer(&path);
        let text = rows(0, n);
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_function(BenchmarkId::new("writer_group", n), |b| {
            b.iter(|| {
                let seq = w.append(text.clone());
                wait(&rt, &w, seq);
            });
        });
        assert!(matches!(w.finish(), Durable::UpTo(_)), "no write failed");
    }

    let path = dir.path().join("singles.csv");
    let mut w = writer(&path);
    group.throughput(Throughput::Elements(64));
    group.bench_function(BenchmarkId::new("writer_queued_singles", 64), |b| {
        b.iter(|| {
            let mut seq = 0;
            for _ in 0..64 {
                seq = w.append(one.clone());
            }
            wait(&rt, &w, seq);
        });
    });
    assert!(matches!(w.finish(), Durable::UpTo(_)), "no write failed");
    group.finish();
}

/// One durable group of each case per round, `ROUNDS` rounds; a table of the medians.
fn interleaved(_: &mut Criterion) {
    const ROUNDS: usize = 300;
    let dir = tempfile::tempdir_in("/tmp").expect("a temporary directory");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let path = dir.path().join("per-row.csv");
    load::<Lease4>(&path).expect("a new lease file");
    let mut file = OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open for append");
    let one = rows(0, 1);
    let groups = [1u32, 8, 64, 512];
    let mut writers: Vec<(u32, LeaseWriter, String)> = groups
        .iter()
        .map(|n| {
            let w = writer(&dir.path().join(format!("group-{n}.csv")));
            (*n, w, rows(0, *n))
        })
        .collect();
    let mut singles = writer(&dir.path().join("singles.csv"));
    // Per case: (name, rows per measurement, times).
    let mut cases: Vec<(String, u32, Vec<Duration>)> =
        std::iter::once(("fdatasync_per_row".to_string(), 1))
            .chain(groups.iter().map(|n| (format!("writer_group/{n}"), *n)))
            .chain(std::iter::once((
                "writer_queued_singles/64".to_string(),
                64,
            )))
            .map(|(name, n)| (name, n, Vec::with_capacity(ROUNDS)))
            .collect();
    for _ in 0..ROUNDS {
        let started = std::time::Instant::now();
        file.write_all(one.as_bytes()).expect("write");
        file.sync_data().expect("fdatasync");
        cases[0].2.push(started.elapsed());
        for (i, (_, w, text)) in writers.iter_mut().enumerate() {
            let started = std::time::Instant::now();
            let seq = w.append(text.clone());
            wait(&rt, w, seq);
            cases[i + 1].2.push(started.elapsed());
        }
        let started = std::time::Instant::now();
        let mut seq = 0;
        for _ in 0..64 {
            seq = singles.append(one.clone());
        }
        wait(&rt, &singles, seq);
        cases[groups.len() + 1].2.push(started.elapsed());
    }
    let rate = |n: u32, times: &mut Vec<Duration>| {
        times.sort_unstable();
        let median = times.get(times.len() / 2).copied().unwrap_or_default();
        (median, f64::from(n) / median.as_secs_f64())
    };
    let (_, peer) = rate(1, &mut cases[0].2.clone());
    println!("interleaved, {ROUNDS} rounds, medians:");
    println!(
        "| case | rows per group | median time per group | rows made durable per second | ratio to fdatasync_per_row |"
    );
    println!("|---|---|---|---|---|");
    for (name, n, times) in &mut cases {
        let (median, per_second) = rate(*n, times);
        println!(
            "| {name} | {n} | {:.0} µs | {per_second:.0} | {:.2} |",
            median.as_secs_f64() * 1e6,
            per_second / peer
        );
    }
}

fn to_row(c: &mut Criterion) {
    let mut group = c.benchmark_group("to_row");
    let (l4, l6) = (lease4(7), lease6(7));
    group.bench_function("lease4", |b| b.iter(|| black_box(black_box(&l4).to_row())));
    group.bench_function("lease6", |b| b.iter(|| black_box(black_box(&l6).to_row())));
    group.finish();
}

criterion_group!(benches, durable, to_row, interleaved);
criterion_main!(benches);
