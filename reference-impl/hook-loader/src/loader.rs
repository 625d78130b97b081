//! The server's loader of hook libraries ([`dhcplab_hooks::Loader`]) for drivers that run
//! native code: the daemon, and virtual mode in its own process.

use crate::NativeLibrary;
use dhcplab_hooks::{Library, Loader};
use serde_json::Value;
use std::path::Path;

/// Checks libraries without running them, for `dhcplab server -t`: a native library must
/// open and have the right `version()` (its `load()` is not run), a script must be an
/// executable file.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckingLoader;

/// What [`CheckingLoader`] gives for a library that passed: nothing to call.
#[derive(Debug)]
struct Checked(String);

impl Library for Checked {
    fn name(&self) -> &str {
        &self.0
    }

    fn implements(&self, _point: dhcplab_hooks::HookPoint) -> bool {
        false
    }

    fn call(&mut self, _call: &mut dhcplab_hooks::Call<'_>) -> Result<(), String> {
        Ok(())
    }
}

impl Loader for CheckingLoader {
    fn load(
        &mut self,
        library: &str,
        _parameters: &Value,
        _index: u32,
    ) -> Result<Box<dyn Library>, String> {
        NativeLibrary::check(Path::new(library)).map_err(|e| e.to_string())?;
        Ok(Box::new(Checked(library.to_string())))
    }

    fn check_script(&mut self, path: &str) -> Result<(), String> {
        executable(path)
    }
}

/// Kea's check of the run-script hook's script: a file it may execute, named as given.
fn executable(path: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Err(_) => Err(format!("File not found: {path}")),
        Ok(m) if !m.is_file() || m.permissions().mode() & 0o111 == 0 => {
            Err(format!("File not executable: {path}"))
        }
        Ok(_) => Ok(()),
    }
}

/// How the run-script hook's script is checked when the hook loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripts {
    /// It must be an executable file, as Kea's run_script requires: the driver runs it.
    Run,
    /// It is not looked at: the driver records the runs instead of running them (virtual
    /// mode).
    Record,
}

/// Loads [`NativeLibrary`] values for the server.
#[derive(Debug, Clone, Copy)]
pub struct NativeLoader {
    scripts: Scripts,
}

impl NativeLoader {
    /// A loader whose run-script scripts are checked as `scripts` says.
    pub fn new(scripts: Scripts) -> Self {
        Self { scripts }
    }
}

impl Loader for NativeLoader {
    fn load(
        &mut self,
        library: &str,
        parameters: &Value,
        index: u32,
    ) -> Result<Box<dyn Library>, String> {
        NativeLibrary::load(Path::new(library), index, parameters)
            .map(|l| Box::new(l) as Box<dyn Library>)
            .map_err(|e| e.to_string())
    }

    fn check_script(&mut self, path: &str) -> Result<(), String> {
        match self.scripts {
            Scripts::Record => Ok(()),
            Scripts::Run => executable(path),
        }
    }
}
