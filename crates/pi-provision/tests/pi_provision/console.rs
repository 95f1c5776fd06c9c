//! First boot over a pty that plays a FreeBSD console, its failures, and Ctrl-C while it waits.

use super::*;

/// How the scripted console behaves.
#[derive(Clone, Copy, PartialEq)]
enum Console {
    /// Like a FreeBSD Raspberry Pi image at first boot (root / root).
    FreeBsd,
    /// Nothing ever arrives (wrong port, no power).
    Silent,
    /// Asks to change the expired password after login.
    ExpiredPassword,
    /// `service netif restart` fails.
    NetifFails,
    /// A root shell is already open (someone logged in by hand).
    LoggedIn,
}

/// A scripted serial console on the master side of a pty: getty's banner and login prompt,
/// the password prompt (no echo), a root shell prompt, command echo, and answers to the few
/// commands whose output matters. Returns the shell lines it received.
fn scripted_console(
    mut master: serialport::TTYPort,
    kind: Console,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut received = Vec::new();
        let say = |m: &mut serialport::TTYPort, s: &str| {
            m.write_all(s.as_bytes()).unwrap();
            m.flush().unwrap();
        };
        if kind == Console::Silent {
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
            }
            return received;
        }
        let prompt = "root@generic:~ # ";
        if kind == Console::LoggedIn {
            say(&mut master, prompt);
        } else {
            say(
                &mut master,
                "\r\nFreeBSD/arm (generic) (ttyu0)\r\n\r\nlogin: ",
            );
        }
        #[derive(PartialEq)]
        enum State {
            Login,
            Password,
            Shell,
        }
        let mut state = if kind == Console::LoggedIn {
            State::Shell
        } else {
            State::Login
        };
        let mut line = Vec::new();
        let mut buf = [0u8; 256];
        while !stop.load(Ordering::SeqCst) {
            let n = match master.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(_) => break,
            };
            for &b in &buf[..n] {
                if b != b'\r' && b != b'\n' {
                    line.push(b);
                    continue;
                }
                let text = String::from_utf8_lossy(&line).into_owned();
                line.clear();
                match state {
                    State::Login if text.is_empty() => say(&mut master, "\r\nlogin: "),
                    State::Login => {
                        say(&mut master, &format!("{text}\r\nPassword:"));
                        state = State::Password;
                    }
                    State::Password => {
                        if text != "root" {
                            say(&mut master, "\r\nLogin incorrect\r\nlogin: ");
                            state = State::Login;
                        } else if kind == Console::ExpiredPassword {
                            say(&mut master, "\r\nPassword expired. Changing local password for root\r\nOld Password: ");
                            state = State::Login;
                        } else {
                            say(
                                &mut master,
                                "\r\nFreeBSD 14.1-RELEASE (GENERIC) releng/14.1\r\n\r\n",
                            );
                            say(&mut master, prompt);
                            state = State::Shell;
                        }
                    }
                    State::Shell if text.is_empty() => say(&mut master, &format!("\r\n{prompt}")),
                    State::Shell => {
                        say(&mut master, &format!("{text}\r\n"));
                        if text == "exit" {
                            received.push(text);
                            return received;
                        }
                        let mut rc = 0;
                        if text.contains("sysrc hostname=") {
                            say(&mut master, "hostname: generic -> server\r\n");
                        }
                        if text.contains("ssh-keygen -lf") {
                            say(&mut master, "256 SHA256:Zm9ZZmFrZWZpbmdlcnByaW50Zm9ydGVzdHM root@generic (ED25519)\r\n");
                        }
                        if kind == Console::NetifFails && text.contains("service netif restart") {
                            say(
                                &mut master,
                                "ifconfig: SIOCAIFADDR: Device not configured\r\n",
                            );
                            rc = 1;
                        }
                        if text.contains("__CPE_RC=$?") {
                            say(&mut master, &format!("__CPE_RC={rc}\r\n"));
                        }
                        received.push(text);
                        say(&mut master, prompt);
                    }
                }
            }
        }
        received
    })
}

/// `pi-provision console` for the example inventory's server on the pty `slave_path`, waiting
/// `timeout` seconds per prompt, with a public key written into `dir`.
fn console_command(slave_path: &str, dir: &Path, timeout: &str) -> Command {
    let key = dir.join("id.pub");
    fs::write(
        &key,
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest controller\n",
    )
    .unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/testbed.example.toml");
    let mut cmd = Command::new(BIN);
    cmd.arg("-i")
        .arg(&example)
        .args([
            "console",
            "--port",
            slave_path,
            "--host",
            "server",
            "--timeout",
            timeout,
            "--public-key",
        ])
        .arg(&key);
    cmd
}

fn run_console(kind: Console, password: Option<&str>) -> (i32, String, String, Vec<String>) {
    let (master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let slave_path = serialport::SerialPort::name(&slave).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let console = scripted_console(master, kind, stop.clone());
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = console_command(&slave_path, dir.path(), "3");
    cmd.env_remove("PI_PROVISION_CONSOLE_PASSWORD");
    if let Some(p) = password {
        cmd.env("PI_PROVISION_CONSOLE_PASSWORD", p);
    }
    let out = cmd.output().unwrap();
    stop.store(true, Ordering::SeqCst);
    let received = console.join().unwrap();
    drop(slave);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- console → {:?}\n{err}", out.status.code());
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        err,
        received,
    )
}

/// First boot over a pty that behaves like FreeBSD's console: logs in with the image's
/// default account, configures the host from the inventory, reports the host key fingerprint.
#[test]
fn console_first_boot_over_a_pty() {
    let (code, out, err, received) = run_console(Console::FreeBsd, None);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["hostname"], "server");
    assert_eq!(report["address"], "10.0.0.4/24");
    assert_eq!(
        report["host_key_fingerprints"][0],
        "256 SHA256:Zm9ZZmFrZWZpbmdlcnByaW50Zm9ydGVzdHM root@generic (ED25519)"
    );
    let all = received.join("\n");
    assert!(
        all.contains("sysrc hostname=server && hostname server"),
        "{all}"
    );
    assert!(
        all.contains("sysrc ifconfig_ue0=\"inet 10.0.0.4/24\""),
        "{all}"
    );
    assert!(all.contains("sysrc sshd_enable=YES"), "{all}");
    assert!(
        all.contains("AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheTest controller"),
        "{all}"
    );
    assert!(
        all.contains("~freebsd"),
        "the key must go to the SSH user: {all}"
    );
    assert_eq!(received.last().map(String::as_str), Some("exit"));
    assert!(err.contains("server | ==> enable sshd"), "{err}");
}

/// A shell that is already open is used as it is, without logging in again.
#[test]
fn console_uses_an_open_shell() {
    let (code, out, err, received) = run_console(Console::LoggedIn, None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"hostname\":\"server\""), "{out}");
    assert!(!err.contains("logging in as"), "{err}");
    assert!(
        received.iter().any(|l| l.contains("sysrc hostname=server")),
        "{received:?}"
    );
}

/// A refused login, an unexpected prompt, silence and a failing command are clear errors.
#[test]
fn console_failures_are_clear_errors() {
    let (code, _, err, _) = run_console(Console::FreeBsd, Some("wrong"));
    assert_eq!(code, 1);
    assert!(err.contains("login as root was refused"), "{err}");
    assert!(
        !err.contains("wrong"),
        "the password leaked into the log: {err}"
    );

    let (code, _, err, _) = run_console(Console::ExpiredPassword, None);
    assert_eq!(code, 1);
    assert!(
        err.contains("unexpected prompt while logging in: \"Old Password: \""),
        "{err}"
    );

    let (code, _, err, _) = run_console(Console::Silent, None);
    assert_eq!(code, 1);
    assert!(
        err.contains("timed out after 3s waiting for the login prompt"),
        "{err}"
    );

    let (code, _, err, received) = run_console(Console::NetifFails, None);
    assert_eq!(code, 1);
    assert!(
        err.contains("console step `set a static address` failed with exit status 1"),
        "{err}"
    );
    assert!(err.contains("SIOCAIFADDR"), "{err}");
    assert!(
        !received.iter().any(|l| l.contains("sshd_enable")),
        "went on after a failure: {received:?}"
    );
}

/// Ctrl-C (SIGINT) ends the tool with exit status 130, here while it waits on a silent console.
#[test]
fn interrupt_exits_130() {
    let (_master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let slave_path = serialport::SerialPort::name(&slave).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cmd = console_command(&slave_path, dir.path(), "30");
    let (code, err, _) = interrupt_after(cmd, Duration::from_millis(700));
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("pi-provision: interrupted"), "{err}");
}
