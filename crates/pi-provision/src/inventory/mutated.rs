//! The inventory reader meets anything (issue 15): the example inventory with bytes flipped,
//! cut short or inserted, or arbitrary text, never panics; every problem is one line with its
//! line in the file (the error names the file: `N problem(s) in inventory FILE:` and then
//! `line L: …` per problem); the example still reads.

use std::path::Path;

use proptest::prelude::*;

use super::{Inventory, InventoryError};

const EXAMPLE: &str = include_str!("../../../../data/testbed.example.toml");

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 1u8..).prop_map(|(i, m)| Edit::Flip(i, m)),
        any::<usize>().prop_map(Edit::Truncate),
        (
            any::<usize>(),
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..6),
                proptest::sample::select(vec![
                    b"\n".to_vec(),
                    b"\"".to_vec(),
                    b"[".to_vec(),
                    b"[[hosts]]\n".to_vec(),
                    b"= ".to_vec(),
                    b"#".to_vec(),
                    b"port = 99999\n".to_vec(),
                    b"role = \"server\"\n".to_vec(),
                ]),
            ]
        )
            .prop_map(|(i, b)| Edit::Insert(i, b)),
    ]
}

fn apply(valid: &str, edits: &[Edit]) -> String {
    let mut b = valid.as_bytes().to_vec();
    for e in edits {
        match e {
            Edit::Flip(i, m) if !b.is_empty() => {
                let i = i % b.len();
                b[i] ^= m;
            }
            Edit::Flip(..) => {}
            Edit::Truncate(i) => b.truncate(i % (b.len() + 1)),
            Edit::Insert(i, bytes) => {
                let i = i % (b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
        }
    }
    // The file is read as text: what is not UTF-8 stops at reading, with the file's name.
    String::from_utf8_lossy(&b).into_owned()
}

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
        edits in proptest::collection::vec(edit(), 1..4)
    ) {
        check(&apply(EXAMPLE, &edits))?;
    }

    #[test]
    fn arbitrary_text_never_panics_and_problems_say_their_line(text in "(?s).{0,300}") {
        check(&text)?;
    }
}
