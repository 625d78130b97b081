//! The loader against the example libraries of `reference-impl/hook-examples`, built by
//! the test kit: instances, parameters, next steps, lease contexts, and failures contained.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use dhcplab_hook_loader::{LoadError, NativeLibrary};
use dhcplab_hooks::{Call, HookPoint, Library, NextStep};
use dhcplab_testkit::hooks::example;
use serde_json::json;

fn load(lib: &str, index: u32, params: serde_json::Value) -> Result<NativeLibrary, LoadError> {
    NativeLibrary::load(&example(lib), index, &params)
}

/// Calls `lib` at `point` with query `query`; returns the result and the call afterwards.
fn call_with<'a>(
    lib: &mut NativeLibrary,
    point: HookPoint,
    sequence: u64,
    query: &'a [u8],
    next_step: NextStep,
) -> (Result<(), String>, Call<'a>) {
    let mut call = Call {
        point,
        sequence,
        query,
        response: &[],
        arguments: c"{}",
        next_step,
        lease_context: None,
    };
    let r = lib.call(&mut call);
    (r, call)
}

fn call(
    lib: &mut NativeLibrary,
    point: HookPoint,
    sequence: u64,
) -> (Result<(), String>, Call<'static>) {
    call_with(lib, point, sequence, &[], NextStep::Continue)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn trace_writes_load_callouts_and_unload_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.txt");
    let mut lib = load("trace", 2, json!({"file": file, "name": "first"})).unwrap();
    assert_eq!(lines(&file), ["0 first load"]);
    assert_eq!(call(&mut lib, HookPoint::Pkt4Receive, 7).0, Ok(()));
    assert_eq!(call(&mut lib, HookPoint::Lease4Select, 8).0, Ok(()));
    assert_eq!(call(&mut lib, HookPoint::Pkt4Send, 8).0, Ok(()));
    drop(lib);
    assert_eq!(
        lines(&file),
        [
            "0 first load",
            "7 first pkt4_receive",
            "8 first lease4_select",
            "8 first pkt4_send",
            "0 first unload"
        ]
    );
}

#[test]
fn trace_names_itself_after_its_index_once_called() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.txt");
    let mut lib = load("trace", 3, json!({"file": file})).unwrap();
    call(&mut lib, HookPoint::Buffer4Receive, 1).0.unwrap();
    drop(lib);
    assert_eq!(
        lines(&file),
        ["0 lib? load", "1 lib3 buffer4_receive", "0 lib3 unload"]
    );
}

#[test]
fn the_same_file_loaded_twice_gets_two_instances() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.txt");
    let mut a = load("trace", 0, json!({"file": file, "name": "a"})).unwrap();
    let mut b = load("trace", 1, json!({"file": file, "name": "b"})).unwrap();
    for seq in 1..=2 {
        call(&mut a, HookPoint::Pkt4Receive, seq).0.unwrap();
        call(&mut b, HookPoint::Pkt4Receive, seq).0.unwrap();
    }
    drop(b);
    drop(a);
    assert_eq!(
        lines(&file),
        [
            "0 a load",
            "0 b load",
            "1 a pkt4_receive",
            "1 b pkt4_receive",
            "2 a pkt4_receive",
            "2 b pkt4_receive",
            "0 b unload",
            "0 a unload"
        ]
    );
}

#[test]
fn next_steps_from_parameters_reach_the_call() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.txt");
    let mut lib = load(
        "trace",
        0,
        json!({"file": file, "next-step": {"pkt4_receive": "drop", "lease4_select": "skip", "pkt4_send": "PARK"}}),
    )
    .unwrap();
    assert_eq!(
        call(&mut lib, HookPoint::Pkt4Receive, 1).1.next_step,
        NextStep::Drop
    );
    assert_eq!(
        call(&mut lib, HookPoint::Lease4Select, 1).1.next_step,
        NextStep::Skip
    );
    assert_eq!(
        call(&mut lib, HookPoint::Pkt4Send, 1).1.next_step,
        NextStep::Park
    );
    // A hook point without a configured step keeps what the callouts before left.
    let (r, c) = call_with(&mut lib, HookPoint::Subnet4Select, 1, &[], NextStep::Skip);
    assert_eq!((r, c.next_step), (Ok(()), NextStep::Skip));
}

#[test]
fn libraries_whose_load_fails_give_load_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trace.txt");
    // Each with a word the library's load_error() must say.
    let cases = [
        ("faulty", json!({"fail-in": "load"}), "load"),
        ("trace", json!({}), "file"),
        ("trace", serde_json::Value::Null, "file"),
        (
            "trace",
            json!({"file": file, "next-step": {"pkt4_recieve": "drop"}}),
            "pkt4_recieve",
        ),
        (
            "trace",
            json!({"file": file, "next-step": {"pkt4_receive": "stop"}}),
            "stop",
        ),
        (
            "drop_by_mac",
            json!({"macs": ["02:00:5e:00:53"]}),
            "02:00:5e:00:53",
        ),
        ("drop_by_mac", json!({"macs": ["not a mac"]}), "not a mac"),
        ("lease_tag", json!({}), "tag"),
    ];
    for (lib, params, word) in cases {
        let err = load(lib, 0, params.clone()).unwrap_err();
        assert!(
            matches!(&err, LoadError::LoadFailed { code: 1, path, why: Some(w) } if path == &example(lib) && w.contains(word)),
            "{lib} {params}: {err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(lib) && text.contains("load() failed with code 1: "),
            "{text}"
        );
    }
}

#[test]
fn a_missing_file_is_a_clear_load_error() {
    let err =
        NativeLibrary::load(Path::new("/nonexistent/libnothing.so"), 0, &json!({})).unwrap_err();
    assert!(matches!(err, LoadError::Missing { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "hook library /nonexistent/libnothing.so: no such file"
    );
}

#[test]
fn a_text_file_is_not_a_library() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("libfake.so");
    std::fs::write(&file, "this is not ELF\n").unwrap();
    let err = NativeLibrary::load(&file, 0, &json!({})).unwrap_err();
    let LoadError::NotALibrary { path, message } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(path, &file);
    assert!(!message.is_empty());
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "hook library {}: not a loadable shared object: ",
            file.display()
        )),
        "{text}"
    );
}

#[test]
fn a_shared_object_without_version_is_no_hook_library() {
    // Any shared object that is no hook library will do: the C math library is everywhere.
    let candidates = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6",
        "/usr/lib/aarch64-linux-gnu/libm.so.6",
        "/lib64/libm.so.6",
        "/usr/lib64/libm.so.6",
        "/usr/lib/libm.so.6",
    ];
    let Some(libm) = candidates.iter().map(Path::new).find(|p| p.exists()) else {
        eprintln!("no libm.so.6 found; skipping");
        return;
    };
    let err = NativeLibrary::load(libm, 0, &json!({})).unwrap_err();
    assert!(matches!(err, LoadError::NoVersion { .. }), "{err:?}");
    assert!(err.to_string().contains("exports no version()"), "{err}");
}

#[test]
fn a_panicking_callout_drops_and_the_library_goes_on() {
    let mut lib = load("faulty", 0, json!({"panic-in": "pkt4_receive"})).unwrap();
    for seq in 1..=2 {
        let (r, c) = call(&mut lib, HookPoint::Pkt4Receive, seq);
        assert_eq!(r, Err("callout returned 1".to_string()));
        assert_eq!(c.next_step, NextStep::Drop);
        let (r, c) = call_with(&mut lib, HookPoint::Lease4Select, seq, &[], NextStep::Skip);
        assert_eq!((r, c.next_step), (Ok(()), NextStep::Skip));
    }
}

#[test]
fn a_failing_callout_keeps_the_status() {
    let mut lib = load("faulty", 0, json!({"fail-in": "pkt4_send"})).unwrap();
    let (r, c) = call_with(&mut lib, HookPoint::Pkt4Send, 1, &[], NextStep::Skip);
    assert_eq!(r, Err("callout returned 1".to_string()));
    assert_eq!(c.next_step, NextStep::Skip);
}

#[test]
fn a_panicking_load_is_a_load_error_and_the_process_lives() {
    let err = load("faulty", 0, json!({"panic-in": "load"})).unwrap_err();
    assert!(
        matches!(&err, LoadError::LoadFailed { code: 1, why: Some(w), .. } if w.starts_with("load() panicked: ")),
        "{err:?}"
    );
    // Still alive, and the same file loads with other parameters.
    let mut lib = load("faulty", 1, json!({})).unwrap();
    assert_eq!(call(&mut lib, HookPoint::Pkt4Receive, 1).0, Ok(()));
}

/// A BOOTREQUEST with hardware address `mac` (the fixed header and the magic cookie).
fn query_from(mac: [u8; 6]) -> Vec<u8> {
    let mut q = vec![0u8; 240];
    q[0] = 1;
    q[1] = 1;
    q[2] = 6;
    q[28..34].copy_from_slice(&mac);
    q[236..240].copy_from_slice(&[99, 130, 83, 99]);
    q
}

#[test]
fn drop_by_mac_drops_listed_macs_only() {
    let mut lib = load(
        "drop_by_mac",
        0,
        json!({"macs": ["02:00:5e:00:53:01", "02:00:5E:00:53:FF"]}),
    )
    .unwrap();
    assert!(lib.implements(HookPoint::Pkt4Receive));
    assert!(!lib.implements(HookPoint::Lease4Select));
    let listed = query_from([2, 0, 0x5e, 0, 0x53, 1]);
    let upper = query_from([2, 0, 0x5e, 0, 0x53, 0xff]);
    let other = query_from([2, 0, 0x5e, 0, 0x53, 2]);
    let run = |lib: &mut NativeLibrary, q: &[u8]| {
        let (r, c) = call_with(lib, HookPoint::Pkt4Receive, 1, q, NextStep::Continue);
        r.unwrap();
        c.next_step
    };
    assert_eq!(run(&mut lib, &listed), NextStep::Drop);
    assert_eq!(run(&mut lib, &upper), NextStep::Drop);
    assert_eq!(run(&mut lib, &other), NextStep::Continue);
    assert_eq!(run(&mut lib, &listed[..30]), NextStep::Continue);
    assert_eq!(run(&mut lib, &[]), NextStep::Continue);
}

#[test]
fn lease_tag_sets_the_lease_context_at_lease_points() {
    let tag = json!({"rack": 4, "owner": ["lab", null]});
    let mut lib = load("lease_tag", 0, json!({"tag": tag})).unwrap();
    for point in [HookPoint::Lease4Select, HookPoint::Lease4Renew] {
        assert!(lib.implements(point));
        let (r, c) = call(&mut lib, point, 1);
        r.unwrap();
        let context: serde_json::Value = serde_json::from_str(&c.lease_context.unwrap()).unwrap();
        assert_eq!(context, json!({"tag": tag}));
    }
    assert!(!lib.implements(HookPoint::Pkt4Receive));
    // Not implemented: the call is left alone.
    let (r, c) = call_with(&mut lib, HookPoint::Pkt4Receive, 1, &[], NextStep::Skip);
    assert_eq!(
        (r, c.next_step, c.lease_context),
        (Ok(()), NextStep::Skip, None)
    );
}

#[test]
fn noop_implements_every_v4_hook_point_and_nothing_else() {
    let path = example("noop");
    let mut lib = NativeLibrary::load(&path, 0, &serde_json::Value::Null).unwrap();
    assert_eq!(lib.name(), path.to_str().unwrap());
    for point in HookPoint::ALL {
        assert_eq!(
            lib.implements(point),
            point.name().contains('4') || matches!(point, HookPoint::CommandProcessed),
            "{point}"
        );
        if lib.implements(point) {
            let (r, c) = call_with(&mut lib, point, 1, &[1, 2, 3], NextStep::Skip);
            assert_eq!(
                (r, c.next_step, c.lease_context),
                (Ok(()), NextStep::Skip, None)
            );
        }
    }
}

/// The C library of `tests/c/hook.c`, compiled against the header with the system's C
/// compiler into `dir`.
fn c_library(dir: &Path) -> std::path::PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dir.join("libc_hook.so");
    let status = std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg("-I")
        .arg(manifest.join("../hook-abi/include"))
        .arg(manifest.join("tests/c/hook.c"))
        .status()
        .expect("the C compiler runs");
    assert!(
        status.success(),
        "tests/c/hook.c compiles against the header"
    );
    out
}

#[test]
fn a_library_written_in_c_against_the_header_loads_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let path = c_library(dir.path());
    let query = [0u8; 300];

    let mut dropping = NativeLibrary::load(&path, 0, &json!({ "mode": "drop" })).unwrap();
    assert!(dropping.implements(HookPoint::Pkt4Receive));
    assert!(!dropping.implements(HookPoint::Pkt4Send));
    let (r, c) = call_with(
        &mut dropping,
        HookPoint::Pkt4Receive,
        1,
        &query,
        NextStep::Continue,
    );
    assert_eq!((r, c.next_step), (Ok(()), NextStep::Drop));
    let (r, c) = call_with(
        &mut dropping,
        HookPoint::Pkt4Receive,
        2,
        &[1, 2],
        NextStep::Skip,
    );
    assert_eq!(r, Err("callout returned 2".to_string()));
    assert_eq!(
        c.next_step,
        NextStep::Skip,
        "a failing callout's status stands"
    );

    let mut passing = NativeLibrary::load(&path, 1, &serde_json::Value::Null).unwrap();
    let (r, c) = call_with(
        &mut passing,
        HookPoint::Pkt4Receive,
        3,
        &query,
        NextStep::Continue,
    );
    assert_eq!((r, c.next_step), (Ok(()), NextStep::Continue));
    let (r, c) = call_with(
        &mut passing,
        HookPoint::Lease4Select,
        9,
        &query,
        NextStep::Continue,
    );
    assert_eq!(r, Ok(()));
    let context: serde_json::Value =
        serde_json::from_str(c.lease_context.as_deref().unwrap()).unwrap();
    assert_eq!(context, json!({ "from": "c", "sequence": 9 }));
}
