//! The inventory through the binary: every problem with its line (exit 2), `get`, `--json`.

use super::*;

/// Inventory problems are usage errors (exit 2), all listed with their lines; `get` answers.
#[test]
fn inventory_validation_and_get() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        "[otii]\naddress = \"10.0.0.1\"\ncolour = 1\n\n[[interpreter]]\nversion = \"3.12\"\ninstall = \"pkg\"\n\
         package = \"python312\"\ncommand = \"python3.12\"\n\n[[host]]\nname = \"server\"\naddress = \"10.0.0.4\"\n\
         user = \"freebsd\"\nrole = \"server\"\nos = \"freebsd\"\n\n[[host]]\nname = \"server\"\naddress = \"10.0.0.300\"\n\
         user = \"freebsd\"\nrole = \"client\"\nos = \"plan9\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["--inventory"])
        .arg(&bad)
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("line 3: unknown key `colour` in [otii]"),
        "{err}"
    );
    assert!(
        err.contains("line 19: host \"server\" is listed twice (first on line 12)"),
        "{err}"
    );
    assert!(
        err.contains("line 20: host address \"10.0.0.300\""),
        "{err}"
    );
    assert!(
        err.contains("line 23: `os` in [[host]] is \"plan9\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("data/testbed.example.toml");
    let get = |key: &str| {
        let out = Command::new(BIN)
            .arg("-i")
            .arg(&example)
            .args(["inventory", "get", key])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(get("server.address"), "10.0.0.4");
    assert_eq!(get("client_hosts.address"), "10.0.0.2 10.0.0.3 10.0.0.5");
    assert_eq!(
        get("interpreters.venv"),
        "minitwit38 minitwit39 minitwit310 minitwit311 minitwit312 minitwit313"
    );
    assert_eq!(get("minitwit.port"), "5000");
    let out = Command::new(BIN)
        .arg("-i")
        .arg(&example)
        .args(["inventory", "get", "server.nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let json = Command::new(BIN)
        .arg("-i")
        .arg(&example)
        .args(["inventory", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["hosts"].as_array().unwrap().len(), 4);
    assert_eq!(v["hosts"][0]["become"], "su");
}
