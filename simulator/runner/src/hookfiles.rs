//! The files through which a run watches a server's hooks libraries, in both modes: the
//! example trace library's file and the run-script hook's record of its runs, and the
//! placeholders a scenario's configuration names them by.
//!
//! - `${hooks}`: the directory of the example hook libraries (`DHCPLAB_HOOKS_DIR`, else
//!   beside the running program, where `cargo build --workspace` puts them);
//! - `${trace}`: the server's trace file, for the trace library's `"file"` parameter;
//! - `${script}`: a script that records each run (its `$1` and environment), for the
//!   run-script hook's `"name"`. Virtual mode records the runs without running anything.

use std::path::{Path, PathBuf};

/// The start of the name of a run's directory for hook files (virtual mode), with the
/// process id, so that `dhcplab clean` knows the leftovers of a killed run.
pub fn hook_dir_prefix() -> String {
    format!("dhcplab-hooks-{}-", std::process::id())
}

/// Removes from `root` (the temporary directory) the hook directories of processes that no
/// longer run, as a killed run leaves them; the directories removed.
pub fn clean_hook_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("dhcplab-hooks-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() && std::fs::remove_dir_all(e.path()).is_ok()
        {
            removed.push(e.path());
        }
    }
    removed
}

/// One run of the run-script hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptRun {
    /// Its argument: the hook point's name.
    pub hook: String,
    /// Its environment.
    pub env: Vec<(String, String)>,
}

/// The file name of the example trace library, by which [`hooks_dir`] knows the directory.
const TRACE_LIBRARY: &str = "libdhcplab_hook_trace.so";

/// Where the example hook libraries are: `DHCPLAB_HOOKS_DIR`, else the running program's
/// directory or the one above it (a test binary lives in `target/<profile>/deps`).
pub fn hooks_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DHCPLAB_HOOKS_DIR") {
        return Some(PathBuf::from(d));
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(2)
        .find(|d| d.join(TRACE_LIBRARY).is_file())
        .map(Path::to_path_buf)
}

/// The placeholders of one server's configuration, and what they stand for.
#[derive(Debug, Clone)]
pub struct Placeholders {
    /// `${hooks}`, when the example libraries were found.
    pub hooks: Option<PathBuf>,
    /// `${trace}`.
    pub trace: PathBuf,
    /// `${script}`.
    pub script: PathBuf,
}

impl Placeholders {
    /// The placeholders of a server whose files live in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            hooks: hooks_dir(),
            trace: dir.join("hook-trace"),
            script: dir.join("hook-script"),
        }
    }

    /// `text` with every placeholder replaced.
    pub fn apply(&self, text: &str) -> String {
        let hooks = self.hooks.as_ref().map_or_else(
            || "[the example hook libraries are not built: run `cargo build --workspace` or set DHCPLAB_HOOKS_DIR]".to_string(),
            |d| d.display().to_string(),
        );
        text.replace("${hooks}", &hooks)
            .replace("${trace}", &self.trace.display().to_string())
            .replace("${script}", &self.script.display().to_string())
    }

    /// `value` with every placeholder in its strings replaced.
    pub fn apply_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.apply(s)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.apply_json(x)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), self.apply_json(x)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The `hooks-libraries` of `config` with their placeholders replaced.
    pub fn apply_config(
        &self,
        config: &dhcplab_kea_config::dhcp4::Dhcp4,
    ) -> dhcplab_kea_config::dhcp4::Dhcp4 {
        let mut c = config.clone();
        self.apply_libraries(&mut c.hooks_libraries);
        c
    }

    /// `libraries` (a `Dhcp4` or `Dhcp6` map's `hooks-libraries`) with the placeholders of
    /// their paths and parameters filled in.
    pub fn apply_libraries(&self, libraries: &mut [dhcplab_kea_config::common::HookLibrary]) {
        for lib in libraries {
            lib.library = self.apply(&lib.library);
            lib.parameters = self.apply_json(&lib.parameters);
        }
    }

    /// Where the `${script}` script writes its record.
    pub fn script_log(&self) -> PathBuf {
        self.script.with_extension("runs")
    }

    /// Writes the `${script}` script: it appends its `$1` and environment, NUL-separated, to
    /// [`Placeholders::script_log`] under a lock (Kea runs scripts without waiting for them,
    /// and gives them no PATH).
    pub fn write_script(&self) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let log = self.script_log();
        let text = format!(
            "#!/bin/sh\n# dhcplab: records each run of the run-script hook.\nexec 9>>'{}'\n/usr/bin/flock 9\nprintf '@run %s\\0' \"$1\" >&9\n/usr/bin/env -0 >&9\n",
            log.display()
        );
        std::fs::write(&self.script, text)?;
        std::fs::set_permissions(&self.script, std::fs::Permissions::from_mode(0o755))
    }

    /// The runs the `${script}` script recorded, in order (none before the first).
    pub fn script_runs(&self) -> Result<Vec<ScriptRun>, String> {
        match std::fs::read(self.script_log()) {
            Ok(bytes) => Ok(parse_script_runs(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("{}: {e}", self.script_log().display())),
        }
    }

    /// The calls the trace library wrote to `${trace}`, in order (none before the first).
    pub fn hook_calls(&self) -> Result<Vec<String>, String> {
        read_trace(&self.trace)
    }
}

/// The runs in a record the `${script}` script wrote: `@run HOOK` then `NAME=VALUE`
/// entries, each ending in NUL.
pub fn parse_script_runs(bytes: &[u8]) -> Vec<ScriptRun> {
    let mut runs: Vec<ScriptRun> = Vec::new();
    for entry in bytes.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        if let Some(hook) = text.strip_prefix("@run ") {
            runs.push(ScriptRun {
                hook: hook.to_string(),
                env: Vec::new(),
            });
        } else if let (Some(run), Some((k, v))) = (runs.last_mut(), text.split_once('=')) {
            run.env.push((k.to_string(), v.to_string()));
        }
    }
    runs
}

/// The calls in a trace file (`SEQUENCE LIBRARY HOOK` per line), each as `LIBRARY HOOK`.
pub fn read_trace(path: &Path) -> Result<Vec<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(_, call)| call.to_string()))
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_records_runs_that_parse_back() {
        let dir = tempfile::tempdir().expect("test");
        let p = Placeholders::in_dir(dir.path());
        p.write_script().expect("test");
        for hook in ["lease4_renew", "leases4_committed"] {
            let status = std::process::Command::new(&p.script)
                .arg(hook)
                .env_clear()
                .env("LEASE4_ADDRESS", "192.0.2.100")
                .env("LEASE4_HOSTNAME", "")
                .status()
                .expect("test");
            assert!(status.success());
        }
        let runs = p.script_runs().expect("test");
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].hook, "lease4_renew");
        assert_eq!(runs[1].hook, "leases4_committed");
        // The shell adds PWD of its own; what the hook gave is there as given.
        for (k, v) in [("LEASE4_ADDRESS", "192.0.2.100"), ("LEASE4_HOSTNAME", "")] {
            assert!(
                runs[1].env.contains(&(k.to_string(), v.to_string())),
                "{k}={v} in {:?}",
                runs[1].env
            );
        }
    }

    #[test]
    fn clean_removes_the_hook_directories_of_dead_processes_only() {
        let root = tempfile::tempdir().expect("test");
        // No process has a number this high (pid_max is at most 2^22).
        let dead = root.path().join("dhcplab-hooks-4000000000-abc");
        let alive = root.path().join(format!("{}x", hook_dir_prefix()));
        let other = root.path().join("dhcplab-hooks-notapid");
        for d in [&dead, &alive, &other] {
            std::fs::create_dir_all(d.join("srv")).expect("test");
        }
        assert_eq!(clean_hook_dirs(root.path()), std::slice::from_ref(&dead));
        assert!(!dead.exists() && alive.exists() && other.exists());
    }

    #[test]
    fn placeholders_are_replaced_and_traces_read() {
        let dir = tempfile::tempdir().expect("test");
        let p = Placeholders {
            hooks: Some(PathBuf::from("/opt/hooks")),
            ..Placeholders::in_dir(dir.path())
        };
        assert_eq!(
            p.apply(r#"{"library": "${hooks}/x.so", "file": "${trace}"}"#),
            format!(
                r#"{{"library": "/opt/hooks/x.so", "file": "{}"}}"#,
                dir.path().join("hook-trace").display()
            )
        );
        assert_eq!(p.hook_calls().expect("test"), Vec::<String>::new());
        std::fs::write(&p.trace, "0 A load\n1 A pkt4_receive\n").expect("test");
        assert_eq!(p.hook_calls().expect("test"), ["A load", "A pkt4_receive"]);
    }
}
