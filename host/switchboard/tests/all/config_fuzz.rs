//! Config parsing under arbitrary and mutated input: never a panic, and
//! every refusal says what is wrong (a key and a reason, or where the TOML
//! breaks). Runs in CI as a property test (`PROPTEST_CASES` runs longer).

use std::path::Path;

use proptest::prelude::*;
use switchboard::config::Config;

use crate::support::root;

/// Values a mutation puts after a key's `=`.
const VALUES: &[&str] = &[
    "\"\"",
    "-1",
    "0",
    "1e999",
    "18446744073709551616",
    "true",
    "\"env:\"",
    "\"env:SWITCHBOARD_FUZZ_UNSET\"",
    "\"file:/nonexistent\"",
    "[]",
    "{}",
    "[[1], \"x\"]",
    "\"http://\"",
    "\"ftp://x\"",
    "\"0.0.0.0:99999\"",
    "\"../../../etc/passwd\"",
    "\"\u{202e}\u{0000}\"",
    "\"ℵ\"",
];

fn example() -> String {
    std::fs::read_to_string(root().join("switchboard.example.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match Config::parse(text, "fuzz.toml", Path::new("/tmp")) {
        Ok(_) => Ok(()),
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                message.contains("config key `") || message.contains("invalid config fuzz.toml"),
                "unhelpful error: {message}"
            );
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500)
    ))]

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,300}") {
        check(&text)?;
    }

    #[test]
    fn toml_shaped_text_never_panics(
        lines in prop::collection::vec(
            prop_oneof![
                "\\[[a-z.]{1,20}\\]",
                "[a-z_]{1,16} = (\"[^\"\\\\]{0,20}\"|-?[0-9]{1,20}|true|false|\\[\\])",
            ],
            0..20,
        )
    ) {
        check(&lines.join("\n"))?;
    }

    #[test]
    fn a_mutated_example_config_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0..=VALUES.len()), 1..6)
    ) {
        let text = example();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        for (at, value) in edits {
            let i = at.index(lines.len());
            if value == VALUES.len() {
                lines.remove(i);
                continue;
            }
            if let Some((key, _)) = lines[i].split_once('=') {
                lines[i] = format!("{key}= {}", VALUES[value]);
            }
        }
        check(&lines.join("\n"))?;
    }
}
