//! The load line: documented field names, round trips, and the older shapes still read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use records::*;

fn run_line() -> LoadLine {
    LoadLine {
        schema: LOAD_SCHEMA.into(),
        run_id: Some("3.12-1".into()),
        client: Some("vm".into()),
        server: Some("http://127.0.0.1:5000".into()),
        scenario: Some("paper".into()),
        cycles: Some(2),
        duration_s: 6.21,
        requests: 492,
        errors: 0,
        by_status: BTreeMap::from([
            ("200".into(), 186),
            ("302".into(), 186),
            ("404".into(), 120),
        ]),
        clients: 3,
        ok: true,
        interrupted: false,
        latency_ms: Some(Latency {
            p50: 8.5,
            p90: 26.8,
            p99: 139.2,
            max: 203.7,
        }),
        users: ["vm-1", "vm-2", "vm-3"]
            .map(|u| UserResult {
                user: u.into(),
                requests: 164,
                errors: 0,
                ok: true,
                error: None,
            })
            .to_vec(),
        agents: Vec::new(),
    }
}

#[test]
fn load_line_uses_the_documented_field_names() {
    let v = serde_json::to_value(run_line()).unwrap();
    for key in [
        "schema",
        "run_id",
        "client",
        "server",
        "scenario",
        "cycles",
        "duration_s",
        "requests",
        "errors",
        "by_status",
        "clients",
        "ok",
        "interrupted",
        "latency_ms",
        "users",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["schema"], "load/1");
    assert_eq!(v["clients"], 3, "clients is a number");
    assert_eq!(v["latency_ms"]["p99"], 139.2);
    assert!(v.get("agents").is_none(), "no agents for one run: {v}");
}

/// The body an agent of the previous version answered a trigger with (`RunSummary`, no schema),
/// and the line the previous `trigger` printed (`clients` a list of per-agent results).
const OLD_AGENT_BODY: &str = r#"{"run_id":"run-7","client":"c1","server":"http://127.0.0.1:5000","scenario":"paper","cycles":2,"duration_s":0.9,"requests":164,"errors":0,"by_status":{"200":62,"302":62,"404":40},"clients":1,"ok":true,"interrupted":false,"latency_ms":{"p50":2.0,"p90":3.0,"p99":9.0,"max":12.5},"users":[{"user":"client1","requests":164,"errors":0,"ok":true}]}"#;

#[test]
fn an_older_minitwit_load_line_is_read_into_this_shape() {
    let agent = LoadLine::from_line(OLD_AGENT_BODY).unwrap();
    assert_eq!(agent.schema, LOAD_SCHEMA);
    assert_eq!(agent.run_id.as_deref(), Some("run-7"));
    assert_eq!((agent.requests, agent.clients, agent.ok), (164, 1, true));
    assert_eq!(agent.users[0].user, "client1");

    let old_trigger = format!(
        r#"{{"duration_s":1.25,"requests":164,"errors":0,"by_status":{{"404":40,"302":62,"200":62}},"ok":true,"clients":[{{"url":"http://127.0.0.1:5001/trigger","ok":true,"status":200,"answered_s":1.2,"summary":{OLD_AGENT_BODY}}}]}}"#
    );
    let t = LoadLine::from_line(&old_trigger).unwrap();
    assert_eq!((t.clients, t.requests, t.ok), (1, 164, true));
    assert_eq!(t.agents.len(), 1);
    assert_eq!(t.agents[0].status, Some(200));
    assert_eq!(t.agents[0].summary.as_deref(), Some(&agent));

    // An older run line without `clients` counts its users.
    let mut v: serde_json::Value = serde_json::from_str(OLD_AGENT_BODY).unwrap();
    v.as_object_mut().unwrap().remove("clients");
    assert_eq!(LoadLine::from_line(&v.to_string()).unwrap().clients, 1);

    for not_a_load_line in [
        r#"{"schema":"request/1","seq":1}"#,
        r#"{"schema":"run/1","duration_s":3}"#,
        r#"{"duration_s":3}"#,
        "Scenario took 0:02:20",
        "",
    ] {
        assert_eq!(
            LoadLine::from_line(not_a_load_line),
            None,
            "{not_a_load_line}"
        );
    }
}

#[test]
fn any_commands_line_is_read_leniently() {
    // What otii-capture has always accepted: clients as a list, and a bare duration.
    let t = LoadLine::parse_line(
        r#"{"duration_s":140.1,"clients":["a","b","c"],"requests":492,"errors":1,"by_status":{"200":400,"302":92}}"#,
    )
    .unwrap();
    assert_eq!(t.duration_s, 140.1);
    let l = t.load.unwrap();
    assert_eq!((l.requests, l.errors, l.clients), (492, 1, Some(3)));
    assert_eq!(l.by_status["302"], 92);
    let t = LoadLine::parse_line(r#"{"duration_s": 3}"#).unwrap();
    assert_eq!((t.duration_s, t.load), (3.0, None));
    let t = LoadLine::parse_line(r#" {"duration_s":0.5,"by_status":{"200":3}} "#).unwrap();
    assert_eq!(
        t.load,
        Some(LoadSummary {
            requests: 0,
            errors: 0,
            by_status: BTreeMap::from([("200".into(), 3)]),
            clients: None
        })
    );
    assert!(LoadLine::parse_line(r#"{"schema":"request/1","seq":1}"#).is_none());
    assert!(LoadLine::parse_line("Scenario took 0:02:20").is_none());
    assert!(LoadLine::parse_line(r#"{"duration_s":"x"}"#).is_none());
    assert!(LoadLine::parse_line("[1,2]").is_none());
    // Another record that happens to carry a duration is not a load line.
    assert!(LoadLine::parse_line(r#"{"schema":"run/1","duration_s":3}"#).is_none());
}

#[test]
fn writer_refuses_a_non_finite_load_line() {
    let mut line = run_line();
    line.latency_ms = Some(Latency {
        p50: 1.0,
        p90: f64::NAN,
        p99: 1.0,
        max: 1.0,
    });
    let mut w = JsonLinesWriter::new(Vec::new());
    let err = w.write(&line).unwrap_err().to_string();
    assert_eq!(
        err,
        "load/1 record not written: latency_ms.p90 is not a finite number"
    );
    assert!(w.into_inner().is_empty());
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        0.0..1e6,
        any::<f64>().prop_filter("finite", |x| x.is_finite())
    ]
}

fn by_status() -> impl Strategy<Value = BTreeMap<String, u64>> {
    prop::collection::btree_map(
        (100u16..600).prop_map(|s| s.to_string()),
        any::<u64>(),
        0..5,
    )
}

fn user() -> impl Strategy<Value = UserResult> {
    (
        "[a-z0-9 -]{0,12}",
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
        prop::option::of(".{0,30}"),
    )
        .prop_map(|(user, requests, errors, ok, error)| UserResult {
            user,
            requests,
            errors,
            ok,
            error,
        })
}

fn latency() -> impl Strategy<Value = Latency> {
    (finite(), finite(), finite(), finite()).prop_map(|(p50, p90, p99, max)| Latency {
        p50,
        p90,
        p99,
        max,
    })
}

/// A line of one run of the scenario (`run`, an agent's answer), or a bare core.
fn leaf_line() -> impl Strategy<Value = LoadLine> {
    (
        (
            prop::option::of("[a-z0-9.-]{1,12}"),
            prop::option::of("[a-z0-9]{1,8}"),
            prop::option::of("http://[a-z0-9.]{1,12}:[0-9]{2,5}"),
            prop::option::of(prop_oneof![
                Just("paper".to_owned()),
                Just("fixed".to_owned())
            ]),
            prop::option::of(0u32..3),
        ),
        (
            finite(),
            any::<u64>(),
            any::<u64>(),
            by_status(),
            any::<u32>(),
        ),
        (
            any::<bool>(),
            any::<bool>(),
            prop::option::of(latency()),
            prop::collection::vec(user(), 0..3),
        ),
    )
        .prop_map(
            |(
                (run_id, client, server, scenario, cycles),
                (duration_s, requests, errors, by_status, clients),
                (ok, interrupted, latency_ms, users),
            )| LoadLine {
                schema: LOAD_SCHEMA.into(),
                run_id,
                client,
                server,
                scenario,
                cycles,
                duration_s,
                requests,
                errors,
                by_status,
                clients,
                ok,
                interrupted,
                latency_ms,
                users,
                agents: Vec::new(),
            },
        )
}

/// Any line, a `trigger` line with its agents' lines among them.
fn line() -> impl Strategy<Value = LoadLine> {
    let agent = (
        "http://[a-z0-9.]{1,12}:[0-9]{2,5}/trigger",
        any::<bool>(),
        prop::option::of(100u16..600),
        finite(),
        prop::option::of(".{0,30}"),
        prop::option::of(leaf_line()),
    )
        .prop_map(
            |(url, ok, status, answered_s, error, summary)| AgentResult {
                url,
                ok,
                status,
                answered_s,
                error,
                summary: summary.map(Box::new),
            },
        );
    (leaf_line(), prop::collection::vec(agent, 0..3)).prop_map(|(mut line, agents)| {
        line.agents = agents;
        line
    })
}

proptest! {
    #[test]
    fn load_line_round_trips_through_its_json_line(line in line()) {
        let mut w = JsonLinesWriter::new(Vec::new());
        w.write(&line).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        prop_assert_eq!(text.matches('\n').count(), 1);
        prop_assert_eq!(LoadLine::from_line(&text), Some(line.clone()));
        prop_assert_eq!(LoadLine::parse_line(&text), Some(line.reading()));
        let back: Vec<LoadLine> = read_jsonl(text.as_bytes(), "-").collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, vec![line]);
    }

    #[test]
    fn the_previous_run_and_agent_line_still_reads(line in leaf_line()) {
        // As the previous version wrote it: the same fields without a schema tag.
        let mut v = serde_json::to_value(&line).unwrap();
        v.as_object_mut().unwrap().remove("schema");
        let text = v.to_string();
        prop_assert_eq!(LoadLine::from_line(&text), Some(line.clone()));
        prop_assert_eq!(LoadLine::parse_line(&text), Some(line.reading()));
    }

    #[test]
    fn the_previous_trigger_line_still_reads(line in line()) {
        // As the previous `trigger` wrote it: no schema anywhere, and the per-agent results as
        // the list `clients`, which counts them.
        let mut line = line;
        line.clients = u32::try_from(line.agents.len()).unwrap();
        let mut v = serde_json::to_value(&line).unwrap();
        let map = v.as_object_mut().unwrap();
        map.remove("schema");
        let mut list = map.remove("agents").unwrap_or_else(|| serde_json::json!([]));
        for agent in list.as_array_mut().unwrap() {
            if let Some(summary) = agent.get_mut("summary") {
                summary.as_object_mut().unwrap().remove("schema");
            }
        }
        map.insert("clients".into(), list);
        let text = v.to_string();
        prop_assert_eq!(LoadLine::from_line(&text), Some(line.clone()));
        prop_assert_eq!(LoadLine::parse_line(&text), Some(line.reading()));
    }
}
