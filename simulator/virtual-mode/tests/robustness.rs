//! No panic on any scenario text: the shipped files, damaged at random (bytes flipped, lines
//! dropped or repeated, numbers changed), either read with faults placed in the file, or read
//! and run to an outcome (those that load dhcplab's example hook libraries are only read).

use dhcplab_virtual_mode::{Options, run};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn shipped() -> Vec<(PathBuf, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    dhcplab_scenario::discover(&root)
        .expect("scenarios")
        .into_iter()
        .filter(|p| !p.to_string_lossy().contains("churn"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read");
            (p, text)
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Damage {
    Flip(usize, u8),
    DropLine(usize),
    RepeatLine(usize),
    Number(usize, u32),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        any::<usize>().prop_map(Damage::DropLine),
        any::<usize>().prop_map(Damage::RepeatLine),
        (any::<usize>(), any::<u32>()).prop_map(|(i, n)| Damage::Number(i, n)),
    ]
}

fn apply(text: &str, d: &Damage) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    match d {
        Damage::Flip(i, b) => {
            let mut bytes = text.as_bytes().to_vec();
            let n = bytes.len().max(1);
            if let Some(x) = bytes.get_mut(i % n) {
                *x = *b;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
        Damage::DropLine(i) => {
            let k = i % lines.len().max(1);
            lines
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, l)| *l)
                .collect()
        }
        Damage::RepeatLine(i) => {
            let k = i % lines.len().max(1);
            let mut out = String::new();
            for (j, l) in lines.iter().enumerate() {
                out.push_str(l);
                if j == k {
                    out.push_str(l);
                }
            }
            out
        }
        Damage::Number(i, n) => {
            let digits: Vec<usize> = text
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(k, _)| k)
                .collect();
            match digits.get(i % digits.len().max(1)) {
                Some(&k) => format!("{}{n}{}", &text[..k], &text[k + 1..]),
                None => text.to_string(),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn damaged_scenarios_never_panic(which in any::<usize>(), damages in prop::collection::vec(damage(), 1..4)) {
        let files = shipped();
        let (path, text) = &files[which % files.len()];
        let mut t = text.clone();
        for d in &damages {
            t = apply(&t, d);
        }
        match dhcplab_scenario::parse(&t, Path::new(path)) {
            Err(e) => {
                prop_assert!(!e.faults.is_empty());
                for f in &e.faults {
                    prop_assert!(f.place.line <= t.lines().count() + 1, "{:?}", f);
                }
            }
            Ok(s) => {
                let big = s.hosts.len() > 200;
                // A damaged parameter of a native library could point its files anywhere
                // (the trace library writes where "file" says): those are read, not run.
                let native = t.contains("libdhcplab_hook");
                if !big && !native {
                    let values = s.draw(1);
                    let s = if s.vary.is_empty() { s } else { match s.instance(&values) { Ok(i) => i, Err(_) => return Ok(()) } };
                    let o = run(&s, Options { seed: 1, record: true });
                    let _ = o.timeline.pcap();
                }
            }
        }
    }
}
