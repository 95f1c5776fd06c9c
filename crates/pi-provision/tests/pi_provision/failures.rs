//! What goes wrong on a testbed, each a clear error naming the host and the step: keys,
//! authentication, unreachable hosts, failing scripts, a full disk; and no `shell/` at hand.

use super::*;

/// Host keys, authentication, unreachable hosts, a script failing half-way and a full disk:
/// each a clear error naming the host and the step, exit 1, other hosts still reported.
#[test]
fn testbed_refuses_bad_keys_and_reports_failures_per_host() {
    needs_make_outputs();
    let tb = Testbed::with_tmpfs(&[("server", 4), ("client1", 2)], &[("tiny", "192k")]);
    let id = tb.identity();
    let both = |tb: &Testbed,
                file: &str,
                kh: &Path,
                identity: &Path,
                interps: &[(&str, &str)],
                server_base: PathBuf,
                extra: Option<(&str, &str)>| {
        let mut hosts = vec![
            InvHost {
                name: "server",
                addr: tb.host("server").addr.clone(),
                role: "server",
                base: server_base,
            },
            InvHost {
                name: "client1",
                addr: tb.host("client1").addr.clone(),
                role: "client",
                base: tb.host("client1").base(),
            },
        ];
        if let Some((name, addr)) = extra {
            hosts.push(InvHost {
                name,
                addr: addr.into(),
                role: "client",
                base: tb.path("ghost"),
            });
        }
        inventory(tb, file, kh, identity, interps, &hosts, ("/bin/true", &[]))
    };
    let py = [("3.11", "/usr/bin/python3.11")];

    // Unknown key: refused with the fingerprint; the other host still checked.
    let kh_client_only = tb.known_hosts("kh_client_only", &["client1"]);
    let inv = both(
        &tb,
        "unknown.toml",
        &kh_client_only,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    let (code, out, err) = tb.run(&inv, &["check"]);
    assert_eq!(code, 1, "{err}");
    let fp = String::from_utf8_lossy(
        &sh(Command::new("ssh-keygen")
            .arg("-lf")
            .arg(tb.host("server").dir.join("ssh_host_ed25519_key.pub")))
        .stdout,
    )
    .split_whitespace()
    .nth(1)
    .unwrap()
    .to_string();
    assert!(
        err.contains("server: check: FAILED: host key of 10.213.0.4:22 is not in"),
        "{err}"
    );
    assert!(err.contains(&fp), "fingerprint {fp} missing: {err}");
    assert!(err.contains("client1: check: ok"), "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // trust: a wrong fingerprint is refused, the right one recorded; then check passes.
    let (code, _, err) = tb.run(
        &inv,
        &[
            "trust",
            "--host",
            "server",
            "--fingerprint",
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("not trusting it"), "{err}");
    expect_success(
        &tb,
        &inv,
        &["trust", "--host", "server", "--fingerprint", &fp],
        &[],
    );
    expect_success(&tb, &inv, &["check"], &[]);

    // Changed key: refused loudly.
    let other = tb.path("other_key");
    sh(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other));
    let other_pub = fs::read_to_string(other.with_extension("pub")).unwrap();
    let mut parts = other_pub.split_whitespace();
    let kh_changed = tb.path("kh_changed");
    fs::write(
        &kh_changed,
        format!(
            "10.213.0.4 {} {}\n{}",
            parts.next().unwrap(),
            parts.next().unwrap(),
            fs::read_to_string(tb.known_hosts("kh_c1", &["client1"])).unwrap()
        ),
    )
    .unwrap();
    let inv = both(
        &tb,
        "changed.toml",
        &kh_changed,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    expect_failure(
        &tb,
        &inv,
        &["check"],
        &[
            "HOST KEY OF 10.213.0.4:22 HAS CHANGED",
            "client1: check: ok",
        ],
    );

    // Authentication failure (a key the hosts do not know) and an unreachable host.
    let kh = tb.known_hosts("known_hosts", &["server", "client1"]);
    let inv = both(
        &tb,
        "badkey.toml",
        &kh,
        &other,
        &py,
        tb.host("server").base(),
        Some(("ghost", "10.213.0.9")),
    );
    expect_failure(
        &tb,
        &inv,
        &["check"],
        &[
            "server: check: FAILED: authentication as root@10.213.0.4:22 failed",
            "ghost: check: FAILED: cannot connect to 10.213.0.9:22",
        ],
    );

    // A script failing half-way: the user part stops at the missing interpreter, with its
    // exit status and last lines; the client (no interpreters needed) still provisions.
    let missing = [("3.99", "/nonexistent/python3.99")];
    let inv = both(
        &tb,
        "missing.toml",
        &kh,
        &id,
        &missing,
        tb.host("server").base(),
        None,
    );
    expect_failure(&tb, &inv, &["provision"], &["server: provision: FAILED: step `user part (shell/debian/user.sh)` failed with exit status 1", "interpreter 3.99 (/nonexistent/python3.99) is missing", "client1: provision: ok"]);

    // become = "su": the root part runs through su over a pty, which asks for the password.
    // A stand-in su first on the server's PATH behaves like the real one (prompt on the
    // terminal, no echo, "su: Sorry" on a wrong password) and then runs the command.
    let su = tb.host("server").dir.join("bin/su");
    fs::write(
        &su,
        "#!/bin/sh\nprintf 'Password:'\nstty -echo\nread -r pw\nstty echo\nprintf '\\n'\n\
         if [ \"$pw\" != 'c0rrect-h0rse' ]; then echo 'su: Sorry'; exit 1; fi\n\
         [ \"$1 $2 $3\" = '-l root -c' ] || { echo \"su: unexpected arguments: $*\"; exit 2; }\n\
         exec sh -c \"$4\"\n",
    )
    .unwrap();
    sh(Command::new("chmod").arg("755").arg(&su));
    let inv = both(
        &tb,
        "su.toml",
        &kh,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    let text = fs::read_to_string(&inv).unwrap().replace(
        "name = \"server\"\n",
        "name = \"server\"\nbecome = \"su\"\n",
    );
    fs::write(&inv, text).unwrap();
    let (code, _, err) = tb.run_env(
        &inv,
        &["provision", "--role", "server"],
        &[("PI_PROVISION_ROOT_PASSWORD", "c0rrect-h0rse")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("server | ==> root part (shell/debian/root.sh)"),
        "{err}"
    );
    assert!(
        err.contains("==> Debian packages"),
        "the root part did not run: {err}"
    );
    assert!(!err.contains("c0rrect-h0rse"), "the password leaked: {err}");
    let (code, _, err) = tb.run_env(
        &inv,
        &["provision", "--role", "server"],
        &[("PI_PROVISION_ROOT_PASSWORD", "wr0ng-pa55")],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("server: provision: FAILED: step `root part (shell/debian/root.sh)` failed with exit status 1"), "{err}");
    assert!(err.contains("su: Sorry"), "{err}");
    assert!(!err.contains("wr0ng-pa55"), "the password leaked: {err}");
    // Without a password and without a terminal: refused before connecting.
    let (code, _, err) = tb.run(&inv, &["provision", "--role", "server"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("set PI_PROVISION_ROOT_PASSWORD"), "{err}");

    // An OS profile that does not match the host is caught by check.
    let inv = both(
        &tb,
        "wrongos.toml",
        &kh,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    let text = fs::read_to_string(&inv)
        .unwrap()
        .replacen("os = \"debian\"", "os = \"freebsd\"", 1);
    fs::write(&inv, text).unwrap();
    expect_failure(
        &tb,
        &inv,
        &["check"],
        &[
            "server: check: FAILED: the host runs Linux",
            "but the inventory says os = \"freebsd\"",
            "client1: check: ok",
        ],
    );

    // Starting the server before deploy says what to do, and an unknown interpreter is named.
    let inv = both(
        &tb,
        "nodeploy.toml",
        &kh,
        &id,
        &py,
        tb.host("server").base(),
        None,
    );
    expect_failure(
        &tb,
        &inv,
        &["server", "start", "--python", "3.11"],
        &["with `pi-provision deploy` first"],
    );
    expect_failure(
        &tb,
        &inv,
        &["server", "start", "--python", "3.7"],
        &["no interpreter 3.7 in the inventory (known: 3.11)"],
    );

    // A full disk on upload: the server's base is a 192 KiB tmpfs, the wheelhouse is larger.
    let inv = both(&tb, "tiny.toml", &kh, &id, &py, tb.path("tiny/base"), None);
    expect_failure(
        &tb,
        &inv,
        &["deploy"],
        &["server: deploy: FAILED: writing", "KiB free"],
    );
    // No half-written file is left looking complete.
    let left: Vec<_> = fs::read_dir(tb.path("tiny/base/wheelhouse"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.iter().all(|n| !n.ends_with(".partial")), "{left:?}");
}

/// Only `provision` and `deploy` upload the scripts: the other subcommands work from a copy of
/// the binary outside any checkout, with no `shell/` folder to be found.
#[test]
fn only_uploading_commands_need_the_shell_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("pi-provision");
    fs::copy(BIN, &bin).unwrap();
    for f in ["known_hosts", "id"] {
        fs::write(dir.path().join(f), "").unwrap();
    }
    let port = testkit::free_port();
    fs::write(
        dir.path().join("testbed.toml"),
        format!(
            "[testbed]\nknown_hosts = \"known_hosts\"\nidentity = \"id\"\nconnect_timeout_s = 2\n\n\
             [otii]\naddress = \"127.0.0.1\"\n\n[[interpreter]]\nversion = \"3.11\"\n\
             install = \"system\"\ncommand = \"python3\"\n\n[[host]]\nname = \"server\"\n\
             address = \"127.0.0.1\"\nssh_port = {port}\nuser = \"root\"\nrole = \"server\"\n\
             os = \"debian\"\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&bin)
            .args(args)
            .current_dir(dir.path())
            .env_remove("PI_PROVISION_SHELL_DIR")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["server", "status"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "server: server status: FAILED: cannot connect to 127.0.0.1:{port}"
        )),
        "{err}"
    );
    let (code, err) = run(&["provision"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot find the shell/ scripts"), "{err}");
}
