//! What the tests of the real `sync-server` binary share: a free port, the command that starts it, and waiting
//! for its health check.

use std::process::Command;
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary with the demo team, on `port`, keeping its data in `dir`; callers add logging and outputs.
pub fn server(dir: &std::path::Path, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sync-server"));
    c.args([
        "--demo",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(dir);
    c
}

/// Waits until `GET /health` answers `{"status":"ok"}`.
pub async fn healthy(port: u16) {
    for _ in 0..200 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            s.write_all(b"GET /health HTTP/1.0\r\n\r\n").await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            assert!(
                out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"),
                "{out}"
            );
            assert!(out.ends_with(r#"{"status":"ok"}"#));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server never answered its health check");
}
