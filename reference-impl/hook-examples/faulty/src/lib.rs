//! A hook library that misbehaves on purpose, to test that the server survives it.
//!
//! Parameters: `{"panic-in": "load" | "<hook point>"}` panics there; `{"fail-in": "load" |
//! "<hook point>"}` returns an error there (load refuses, a callout returns 1). Otherwise
//! every DHCPv4 callout does nothing.

use dhcplab_hook_sdk::{Call, HOOK_POINTS, Hook};
use serde_json::Value;

/// Where to misbehave.
struct Faulty {
    panic_in: Option<String>,
    fail_in: Option<String>,
}

fn place(parameters: &Value, key: &str) -> Result<Option<String>, String> {
    match parameters.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if s == "load" || HOOK_POINTS.contains(&s.as_str()) => {
            Ok(Some(s.clone()))
        }
        Some(v) => Err(format!(
            "\"{key}\": {v} is neither \"load\" nor a hook point"
        )),
    }
}

impl Hook for Faulty {
    fn load(parameters: Value) -> Result<Self, String> {
        let faulty = Faulty {
            panic_in: place(&parameters, "panic-in")?,
            fail_in: place(&parameters, "fail-in")?,
        };
        if faulty.panic_in.as_deref() == Some("load") {
            panic!("dhcplab-hook-faulty: panic in load, as configured");
        }
        if faulty.fail_in.as_deref() == Some("load") {
            return Err("dhcplab-hook-faulty: failing load, as configured".into());
        }
        Ok(faulty)
    }

    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        if self.panic_in.as_deref() == Some(call.hook()) {
            panic!(
                "dhcplab-hook-faulty: panic in {}, as configured",
                call.hook()
            );
        }
        if self.fail_in.as_deref() == Some(call.hook()) {
            return Err(format!("failing {}, as configured", call.hook()));
        }
        Ok(())
    }
}

dhcplab_hook_sdk::export!(Faulty, all_v4);
