//! The inventory reader meets anything (issue 15): the example inventory with bytes flipped,
//! cut short or inserted, or arbitrary text, never panics; every problem is one line with its
//! line in the file (the error names the file: `N problem(s) in inventory FILE:` and then
//! `line L: …` per problem); the example still reads.

use std::path::Path;

use proptest::prelude::*;
use testkit::mutate::{apply, edits};

use super::{Inventory, InventoryError};

const EXAMPLE: &str = include_str!("../../../../data/testbed.example.toml");

/// Insertions likely to confuse the parser of TOML inventories (see [`testkit::mutate`]).
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\"",
    b"[",
    b"[[hosts]]\n",
    b"= ",
    b"#",
    b"port = 99999\n",
    b"role = \"server\"\n",
];

fn check(src: &str) -> Result<(), TestCaseError> {
    let lines = src.split('\n').count();
    if let Err(problems) = Inventory::parse(src, Path::new("/etc/cpe")) {
        prop_assert!(!problems.is_empty());
        for p in &problems {
            prop_assert!(
                (1..=lines).contains(&p.line),
                "line {} of {lines}: {}",
                p.line,
                p.message
            );
            prop_assert!(!p.message.contains('\n'), "{:?}", p.message);
        }
        let e = InventoryError::Invalid {
            path: "inv.toml".into(),
            problems,
        }
        .to_string();
        let mut rows = e.lines();
        prop_assert!(
            rows.next()
                .is_some_and(|h| h.ends_with("problem(s) in inventory inv.toml:")),
            "{e}"
        );
        prop_assert!(rows.all(|r| r.starts_with("  line ")), "{e}");
    }
    Ok(())
}

#[test]
fn the_example_reads() {
    if let Err(p) = Inventory::parse(EXAMPLE, Path::new("/etc/cpe")) {
        panic!("{p:?}");
    }
}

proptest! {
    #[test]
    fn a_mutated_inventory_never_panics_and_problems_say_their_line(
        edits in edits(TOKENS)
    ) {
        // The file is read as text: what is not UTF-8 stops at reading, with the file's name.
        check(&String::from_utf8_lossy(&apply(EXAMPLE.as_bytes(), &edits)))?;
    }

    #[test]
    fn arbitrary_text_never_panics_and_problems_say_their_line(text in "(?s).{0,300}") {
        check(&text)?;
    }
}
