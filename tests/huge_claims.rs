//! A peer that claims a 4 GB frame, or a tile of 2^40 pixels, is refused
//! before anything of that size is allocated. Alone in its test binary, so
//! the process's peak memory is this test's.

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A peer that claims a 4 GB frame, or a tile of 2^40 pixels, is refused
/// before anything of that size is allocated: the process's peak memory
/// grows by less than 64 MB over many such claims.
#[tokio::test]
async fn huge_claims_are_refused_before_anything_that_size_is_allocated() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let sim = rvshell::sim::server::Simulator::start(rvshell::sim::server::SimConfig::any_port())
        .await
        .unwrap();
    let before = peak_rss();
    for claim in [
        &b"MESSAGE 4294967296 x"[..],
        b"MESSAGE 999999999999 x",
        b"PIXELTILE(media=m,w=1048576,h=1048576,x=0,y=0) 4294967296 x",
        b"PIXELTILE(media=m,w=1048576,h=1048576,x=0,y=0) 16 0123456789abcdef",
    ] {
        for _ in 0..20 {
            let mut stream = tokio::net::TcpStream::connect(sim.local_addr())
                .await
                .unwrap();
            stream.write_all(b"NEWGREETING 8 huge rv").await.unwrap();
            stream.write_all(claim).await.unwrap();
            // The simulator answers the greeting, then drops the client or
            // refuses the tile; either way it reads no more than was sent.
            let mut sink = vec![0u8; 4096];
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut sink))
                .await;
        }
    }
    // And the client, reading a claim from a peer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let fake = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut greeting = [0u8; 64];
        let _ = stream.read(&mut greeting).await;
        stream.write_all(b"GREETING 4 huge").await.unwrap();
        stream
            .write_all(b"MESSAGE 4294967296 RETURN")
            .await
            .unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    });
    let config = rvshell::rv::client::Config::new("127.0.0.1", port);
    let (client, mut events) = rvshell::rv::client::RvClient::connect(config)
        .await
        .unwrap();
    let lost = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            match events.recv().await {
                Some(rvshell::rv::client::ClientEvent::Disconnected { reason, .. }) => {
                    return reason;
                }
                Some(_) => continue,
                None => return "events ended".to_owned(),
            }
        }
    })
    .await
    .expect("the client dropped the peer");
    assert!(lost.contains("4294967296"), "says what was claimed: {lost}");
    drop(client);
    let _ = fake.await;
    let grown = peak_rss().saturating_sub(before);
    eprintln!("peak RSS grew by {} KiB over 80 huge claims", grown / 1024);
    assert!(grown < 64 << 20, "peak RSS grew by {grown} bytes");
    sim.shutdown().await;
}
