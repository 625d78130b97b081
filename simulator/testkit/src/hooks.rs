//! The example hook libraries (`reference-impl/hook-examples/*`) for tests, built first (once
//! per test binary) into the test's own target directory, where the simulator finds them
//! for `${hooks}`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The example packages the tests load.
const EXAMPLES: [&str; 5] = [
    "dhcplab-hook-trace",
    "dhcplab-hook-drop-by-mac",
    "dhcplab-hook-lease-tag",
    "dhcplab-hook-noop",
    "dhcplab-hook-faulty",
];

/// The directory cargo puts this build's libraries in: the test binary is
/// `<target>/<profile>/deps/<test>`, the libraries are in `<target>/<profile>/`.
fn profile_dir() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("{} is not in <target>/<profile>/deps", exe.display()))
}

fn build() -> Result<PathBuf, String> {
    let dir = profile_dir()?;
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: no profile name", dir.display()))?;
    let target_dir = dir
        .parent()
        .ok_or_else(|| format!("{}: no target directory", dir.display()))?;
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(&workspace)
        .arg("build")
        .arg("--target-dir")
        .arg(target_dir);
    // Cargo's dev and test profiles build into "debug"; any other is named after its directory.
    if profile != "debug" {
        cmd.args(["--profile", profile]);
    }
    for p in EXAMPLES {
        cmd.args(["-p", p]);
    }
    let out = cmd.output().map_err(|e| format!("running cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo build of the examples failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(dir)
}

/// The directory of the example libraries, built if need be.
///
/// # Panics
/// When they cannot be built.
pub fn examples_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match DIR.get_or_init(build) {
        Ok(dir) => dir.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// The path of example library `lib` ("trace", "drop_by_mac", ...), built if need be.
///
/// # Panics
/// When they cannot be built.
pub fn example(lib: &str) -> PathBuf {
    examples_dir().join(format!(
        "{}dhcplab_hook_{lib}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}
