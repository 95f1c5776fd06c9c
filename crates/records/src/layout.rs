//! The study's results layout: one folder per interpreter, `minitwit312` for CPython 3.12.
//! `experiment` names the folders it writes with [`group_folder`] and `energy-stats` reads the
//! label back with [`group_label`]; the two are inverse for every label `experiment` writes.

/// The folder name for an interpreter label: `3.12` → `minitwit312`, `3.8` → `minitwit38`
/// (a one-digit major and a minor version, as the study named them); any other label is its
/// own folder name (`pypy3.9`, `3.12.1`).
pub fn group_folder(label: &str) -> String {
    match label.split_once('.') {
        Some((major, minor))
            if major.len() == 1
                && major.bytes().all(|c| c.is_ascii_digit())
                && !minor.is_empty()
                && minor.bytes().all(|c| c.is_ascii_digit()) =>
        {
            format!("minitwit{major}{minor}")
        }
        _ => label.to_owned(),
    }
}

/// The interpreter label of a group folder: `minitwit312` → `3.12`, `minitwit38` → `3.8`; any
/// other name is its own label.
pub fn group_label(folder: &str) -> String {
    match folder.strip_prefix("minitwit") {
        Some(digits) if digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}.{}", &digits[..1], &digits[1..])
        }
        _ => folder.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_study_naming() {
        assert_eq!(group_folder("3.12"), "minitwit312");
        assert_eq!(group_folder("3.8"), "minitwit38");
        assert_eq!(group_folder("pypy3.9"), "pypy3.9");
        assert_eq!(group_folder("3.12.1"), "3.12.1");
        assert_eq!(group_folder("x.y"), "x.y");
        assert_eq!(group_folder("10.1"), "10.1");
        assert_eq!(group_label("minitwit312"), "3.12");
        assert_eq!(group_label("minitwit38"), "3.8");
        assert_eq!(group_label("minitwit"), "minitwit");
        assert_eq!(group_label("pypy"), "pypy");
    }

    proptest! {
        #[test]
        fn a_label_comes_back_from_its_folder(label in "[0-9]\\.[0-9]{1,3}|[a-z][a-z0-9.]{0,10}|[0-9]{2,3}\\.[0-9]{1,2}") {
            // Labels that already look like a study folder name are the one ambiguity.
            prop_assume!(!label.starts_with("minitwit"));
            prop_assert_eq!(group_label(&group_folder(&label)), label);
        }
    }
}
