//! Whether a recorded run counts: the load sent the study's requests and got the expected
//! answers.

use std::collections::BTreeMap;

use records::RunRecord;

use crate::runner::Config;
use crate::tools::Scenario;

/// The statuses one user's scenario must produce (the spec's table).
pub fn expected_statuses(scenario: Scenario, users: u32) -> BTreeMap<String, u64> {
    let u = u64::from(users);
    let mut m = BTreeMap::new();
    m.insert("302".to_owned(), 62 * u);
    match scenario {
        Scenario::Paper => {
            m.insert("200".to_owned(), 62 * u);
            m.insert("404".to_owned(), 40 * u);
        }
        Scenario::Fixed => {
            m.insert("200".to_owned(), 102 * u);
        }
    }
    m
}

/// Why a run does not count, or `None` when it does: the load must report no error and, unless
/// extra load arguments changed the scenario, exactly the study's requests and statuses
/// (`--repeat` times them: each user ran the scenario that many times).
pub(crate) fn validate(cfg: &Config, rec: &RunRecord) -> Option<String> {
    let Some(load) = &rec.load else {
        return Some("the load reported no summary (requests, statuses)".into());
    };
    if load.errors > 0 {
        return Some(format!(
            "the load reported {} failed requests or checks",
            load.errors
        ));
    }
    if !cfg.load_args.is_empty() {
        return None;
    }
    let users = cfg.load.users();
    let want: BTreeMap<String, u64> = expected_statuses(cfg.scenario, users)
        .into_iter()
        .map(|(status, n)| (status, n * u64::from(cfg.repeat.max(1))))
        .collect();
    let want_total: u64 = want.values().sum();
    if load.requests != want_total || load.by_status != want {
        return Some(format!(
            "expected {want_total} requests {want:?} from {users} users{}, got {} {:?}",
            if cfg.repeat > 1 {
                format!(" × {} scenarios", cfg.repeat)
            } else {
                String::new()
            },
            load.requests,
            load.by_status
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_statuses_match_the_spec_table() {
        let p = expected_statuses(Scenario::Paper, 1);
        assert_eq!(p.values().sum::<u64>(), 164);
        assert_eq!(p["404"], 40);
        let p3 = expected_statuses(Scenario::Paper, 3);
        assert_eq!(p3.values().sum::<u64>(), 492);
        assert_eq!(p3["404"], 120);
        let f = expected_statuses(Scenario::Fixed, 3);
        assert_eq!(f.values().sum::<u64>(), 492);
        assert!(!f.contains_key("404"));
    }
}
