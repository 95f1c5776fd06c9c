//! User logs (Otii 3.6+): the official Python client drives them (user_logs.py), and the raw
//! protocol's answers have the client's shape.

use std::path::PathBuf;
use std::process::Command;

use otii_sim::Config;
use serde_json::json;

use super::{err_code, ok, spawn, Raw};

#[test]
fn official_python_client_drives_user_logs() {
    let python = testkit::venv().join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run `make venv` (or `make test`)",
        python.display()
    );
    let h = spawn(Config::default());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/user_logs.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--port", &h.addr().port().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "user_logs.py failed:\n{stderr}");
    assert!(stderr.contains("user logs: ok"), "{stderr}");
}

#[test]
fn user_log_commands_answer_in_the_clients_shape() {
    let h = spawn(Config::default());
    let (mut c, _) = Raw::connect(&h);
    let id = ok(&c.call(
        "project_create_user_log",
        json!({"project_id": 1, "id": "load"}),
    ))["id"]
        .clone();
    assert_eq!(id, json!("load"));
    ok(&c.call("project_start_recording", json!({"project_id": 1})));
    ok(&c.call("project_stop_recording", json!({"project_id": 1})));
    let rec =
        ok(&c.call("project_get_last_recording", json!({"project_id": 1})))["recording_id"].clone();
    let append = json!({"recording_id": rec, "measurement_id": id, "time": 0.25,
                        "message": "load start"});
    assert_eq!(ok(&c.call("recording_append_user_log", append)), &json!({}));
    let get = json!({"recording_id": rec, "user_log_id": id, "from": 0.0, "to": 1.0,
                     "filter": "", "page": 1, "page_size": 1000});
    assert_eq!(
        ok(&c.call("recording_get_user_log_data", get)),
        &json!({"data_type": "log_data", "page": 1, "pages_total": 1,
                "values": [{"timestamp": 0.25, "value": "load start"}]})
    );
    // Unknown log, unknown project: the protocol's errors.
    let m = c.call(
        "recording_append_user_log",
        json!({"recording_id": rec, "measurement_id": "nope", "time": 0.0, "message": "x"}),
    );
    assert_eq!(err_code(&m), "Invalid key value");
    let m = c.call(
        "project_create_user_log",
        json!({"project_id": 9, "id": "x"}),
    );
    assert_eq!(err_code(&m), "Project does not exist");
}
