//! Differential test: for any JSON value serde_json writes (compact or pretty), this parser
//! reads the same value, and positions point at the values they belong to.

use dhcplab_kea_config::json::{self, Spanned, Value};
use proptest::prelude::*;

fn to_serde(v: &Spanned) -> serde_json::Value {
    match &v.value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        // Floats through Rust's correctly rounded parser: serde_json's default one is not exact.
        Value::Number(n) if n.contains(['.', 'e', 'E']) => {
            serde_json::json!(n.parse::<f64>().expect("float text"))
        }
        Value::Number(n) => serde_json::from_str(n).expect("integer text is JSON"),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_serde).collect()),
        Value::Object(members) => serde_json::Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.name.clone(), to_serde(v)))
                .collect(),
        ),
    }
}

/// Checks that every value's position is where its text starts.
fn positions_match(text: &str, v: &Spanned) -> bool {
    let first = text.get(v.pos.offset..).and_then(|t| t.chars().next());
    let ok = match &v.value {
        Value::Null => first == Some('n'),
        Value::Bool(b) => first == Some(if *b { 't' } else { 'f' }),
        Value::Number(_) => first.is_some_and(|c| c == '-' || c.is_ascii_digit()),
        Value::String(_) => first == Some('"'),
        Value::Array(_) => first == Some('['),
        Value::Object(_) => first == Some('{'),
    };
    ok && match &v.value {
        Value::Array(items) => items.iter().all(|i| positions_match(text, i)),
        Value::Object(members) => members.iter().all(|(k, v)| {
            text.get(k.pos.offset..).is_some_and(|t| t.starts_with('"')) && positions_match(text, v)
        }),
        _ => true,
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        any::<u64>().prop_map(|n| serde_json::json!(n)),
        (-1e6f64..1e6).prop_map(|f| serde_json::json!(f)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn reads_what_serde_json_writes(v in json_value(), pretty in any::<bool>()) {
        let text = if pretty { serde_json::to_string_pretty(&v) } else { serde_json::to_string(&v) }.expect("serialize");
        let parsed = json::parse(&text).expect("valid JSON parses");
        prop_assert_eq!(to_serde(&parsed), v);
        prop_assert!(positions_match(&text, &parsed));
    }
}
