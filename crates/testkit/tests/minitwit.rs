#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The MiniTwit guard against the real thing (needs `make test`'s CPE_* variables).

use std::time::Duration;

#[test]
fn minitwit_serves_the_seed_and_its_process_group_dies_with_the_guard() {
    let seed = testkit::seed_sql();
    assert_eq!(seed, testkit::seed_sql(), "made once per process");
    let server = testkit::MiniTwit::builder().seed(&seed).start();
    let (status, _) = testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
    assert_eq!(status, 302, "{}", server.log());
    let (status, body) = testkit::http_get(&format!("{}/public", server.base_url())).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("Public Timeline"), "{body}");
    assert!(server.db_path().is_file());
    let port = server.port();
    let pgid = server.pid().to_string();
    drop(server);
    // Nothing of that process group is left, and the port is free again.
    let left = std::process::Command::new("pgrep")
        .args(["-g", &pgid])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "left over: {}",
        String::from_utf8_lossy(&left.stdout)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} still answers"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
