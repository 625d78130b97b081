//! Bad input at every entry point of the `dhcplab` binary, one test per section of
//! `conformance/ROBUSTNESS.md`: scenario files, Kea configurations, hook libraries, captures,
//! the server's control socket and its lease files. Every bad input is built here, in a
//! temporary directory; every test checks the exit code (never 101, a panic) and that the
//! message names the place of the fault (file:line:column, byte offset, JSON path) as the
//! table says. None needs root or a network namespace: the server daemon runs with no
//! interfaces. The client agent's control socket is checked by the unit tests of its request
//! reader in `reference-impl/client-daemon/src/control.rs`, since the agent needs an interface.

use dhcplab_testkit::hooks::example;
use dhcplab_testkit::netns::{Process, wait_for};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of `dhcplab` gave.
#[derive(Debug)]
struct Out {
    /// The exit code (none when killed by a signal).
    code: Option<i32>,
    /// Standard output.
    stdout: String,
    /// Standard error.
    stderr: String,
}

/// Runs `dhcplab ARGS` to its end and checks it did not panic (exit 101).
fn dhcplab<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run dhcplab");
    let out = Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_ne!(out.code, Some(101), "dhcplab panicked: {out:?}");
    out
}

/// Runs `dhcplab ARGS`, killed when it takes longer than `limit` (then the test fails: a
/// hang); what it gave and how long it took.
fn dhcplab_within(args: &[&OsStr], limit: Duration) -> (Out, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (stdout, stderr) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dhcplab"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("stderr file"))
        .spawn()
        .expect("run dhcplab");
    let mut status = None;
    let ended = wait_for(limit, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    if !ended {
        let _ = child.kill();
        let _ = child.wait();
    }
    let took = started.elapsed();
    assert!(ended, "dhcplab {args:?} still ran after {limit:?}");
    let out = Out {
        code: status.and_then(|s| s.code()),
        stdout: std::fs::read_to_string(&stdout).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr).unwrap_or_default(),
    };
    assert_ne!(out.code, Some(101), "dhcplab panicked: {out:?}");
    (out, took)
}

/// Writes `bytes` as `dir/name`; its path.
fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write input");
    path
}

/// The place (line, column, both from 1, the column in characters) of the first `needle` in
/// `text`, as dhcplab reports places.
fn place(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in the input"));
    place_of_offset(text, at)
}

/// The place (line, column, both from 1, the column in characters) of byte offset `at` of
/// `text`.
fn place_of_offset(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// `NAME:LINE:COLUMN: ` for the first `needle` in `text`, written as file `name`.
fn at(name: &str, text: &str, needle: &str) -> String {
    let (line, column) = place(text, needle);
    format!("{name}:{line}:{column}: ")
}

/// A scenario that passes: a reference server and a client that binds.
const SCENARIO: &str = r#"[[host]]
name = "srv"
role = "server"
address = "192.0.2.1"
config = '''
{ "Dhcp4": { "interfaces-config": { "interfaces": [ "eth0" ] },
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.199" } ] } ] } }
'''

[[host]]
name = "c1"
role = "client"

[[step]]
expect = "message"
from = "srv"
to = "c1"
type = "ACK"
within = "10s"
"#;

/// Runs `dhcplab run` on `bytes` written as `name`; checks exit 2 and that every expected
/// text is on stderr.
fn scenario_refused(dir: &Path, name: &str, bytes: &[u8], expected: &[String]) {
    let file = write(dir, name, bytes);
    let out = dhcplab([OsStr::new("run"), file.as_os_str()]);
    assert_eq!(out.code, Some(2), "{name}: {out:?}");
    for e in expected {
        assert!(out.stderr.contains(e.as_str()), "{name}: {e:?} in {out:?}");
    }
}

/// ROBUSTNESS.md, "Scenario files": each fault at its file:line:column, exit 2.
#[test]
fn scenario_faults_are_placed_at_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    scenario_refused(
        d,
        "syntax.toml",
        b"[[host\n",
        &["syntax.toml:1:7: unclosed array table, expected `]]`".into()],
    );
    let unknown = "[[host]]\nname = \"a\"\nfoo = 1\n";
    scenario_refused(
        d,
        "unknown.toml",
        unknown.as_bytes(),
        &[format!(
            "{}unknown field `foo`, expected one of `name`",
            at("unknown.toml", unknown, "foo")
        )],
    );
    let wrong = "[[host]]\nname = 5\n";
    scenario_refused(
        d,
        "wrongtype.toml",
        wrong.as_bytes(),
        &[format!(
            "{}invalid type: integer `5`, expected a string",
            at("wrongtype.toml", wrong, "5")
        )],
    );
    let duration = SCENARIO.replace("\"10s\"", "\"3 fortnights\"");
    scenario_refused(
        d,
        "badduration.toml",
        duration.as_bytes(),
        &[format!(
            "{}\"3 fortnights\" is not a duration (write e.g. 90s",
            at("badduration.toml", &duration, "\"3 fortnights\"")
        )],
    );
    let outside = SCENARIO.replace("\"192.0.2.1\"", "\"10.1.2.3\"");
    scenario_refused(
        d,
        "outside.toml",
        outside.as_bytes(),
        &[format!(
            "{}10.1.2.3 is outside the ranges a run may use (192.0.2.0/24",
            at("outside.toml", &outside, "\"10.1.2.3\"")
        )],
    );
    let ghost = SCENARIO.replace("from = \"srv\"", "from = \"ghost\"");
    scenario_refused(
        d,
        "badstep.toml",
        ghost.as_bytes(),
        &[format!(
            "{}no host named \"ghost\"",
            at("badstep.toml", &ghost, "\"ghost\"")
        )],
    );
    scenario_refused(
        d,
        "empty.toml",
        b"",
        &["empty.toml:1:1: a scenario needs at least one [[host]]".into()],
    );
    // The bad byte is the first of line 2, after four good ones.
    scenario_refused(
        d,
        "garbage.toml",
        b"abc\n\xc9\x01\xff",
        &["garbage.toml:2:1: not UTF-8 text: byte 0xc9 at byte offset 4".into()],
    );
    // Nesting deep enough to overflow a recursive parser's stack: the TOML reader's own
    // limit refuses it.
    let deep = format!("x = {}\n", "[".repeat(100_000));
    scenario_refused(
        d,
        "deep.toml",
        deep.as_bytes(),
        &["deep.toml:1:".into(), "max recursion depth met".into()],
    );
    let deep_tables = format!("x = {}\n", "{ a = ".repeat(100_000));
    scenario_refused(
        d,
        "deeptables.toml",
        deep_tables.as_bytes(),
        &[
            "deeptables.toml:1:".into(),
            "max recursion depth met".into(),
        ],
    );
}

/// ROBUSTNESS.md, "Scenario files", huge files: a file over 4 MiB (50 MB of comments before a
/// good scenario, 50 MB of binary garbage) is refused at once, unread; 3.5 MB of comments
/// before a scenario runs, and 3.5 MB of words that are not TOML are refused at the first of
/// them. None is killed or hangs (the limit is far above what each takes).
#[test]
fn huge_scenario_files_run_or_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let limit = Duration::from_secs(180);
    let comment = "# a comment line that fills the file up, as a generated file might\n";
    let too_long = "the file is longer than 4194304 bytes, the most a scenario may be";
    let mut text = comment.repeat(50 * 1024 * 1024 / comment.len());
    text.push_str(SCENARIO);
    let file = write(d, "comments.toml", &text);
    drop(text);
    let (out, took) = dhcplab_within(&[OsStr::new("run"), file.as_os_str()], limit);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("comments.toml:1:1: {too_long}")),
        "{out:?}"
    );
    eprintln!("50 MB of comments and a scenario: {took:?}");
    std::fs::remove_file(&file).expect("remove");

    let mut text = comment.repeat(3_500_000 / comment.len());
    text.push_str(SCENARIO);
    let file = write(d, "comments.toml", &text);
    let (out, took) = dhcplab_within(&[OsStr::new("run"), file.as_os_str()], limit);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("1 passed, 0 failed"), "{out:?}");
    eprintln!("3.5 MB of comments and a scenario: {took:?}");

    // Bytes from a fixed xorshift generator.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let garbage: Vec<u8> = std::iter::repeat_with(|| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed.to_le_bytes()[0]
    })
    .take(50 * 1024 * 1024)
    .collect();
    let file = write(d, "garbage.toml", &garbage);
    drop(garbage);
    let (out, took) = dhcplab_within(&[OsStr::new("run"), file.as_os_str()], limit);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("garbage.toml:1:1: {too_long}")),
        "{out:?}"
    );
    eprintln!("50 MB of binary garbage: {took:?}");
    std::fs::remove_file(&file).expect("remove");

    // Text that is not TOML: the reader goes through all of it before it reports the first
    // fault.
    let words = "zzzz ".repeat(20) + "\n";
    let file = write(d, "words.toml", words.repeat(3_500_000 / words.len()));
    let (out, took) = dhcplab_within(&[OsStr::new("run"), file.as_os_str()], limit);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("words.toml:1:6: key with no value, expected `=`"),
        "{out:?}"
    );
    eprintln!("3.5 MB of words: {took:?}");
}

/// Runs `dhcplab server -t` on `text` written as `name`; checks exit 2, that each fault is on
/// stderr as `NAME:LINE:COLUMN: PATH: MESSAGE` at its place, and the count of faults.
fn config_refused(dir: &Path, name: &str, text: &str, faults: &[((usize, usize), &str)]) {
    let file = write(dir, name, text);
    let out = dhcplab([OsStr::new("server"), OsStr::new("-t"), file.as_os_str()]);
    assert_eq!(out.code, Some(2), "{name}: {out:?}");
    for ((line, column), says) in faults {
        let want = format!("{name}:{line}:{column}: {says}");
        assert!(out.stderr.contains(&want), "{name}: {want:?} in {out:?}");
    }
    assert!(
        out.stderr.contains(&format!(
            "{name}: {} faults; configuration not accepted",
            faults.len()
        )),
        "{name}: {out:?}"
    );
}

/// ROBUSTNESS.md, "Kea configurations": every fault at file:line:column with its JSON path,
/// exit 2; overlapping subnets of different prefixes are accepted, as Kea accepts them.
#[test]
fn kea_configuration_faults_are_placed_with_their_json_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // The text ends at line 2, column 1.
    config_refused(
        d,
        "k_invalid.json",
        "{ \"Dhcp4\": \n",
        &[((2, 1), "(syntax): the text ends where a value should be")],
    );
    config_refused(
        d,
        "k_empty.json",
        "",
        &[((1, 1), "(syntax): the text ends where a value should be")],
    );
    config_refused(
        d,
        "k_none.json",
        "{ \"Dhcp5\": {} }",
        &[((1, 1), "Dhcp4: the file has no Dhcp4 map")],
    );
    let types = r#"{ "Dhcp4": { "subnet4": [ { "id": "one", "subnet": "192.0.2.0/24", "pools": [ { "pool": 5 } ] } ] } }"#;
    config_refused(
        d,
        "k_types.json",
        types,
        &[
            (
                place(types, "\"one\""),
                "Dhcp4.subnet4[0].id: expected an integer from 1 to 4294967295, found a string",
            ),
            (
                place(types, "5 }"),
                "Dhcp4.subnet4[0].pools[0].pool: expected a string, found a number",
            ),
        ],
    );
    let unknown = r#"{ "Dhcp4": { "valid-lifetyme": 5, "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "bogus": 1 } ] } }"#;
    config_refused(
        d,
        "k_unknown.json",
        unknown,
        &[
            (
                place(unknown, "\"valid-lifetyme\""),
                "Dhcp4.valid-lifetyme: unknown key",
            ),
            (
                place(unknown, "\"bogus\""),
                "Dhcp4.subnet4[0].bogus: unknown key",
            ),
        ],
    );
    let pool = r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "198.51.100.1 - 198.51.100.9" } ] } ] } }"#;
    config_refused(
        d,
        "k_pool.json",
        pool,
        &[(
            place(pool, "\"198.51"),
            "Dhcp4.subnet4[0].pools[0].pool: pool \"198.51.100.1 - 198.51.100.9\" is not inside the subnet",
        )],
    );
    let pool6 = r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "pools": [ { "pool": "2001:db8:2::1 - 2001:db8:2::9" } ] } ] } }"#;
    config_refused(
        d,
        "k_pool6.json",
        pool6,
        &[(
            place(pool6, "\"2001:db8:2::1"),
            "Dhcp6.subnet6[0].pools[0].pool: pool \"2001:db8:2::1 - 2001:db8:2::9\" is not inside the subnet",
        )],
    );
    let missing = r#"{ "Dhcp4": { "subnet4": [ { "id": 1 } ] } }"#;
    config_refused(
        d,
        "k_missing.json",
        missing,
        &[(
            place(missing, "{ \"id\""),
            "Dhcp4.subnet4[0]: a subnet needs \"subnet\"",
        )],
    );
    // Faults between subnets are placed at the later subnet's map; the path names the key.
    let same = r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" }, { "id": 2, "subnet": "192.0.2.0/24" } ] } }"#;
    config_refused(
        d,
        "k_same.json",
        same,
        &[(
            place(same, "{ \"id\": 2"),
            "Dhcp4.subnet4[1].subnet: the same prefix as subnet4[0]",
        )],
    );
    let overlap = r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.10 - 192.0.2.20" } ] }, { "id": 2, "subnet": "192.0.2.0/25", "pools": [ { "pool": "192.0.2.15 - 192.0.2.30" } ] } ] } }"#;
    config_refused(
        d,
        "k_overlap.json",
        overlap,
        &[(
            place(overlap, "{ \"id\": 2"),
            "Dhcp4.subnet4[1].pools[0]: pool overlaps subnet4[0].pools[0]",
        )],
    );
    let dup = r#"{ "Dhcp6": { "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64" }, { "id": 1, "subnet": "2001:db8:2::/64" } ] } }"#;
    config_refused(
        d,
        "k_dupid.json",
        dup,
        &[(
            place_of_offset(dup, dup.rfind("{ \"id\"").expect("second subnet")),
            "Dhcp6.subnet6[1].id: subnet id 1 is also used by subnet6[0]",
        )],
    );
    let prefixes = write(
        d,
        "k_prefixes.json",
        r#"{ "Dhcp4": { "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24" }, { "id": 2, "subnet": "192.0.2.128/25" } ] } }"#,
    );
    let out = dhcplab([OsStr::new("server"), OsStr::new("-t"), prefixes.as_os_str()]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("configuration OK (2 subnets, 0 pools, 0 reservations)"),
        "{out:?}"
    );
}

/// ROBUSTNESS.md, "Kea configurations": a file that is not UTF-8 is refused at the place of its
/// first bad byte by `-t` and `-c` alike; nesting 100,000 deep is refused at the 129th level,
/// at its place, without overflowing the stack.
#[test]
fn kea_configuration_garbage_and_deep_nesting_are_refused_at_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let garbage = write(d, "k_garbage.json", b"{\xc9 \"Dhcp4\": {} }");
    for flag in ["-t", "-c"] {
        let out = dhcplab([OsStr::new("server"), OsStr::new(flag), garbage.as_os_str()]);
        assert_eq!(out.code, Some(2), "{flag}: {out:?}");
        assert!(
            out.stderr
                .contains("k_garbage.json:1:2: not UTF-8 text: byte 0xc9 at byte offset 1"),
            "{flag}: {out:?}"
        );
    }
    let prefix = "{\"Dhcp4\": {\"subnet4\": ";
    let cases = [
        ("k_deep.json", "[".repeat(100_000), 129),
        (
            "k_deep_subnets.json",
            format!("{prefix}{}{}}}}}", "[".repeat(100_000), "]".repeat(100_000)),
            // Two maps, then the 127th '[' is the 129th level.
            prefix.len() + 127,
        ),
        ("k_deep_maps.json", "{\"a\":".repeat(100_000), 5 * 128 + 1),
    ];
    for (name, text, column) in cases {
        let file = write(d, name, &text);
        for flag in ["-t", "-c"] {
            let out = dhcplab([OsStr::new("server"), OsStr::new(flag), file.as_os_str()]);
            assert_eq!(out.code, Some(2), "{name} {flag}: {out:?}");
            let want = format!("{name}:1:{column}: (syntax): nested deeper than 128 levels");
            assert!(
                out.stderr.contains(&want),
                "{name} {flag}: {want} in {out:?}"
            );
        }
    }
}

/// A configuration with no interfaces whose files (control socket, leases, log) are in `dir`,
/// with the hook library entry `hook` when given.
fn server_config(dir: &Path, hook: Option<serde_json::Value>) -> String {
    let mut config = serde_json::json!({ "Dhcp4": {
        "interfaces-config": { "interfaces": [] },
        "control-socket": { "socket-type": "unix", "socket-name": dir.join("ctl.sock") },
        "lease-database": { "type": "memfile", "name": dir.join("leases4.csv"), "lfc-interval": 0 },
        "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.200" } ] } ],
        "loggers": [ { "name": "kea-dhcp4", "severity": "INFO", "output_options": [ { "output": dir.join("server.log") } ] } ]
    } });
    if let Some(hook) = hook {
        config["Dhcp4"]["hooks-libraries"] = serde_json::json!([hook]);
    }
    serde_json::to_string_pretty(&config).expect("configuration text")
}

/// Compiles C `source` with the system's C compiler into the shared object `dir/name`.
fn c_library(dir: &Path, name: &str, source: &str) -> PathBuf {
    let c = write(dir, &format!("{name}.c"), source);
    let out = dir.join(name);
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-shared", "-fPIC", "-o"])
        .arg(&out)
        .arg(&c)
        .status()
        .expect("the C compiler runs");
    assert!(status.success(), "{name} compiles");
    out
}

/// Runs `dhcplab server FLAG` on a configuration loading `hook`; checks it is refused (exit 2)
/// with the fault placed at the library's entry, naming the library, and saying `says`.
fn hook_case(dir: &Path, flag: &str, hook: serde_json::Value, says: &str) -> Out {
    let library = hook["library"].as_str().expect("library").to_string();
    let text = server_config(dir, Some(hook));
    let file = write(dir, "hooks.json", &text);
    let out = dhcplab([OsStr::new("server"), OsStr::new(flag), file.as_os_str()]);
    assert_eq!(out.code, Some(2), "{library} {flag}: {out:?}");
    // The entry is the map that holds "library".
    let key = text.find("\"library\"").expect("library key");
    let entry = text[..key].rfind('{').expect("entry");
    let (line, column) = place_of_offset(&text, entry);
    let want = format!(
        "hooks.json:{line}:{column}: Dhcp4.hooks-libraries[0] ({library}): hook library {library}: {says}"
    );
    assert!(out.stderr.contains(&want), "{want} in {out:?}");
    out
}

/// ROBUSTNESS.md, "Hook libraries": every library that cannot be used is refused, placed at
/// its entry in `hooks-libraries`, exit 2; a `load()` that fails or panics is reported by
/// `-c` (the panic is the library's, caught), and `-t` checks the version only.
#[test]
fn hook_library_faults_are_placed_at_the_librarys_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let text = write(d, "libtext.so", "this is not ELF\n");
    let folder = d.join("libdir.so");
    std::fs::create_dir(&folder).expect("mkdir");
    let no_version = c_library(d, "libnoversion.so", "int nothing(void) { return 0; }\n");
    let v999 = c_library(
        d,
        "libv999.so",
        "unsigned int version(void) { return 999; }\n",
    );
    let kea = c_library(
        d,
        "libkea.so",
        "unsigned int version(void) { return 20603; }\n",
    );
    let lib = |p: &Path| serde_json::json!({ "library": p });
    for flag in ["-t", "-c"] {
        hook_case(d, flag, lib(&d.join("libmissing.so")), "no such file");
        hook_case(
            d,
            flag,
            lib(&text),
            "not a loadable shared object: dlopen failed: ",
        );
        hook_case(
            d,
            flag,
            lib(&folder),
            "not a loadable shared object: dlopen failed: ",
        );
        hook_case(
            d,
            flag,
            lib(&no_version),
            "exports no version() function, so it is not a dhcplab hook library",
        );
        hook_case(
            d,
            flag,
            lib(&v999),
            "version() returned 999, but this server speaks dhcplab hook ABI version 1",
        );
        let out = hook_case(
            d,
            flag,
            lib(&kea),
            "version() returned 20603, but this server speaks dhcplab hook ABI version 1",
        );
        assert!(
            out.stderr.contains("looks like a Kea hook library"),
            "{out:?}"
        );
    }
    let faulty = example("faulty");
    let with = |parameters: serde_json::Value| serde_json::json!({ "library": faulty, "parameters": parameters });
    hook_case(
        d,
        "-c",
        with(serde_json::json!({ "fail-in": "load" })),
        "load() failed with code 1: dhcplab-hook-faulty: failing load, as configured",
    );
    let out = hook_case(
        d,
        "-c",
        with(serde_json::json!({ "panic-in": "load" })),
        "load() failed with code 1: load() panicked: dhcplab-hook-faulty: panic in load, as configured",
    );
    // The only panic message is the library's own, printed by its runtime before the SDK
    // caught it; dhcplab itself exits 2, not 101.
    let panics: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("panicked at"))
        .collect();
    assert!(
        panics.len() == 1 && panics[0].contains("reference-impl/hook-examples/faulty/"),
        "{out:?}"
    );
    hook_case(
        d,
        "-c",
        with(serde_json::json!({ "panic-in": 5 })),
        "load() failed with code 1: \"panic-in\": 5 is neither \"load\" nor a hook point",
    );
    // `-t` does not call load(), as Kea's configuration check does not.
    let file = write(
        d,
        "hooks.json",
        server_config(d, Some(with(serde_json::json!({ "fail-in": "load" })))),
    );
    let out = dhcplab([OsStr::new("server"), OsStr::new("-t"), file.as_os_str()]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("configuration OK"), "{out:?}");
}

/// A classic pcap file header (little-endian, Ethernet) with `snaplen`.
fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&snaplen.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

/// A pcap record header claiming `length` bytes.
fn pcap_record_header(length: u32) -> Vec<u8> {
    [0u32, 0, length, length]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}

/// An Ethernet frame that is no DHCP: an ARP packet of zeros.
fn arp_frame() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
    f.extend_from_slice(&[0; 28]);
    f
}

/// A pcapng section header block whose length fields say `length` (28 when sound).
fn pcapng_section_header(length: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [0x0a0d_0d0a_u32, length, 0x1a2b_3c4d] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    b.extend_from_slice(&length.to_le_bytes());
    b
}

/// ROBUSTNESS.md, "Captures": decode and replay refuse a bad capture with the byte offset of
/// the record at fault, exit 2; a capture with nothing to decode decodes to counts (exit 0)
/// and has nothing to replay (exit 2).
#[test]
fn bad_captures_are_refused_with_the_byte_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let arp = arp_frame();
    let record = [pcap_record_header(arp.len() as u32), arp.clone()].concat();
    let mut huge = pcap_header(65535);
    huge.extend(pcap_record_header(0xffff_fff0));
    huge.extend(&arp);
    let mut idb = Vec::new();
    for w in [1u32, 20] {
        idb.extend_from_slice(&w.to_le_bytes());
    }
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    idb.extend_from_slice(&20u32.to_le_bytes());
    // An enhanced packet block claiming 4096 bytes where the file has 70.
    let mut epb = Vec::new();
    for w in [6u32, 4096, 0, 0, 0, arp.len() as u32, arp.len() as u32] {
        epb.extend_from_slice(&w.to_le_bytes());
    }
    epb.extend_from_slice(&arp);
    let truncated = "capture is truncated: it ends inside the record that starts at byte";
    let refused: [(&str, Vec<u8>, String); 7] = [
        ("empty.pcap", Vec::new(), format!("{truncated} 0")),
        (
            "cutheader.pcap",
            pcap_header(65535)[..10].to_vec(),
            format!("{truncated} 0"),
        ),
        (
            "magic.pcap",
            [&[0, 1, 2, 3][..], &pcap_header(65535)[4..]].concat(),
            "not a pcap or pcapng file (unknown magic number)".into(),
        ),
        (
            "cutrecord.pcap",
            [pcap_header(65535), record[..30].to_vec()].concat(),
            format!("{truncated} 24"),
        ),
        ("hugerecord.pcap", huge, format!("{truncated} 24")),
        (
            "badsection.pcapng",
            pcapng_section_header(7),
            "malformed capture at byte 0: the section header block is invalid (its block length or byte-order magic)".into(),
        ),
        (
            "badpacket.pcapng",
            [pcapng_section_header(28), idb, epb].concat(),
            format!("{truncated} 48"),
        ),
    ];
    for (name, bytes, says) in refused {
        let file = write(d, name, bytes);
        let out = dhcplab([OsStr::new("decode"), file.as_os_str()]);
        assert_eq!(out.code, Some(2), "decode {name}: {out:?}");
        assert!(
            out.stderr.contains(&format!("{name}: {says}")),
            "decode {name}: {says} in {out:?}"
        );
        let out = dhcplab([OsStr::new("replay"), file.as_os_str()]);
        assert_eq!(out.code, Some(2), "replay {name}: {out:?}");
        assert!(out.stderr.contains(&says), "replay {name}: {out:?}");
    }
    let nothing = [
        ("headeronly.pcap", pcap_header(65535), 0),
        ("arp.pcap", [pcap_header(65535), record.clone()].concat(), 1),
        ("snaplen0.pcap", [pcap_header(0), record].concat(), 1),
    ];
    for (name, bytes, others) in nothing {
        let file = write(d, name, bytes);
        let out = dhcplab([OsStr::new("decode"), file.as_os_str()]);
        assert_eq!(out.code, Some(0), "decode {name}: {out:?}");
        assert!(
            out.stdout.contains(&format!(
                "# 0 DHCPv4 and 0 DHCPv6 messages decoded (0 with malformed options), 0 malformed DHCP payloads, 0 undecodable frames, {others} other frames"
            )),
            "decode {name}: {out:?}"
        );
        let out = dhcplab([OsStr::new("replay"), file.as_os_str()]);
        assert_eq!(out.code, Some(2), "replay {name}: {out:?}");
        assert!(
            out.stderr.contains(&format!(
                "{name}: the capture holds nothing to replay: no DHCPv4 or DHCPv6 request"
            )),
            "replay {name}: {out:?}"
        );
    }
    for (path, says) in [
        (
            d.join("missing.pcap"),
            "cannot read capture: No such file or directory",
        ),
        (d.to_path_buf(), "cannot read capture: Is a directory"),
    ] {
        let out = dhcplab([OsStr::new("decode"), path.as_os_str()]);
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains(says), "{out:?}");
    }
}

/// The server daemon on a configuration with no interfaces, its files in `dir`, started and
/// its control socket up.
fn start_server(dir: &Path) -> Process {
    let file = write(dir, "server.json", server_config(dir, None));
    let mut c = Command::new(env!("CARGO_BIN_EXE_dhcplab"));
    c.args(["server", "-c"]).arg(&file);
    let mut p = Process::start(c, "dhcplab server", &dir.join("server.out"));
    let sock = dir.join("ctl.sock");
    assert!(
        wait_for(Duration::from_secs(10), || sock.exists() || !p.running()) && p.running(),
        "not started: {}",
        std::fs::read_to_string(dir.join("server.out")).unwrap_or_default()
    );
    p
}

/// Sends `request` to the control socket in `dir` and reads its answer (one JSON object).
fn command(dir: &Path, request: &str) -> serde_json::Value {
    let answer =
        dhcplab_adapters::exchange(&dir.join("ctl.sock"), Duration::from_secs(30), request)
            .expect("control socket exchange");
    serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer:?}"))
}

/// Reads one answer from `stream`: up to the end of a whole JSON value, the end of the stream,
/// or a read error (a daemon that closes with our bytes unread resets the connection after
/// its answer).
fn read_answer(stream: &mut UnixStream) -> serde_json::Value {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Ok(answer) = serde_json::from_slice(&bytes) {
            return answer;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(&bytes)))
}

/// Checks `answer` has result `result` and a text containing `says`.
fn assert_answer(answer: &serde_json::Value, result: i64, says: &str) {
    assert_eq!(answer["result"].as_i64(), Some(result), "{answer}");
    assert!(
        answer["text"].as_str().is_some_and(|t| t.contains(says)),
        "{says:?} in {answer}"
    );
}

/// Stops `server` with SIGTERM and checks it exits 0.
fn stop(mut server: Process) {
    server.signal("TERM");
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(Some(0)));
}

/// ROBUSTNESS.md, "Server control socket": bad commands are answered with result 1 (2 for an
/// unknown command) and say what is wrong and where; deeply nested arguments are refused
/// without overflowing the stack; a configuration that is not UTF-8 is refused by
/// config-reload at its place. The daemon serves on after all of them.
#[test]
fn control_socket_bad_commands_are_answered_with_the_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let server = start_server(d);
    assert_answer(
        &command(d, "{\"command\" \"list-commands\"}"),
        1,
        "invalid command: not JSON at line 1, column 12: expected `:`",
    );
    assert_answer(
        &command(d, "nonsense"),
        1,
        "invalid command: not JSON at line 1, column",
    );
    assert_answer(
        &command(d, "[\"list-commands\"]"),
        1,
        "Invalid command Element specified, expected map",
    );
    assert_answer(
        &command(d, "{\"arguments\": {}}"),
        1,
        "does not contain mandatory 'command'",
    );
    assert_answer(
        &command(d, "{\"command\": \"no-such-command\"}"),
        2,
        "'no-such-command' command not supported.",
    );
    assert_answer(
        &command(
            d,
            r#"{"command": "lease4-add", "arguments": {"ip-address": 5, "hw-address": "02:00:00:00:00:01"}}"#,
        ),
        1,
        "'ip-address' is not a string",
    );
    for (open, close) in [("[", "]"), ("{\"a\": ", "}")] {
        let deep = format!(
            "{{\"command\": \"config-test\", \"arguments\": {}{}}}",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        assert_answer(
            &command(d, &deep),
            1,
            "invalid command: not JSON at line 1, column",
        );
        assert_answer(&command(d, &deep), 1, "recursion limit exceeded");
    }
    write(d, "server.json", b"{\xc9 \"Dhcp4\": {} }");
    assert_answer(
        &command(d, "{\"command\": \"config-reload\"}"),
        1,
        "server.json:1:2: not UTF-8 text: byte 0xc9 at byte offset 1",
    );
    assert_eq!(
        command(d, "{\"command\": \"list-commands\"}")["result"],
        0,
        "still serving"
    );
    stop(server);
}

/// ROBUSTNESS.md, "Server control socket": a 10 MB command is answered in seconds (it took
/// 131 s when the buffer was parsed again at every read), and one over 64 MiB is refused
/// with its reason.
#[test]
fn control_socket_big_commands_are_followed_and_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let server = start_server(d);
    let big = format!(
        "{{\"command\": \"list-commands\", \"arguments\": {{\"padding\": \"{}\"}}}}",
        "x".repeat(10 * 1024 * 1024)
    );
    let started = Instant::now();
    let answer = command(d, &big);
    let took = started.elapsed();
    assert_eq!(answer["result"], 0, "{answer}");
    assert!(took < Duration::from_secs(20), "10 MB took {took:?}");
    eprintln!("10 MB command answered in {took:?}");

    // An array that never closes: the daemon stops reading past 64 MiB and answers.
    let mut stream = UnixStream::connect(d.join("ctl.sock")).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let feeder = std::thread::spawn(move || {
        let spaces = vec![b' '; 1 << 20];
        let _ = writer.write_all(b"[");
        for _ in 0..=64 {
            if writer.write_all(&spaces).is_err() {
                break;
            }
        }
    });
    let answer = read_answer(&mut stream);
    drop(stream);
    let _ = feeder.join();
    assert_answer(
        &answer,
        1,
        "command refused: it is longer than 67108864 bytes",
    );
    assert_eq!(
        command(d, "{\"command\": \"list-commands\"}")["result"],
        0,
        "still serving"
    );
    stop(server);
}

/// ROBUSTNESS.md, "Server control socket": a client that sends nothing, or part of a command,
/// is answered after 10 s with what was discarded, and other clients are served meanwhile.
#[test]
fn control_socket_silent_clients_time_out_while_others_are_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let server = start_server(d);
    let open = |sent: &[u8]| {
        let mut s = UnixStream::connect(d.join("ctl.sock")).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s.write_all(sent).expect("send");
        s
    };
    let started = Instant::now();
    let silent = open(b"");
    let partial = open(b"{\"comm");
    // Served at once, though two connections wait.
    let answer = command(d, "{\"command\": \"list-commands\"}");
    assert_eq!(answer["result"], 0, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    for (mut stream, bytes) in [(silent, 0), (partial, 6)] {
        let answer = read_answer(&mut stream);
        assert_answer(
            &answer,
            1,
            &format!("timed out, discarded partial command of {bytes} bytes"),
        );
    }
    assert!(started.elapsed() >= Duration::from_secs(9));
    stop(server);
}

/// ROBUSTNESS.md, "Lease files": rows with the wrong column count or a bad address are
/// reported by line and column and skipped, the rest loads; a last line cut short gets its
/// line end before the first row is appended, so that row survives a restart.
#[test]
fn lease_file_bad_rows_are_skipped_and_a_cut_last_line_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let good = "192.0.2.150,02:00:00:00:00:01,,3600,4000000000,1,0,0,,0,";
    write(
        d,
        "leases4.csv",
        format!(
            "{}\n{good}\n192.0.2.151,02:00:00:00:00:02,,3600\n192.0.2.999,02:00:00:00:00:03,,3600,4000000000,1,0,0,,0,\n192.0.2.153,02:00:00",
            dhcplab_memfile::HEADER4
        ),
    );
    let server = start_server(d);
    let log = std::fs::read_to_string(d.join("server.log")).expect("log");
    for says in [
        "leases4.csv: line 3: 4 fields where the header names 11; row skipped",
        "line 4: column address: \"192.0.2.999\" is not an IPv4 address; row skipped",
        "line 5: ",
    ] {
        assert!(log.contains(says), "{says:?} in {log}");
    }
    let added = command(
        d,
        r#"{"command": "lease4-add", "arguments": {"ip-address": "192.0.2.160", "hw-address": "02:00:00:00:00:60"}}"#,
    );
    assert_eq!(added["result"], 0, "{added}");
    stop(server);
    let server = start_server(d);
    let all = command(d, "{\"command\": \"lease4-get-all\"}");
    let mut addresses: Vec<&str> = all["arguments"]["leases"]
        .as_array()
        .expect("leases")
        .iter()
        .filter_map(|l| l["ip-address"].as_str())
        .collect();
    addresses.sort_unstable();
    assert_eq!(addresses, ["192.0.2.150", "192.0.2.160"], "{all}");
    stop(server);
}
