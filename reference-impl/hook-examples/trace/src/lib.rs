//! A hook library that writes down what the server does with it, for tests of hook order and
//! next steps.
//!
//! Parameters: `{"file": PATH, "name": NAME, "next-step": {"<hook point>": "continue" |
//! "skip" | "drop" | "park", ...}}`; `file` is required. It appends `0 NAME load` to the file
//! at load, `SEQUENCE NAME HOOK` at each callout (then sets the next step configured for that
//! hook point, if any) and `0 NAME unload` at unload, each line with one append-mode write so
//! that several instances can share a file. NAME defaults to `lib<library_index>`, which the
//! library only learns at its first callout: until then (the load line) it is `lib?`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use dhcplab_hook_sdk::{Call, HOOK_POINTS, Hook, NextStep};
use serde_json::Value;

/// One configured instance of the library.
struct Trace {
    path: PathBuf,
    file: File,
    /// The configured name, or the default once the library index is known.
    name: Option<String>,
    next_steps: HashMap<String, NextStep>,
}

impl Trace {
    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("lib?")
    }

    fn line(&mut self, sequence: u64, what: &str) -> Result<(), String> {
        let line = format!("{sequence} {} {what}\n", self.name());
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

fn next_steps(v: Option<&Value>) -> Result<HashMap<String, NextStep>, String> {
    let Some(v) = v else {
        return Ok(HashMap::new());
    };
    let map = v
        .as_object()
        .ok_or_else(|| format!("\"next-step\" must be an object, not {v}"))?;
    let mut out = HashMap::new();
    for (hook, step) in map {
        if !HOOK_POINTS.contains(&hook.as_str()) {
            return Err(format!("\"next-step\": {hook:?} is no hook point"));
        }
        let step = step.as_str().and_then(NextStep::from_name).ok_or_else(|| {
            format!("\"next-step\": {hook}: {step} is none of continue, skip, drop, park")
        })?;
        out.insert(hook.clone(), step);
    }
    Ok(out)
}

impl Hook for Trace {
    fn load(parameters: Value) -> Result<Self, String> {
        let path = parameters
            .get("file")
            .and_then(Value::as_str)
            .ok_or("parameter \"file\" (a path) is required")?;
        let name = match parameters.get("name") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => return Err(format!("\"name\" must be a string, not {v}")),
        };
        let next_steps = next_steps(parameters.get("next-step"))?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{path}: {e}"))?;
        let mut trace = Trace {
            path: PathBuf::from(path),
            file,
            name,
            next_steps,
        };
        trace.line(0, "load")?;
        Ok(trace)
    }

    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        if self.name.is_none() {
            self.name = Some(format!("lib{}", call.library_index()));
        }
        self.line(call.sequence(), call.hook())?;
        if let Some(step) = self.next_steps.get(call.hook()) {
            call.set_next_step(*step);
        }
        Ok(())
    }

    fn unload(&mut self) {
        if let Err(e) = self.line(0, "unload") {
            eprintln!("dhcplab-hook-trace: {e}");
        }
    }
}

dhcplab_hook_sdk::export!(Trace, all_v4);
