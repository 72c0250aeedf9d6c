//! The OLA client against a real olad (Debian's `ola` 0.10.9), one private
//! olad per test, started by `rvshell::ola::daemon`. These tests never skip:
//! without `olad` they fail with the message to install it.

use futures_util::StreamExt;
use rvshell::bench::ola::bench_frame;
use rvshell::ola::client::{ClientConfig, ClientEvent, OlaClient, OlaError, PortPriority, PortRef};
use rvshell::ola::daemon::{DUMMY_PORT, OladOptions, OladProcess};
use rvshell::ola::pb::proto::MergeMode;
use std::time::Duration;

mod common;
use common::ola::{olad, settled};

async fn client(olad: &OladProcess) -> OlaClient {
    OlaClient::connect(&olad.addr().to_string()).await.unwrap()
}

fn rss_kib(olad: &OladProcess) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", olad.pid().unwrap())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn set_get_round_trip() {
    let olad = olad(Some(1)).await;
    // `localhost` works too, though olad listens on IPv4 only.
    let client = OlaClient::connect(&format!("localhost:{}", olad.port()))
        .await
        .unwrap();
    assert!(client.addr().is_ipv4());
    client.update_dmx(1, &bench_frame(7), None).await.unwrap();
    assert_eq!(client.get_dmx(1).await.unwrap().to_vec(), bench_frame(7));
    // Short frames stay short (ola-rpc.md §7.1).
    client.update_dmx(1, &[1, 2, 3], Some(150)).await.unwrap();
    assert_eq!(client.get_dmx(1).await.unwrap().to_vec(), vec![1, 2, 3]);
    client.close().await.unwrap();
}

#[tokio::test]
async fn failures_carry_olads_text() {
    let olad = olad(Some(1)).await;
    let client = client(&olad).await;
    let err = client.update_dmx(99, &[1], None).await.unwrap_err();
    assert!(
        matches!(&err, OlaError::Failed { method: "UpdateDmxData", message } if message == "Universe doesn't exist"),
        "{err:?}"
    );
    assert!(err.is_refusal());
    let err = client.get_dmx(99).await.unwrap_err();
    assert!(err.to_string().contains("Universe doesn't exist"), "{err}");
    let err = client
        .patch(
            PortRef {
                device_alias: 42,
                port_id: 0,
                is_output: true,
            },
            3,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Device doesn't exist"), "{err}");
    let err = client
        .call::<rvshell::ola::pb::proto::Ack>("NoSuchMethod", &rvshell::ola::pb::proto::Ack {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OlaError::NotImplemented {
                method: "NoSuchMethod"
            }
        ),
        "{err:?}"
    );
    // Client-side validation: nothing is sent.
    assert!(matches!(
        client.update_dmx(1, &[0; 513], None).await,
        Err(OlaError::TooManySlots(513))
    ));
    assert!(matches!(
        client.update_dmx(1, &[0; 3], Some(201)).await,
        Err(OlaError::InvalidPriority(201))
    ));
    assert!(matches!(
        client.get_dmx(u32::MAX).await,
        Err(OlaError::InvalidUniverse(_))
    ));
    // The connection is still fine after all that.
    client.update_dmx(1, &[9, 9], None).await.unwrap();
    assert_eq!(client.get_dmx(1).await.unwrap().to_vec(), vec![9, 9]);
}

#[tokio::test]
async fn a_malformed_request_times_out_and_the_connection_survives() {
    let olad = olad(Some(1)).await;
    let client = OlaClient::connect_with(
        &olad.addr().to_string(),
        ClientConfig {
            request_timeout: Duration::from_millis(500),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    // A DmxData without its required `data` field: olad cannot parse it and
    // says nothing (ola-rpc.md §7.4).
    let err = client
        .call::<rvshell::ola::pb::proto::Ack>(
            "UpdateDmxData",
            &rvshell::ola::pb::proto::UniverseRequest { universe: 1 },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, OlaError::Timeout { .. }), "{err:?}");
    client.update_dmx(1, &[4, 5], None).await.unwrap();
    assert_eq!(client.get_dmx(1).await.unwrap().to_vec(), vec![4, 5]);
}

#[tokio::test]
async fn management_calls() {
    let olad = olad(Some(1)).await;
    let client = client(&olad).await;
    let plugins = client.plugins().await.unwrap();
    assert!(
        plugins.iter().any(|p| p.name.contains("Dummy")),
        "{plugins:?}"
    );
    // Only Dummy runs: nothing goes out on the network (ola-rpc.md §13).
    let active: Vec<&str> = plugins
        .iter()
        .filter(|p| p.active)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(active, vec!["Dummy"], "{plugins:?}");
    let devices = client.devices(None).await.unwrap();
    let dummy = devices.iter().find(|d| d.device_alias == 1).unwrap();
    assert_eq!(dummy.output_port[0].universe, Some(1));
    client
        .set_port_priority(DUMMY_PORT, PortPriority::Static(150))
        .await
        .unwrap();
    client
        .set_port_priority(DUMMY_PORT, PortPriority::Inherit)
        .await
        .unwrap();
    let missing = PortRef {
        port_id: 7,
        ..DUMMY_PORT
    };
    let err = client
        .set_port_priority(missing, PortPriority::Static(150))
        .await
        .unwrap_err();
    assert!(
        err.to_string() == "olad refused SetPortPriority: Port doesn't exist",
        "{err}"
    );
    assert!(matches!(
        client
            .set_port_priority(DUMMY_PORT, PortPriority::Static(201))
            .await,
        Err(OlaError::InvalidPriority(201))
    ));
    client.set_universe_name(1, "stage left").await.unwrap();
    client.set_merge_mode(1, MergeMode::Htp).await.unwrap();
    let info = client.universe(1).await.unwrap();
    assert_eq!(info.name, "stage left");
    assert_eq!(info.merge_mode, MergeMode::Htp as i32);
    assert_eq!(info.output_port_count, 1);
    let all = client.universes().await.unwrap();
    assert_eq!(all.len(), 1);
    // The patched port is no candidate any more; unpatch it and it is.
    let candidates = client.candidate_ports(None).await.unwrap();
    assert!(candidates.iter().all(|d| d.output_port.is_empty()));
    client.unpatch(DUMMY_PORT, 1).await.unwrap();
    let candidates = client.candidate_ports(None).await.unwrap();
    assert!(candidates.iter().any(|d| d.output_port.len() == 1));
    client.patch(DUMMY_PORT, 2).await.unwrap();
    client.update_dmx(2, &[1], None).await.unwrap();
}

#[tokio::test]
async fn monitor_sees_another_clients_frames() {
    let olad = olad(Some(1)).await;
    let watcher = client(&olad).await;
    let sender = client(&olad).await;
    let mut sub = watcher.register(1).await.unwrap();
    sender.update_dmx(1, &bench_frame(3), None).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.universe, 1);
    assert_eq!(got.data.to_vec(), bench_frame(3));
    sender.update_dmx(1, &bench_frame(4), None).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data.to_vec(), bench_frame(4));
    // The same as a Stream, and it ends when the universe is unregistered.
    let mut frames = Box::pin(sub.into_stream());
    sender.update_dmx(1, &bench_frame(5), None).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), frames.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data.to_vec(), bench_frame(5));
    watcher.unregister(1).await.unwrap();
    assert!(frames.next().await.is_none());
}

#[tokio::test]
async fn ten_thousand_streamed_frames_then_close_loses_nothing() {
    let olad = olad(Some(1)).await;
    let client = client(&olad).await;
    for i in 0..10_000 {
        client
            .stream_dmx(1, &bench_frame(i), Some(100))
            .await
            .unwrap();
    }
    client.close().await.unwrap();
    let reader = self::client(&olad).await;
    assert_eq!(
        reader.get_dmx(1).await.unwrap().to_vec(),
        bench_frame(9_999)
    );
}

#[tokio::test]
async fn a_monitor_under_a_100k_frame_stream_leaves_olad_alive() {
    let mut olad = olad(Some(1)).await;
    let watcher = client(&olad).await;
    let mut sub = watcher.register(1).await.unwrap();
    let sender = client(&olad).await;
    let rss_before = rss_kib(&olad);
    for i in 0..100_000 {
        sender.stream_dmx(1, &bench_frame(i), None).await.unwrap();
    }
    sender.close().await.unwrap();
    // Every push was acked and the watcher ends on the last frame.
    let last = bench_frame(99_999);
    let got = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let f = sub.next().await.unwrap();
            if f.data.to_vec() == last {
                return f;
            }
        }
    })
    .await
    .expect("the watcher never saw the last frame");
    assert!(got.seq >= 2, "seq {}", got.seq);
    assert!(olad.is_running(), "olad died:\n{}", olad.log_tail(20));
    // Every push was acked: olad keeps an entry per unanswered push, about
    // 24 MB per 100k (ola-rpc.md §7.8), and drops clients it cannot send to.
    let growth = rss_kib(&olad).saturating_sub(rss_before);
    assert!(growth < 12 * 1024, "olad grew by {growth} KiB");
    let log = std::fs::read_to_string(olad.log_path()).unwrap();
    assert!(!log.contains("Failed to send full RPC message"), "{log}");
    let check = client(&olad).await;
    assert_eq!(check.get_dmx(1).await.unwrap().to_vec(), last);
}

#[tokio::test]
async fn client_recovers_when_olad_is_killed_and_restarted() {
    let mut olad = olad(Some(1)).await;
    let client = OlaClient::connect_with(
        &olad.addr().to_string(),
        ClientConfig {
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let mut events = client.events();
    let mut sub = client.register(7).await.unwrap();
    client
        .update_dmx(1, &bench_frame(42), Some(120))
        .await
        .unwrap();

    olad.kill();
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ev, ClientEvent::Disconnected { .. }), "{ev:?}");
    assert!(matches!(
        client.get_dmx(1).await,
        Err(OlaError::NotConnected { .. })
    ));

    olad.restart().await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), settled(&mut events))
        .await
        .unwrap();
    assert_eq!(
        ev,
        ClientEvent::Reconnected {
            resubscribed: vec![7],
            resent: vec![1],
            failed: vec![],
        }
    );
    // The last frame is back in the fresh olad, and the subscription works.
    let other = OlaClient::connect(&olad.addr().to_string()).await.unwrap();
    assert_eq!(other.get_dmx(1).await.unwrap().to_vec(), bench_frame(42));
    other.update_dmx(7, &[1, 2, 3], None).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data.to_vec(), vec![1, 2, 3]);
}

#[tokio::test]
async fn dropping_the_last_subscription_unregisters_the_universe() {
    let mut olad = olad(None).await;
    let client = OlaClient::connect_with(
        &olad.addr().to_string(),
        ClientConfig {
            backoff_initial: Duration::from_millis(20),
            backoff_max: Duration::from_millis(200),
            ..ClientConfig::default()
        },
    )
    .await
    .unwrap();
    let mut events = client.events();
    // Registering creates a universe (ola-rpc.md §6), and a registered sink
    // keeps it alive; olad's housekeeping deletes it once nothing uses it.
    let dropped = client.register(4242).await.unwrap();
    let mut kept = client.register(4243).await.unwrap();
    let kept_twice = client.register(4243).await.unwrap();
    drop(dropped);
    // Another subscription to 4243 remains: it stays registered.
    drop(kept_twice);
    client.flush().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let universes: Vec<i32> = client
            .universes()
            .await
            .unwrap()
            .iter()
            .map(|u| u.universe)
            .collect();
        assert!(universes.contains(&4243), "{universes:?}");
        if !universes.contains(&4242) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "universe 4242 is still in use after its subscription was dropped: {universes:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A reconnect registers only the universe still subscribed.
    olad.kill();
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ev, ClientEvent::Disconnected { .. }), "{ev:?}");
    olad.restart().await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), settled(&mut events))
        .await
        .unwrap();
    assert_eq!(
        ev,
        ClientEvent::Reconnected {
            resubscribed: vec![4243],
            resent: vec![],
            failed: vec![],
        }
    );
    let other = OlaClient::connect(&olad.addr().to_string()).await.unwrap();
    other.update_dmx(4243, &[6, 7], None).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), kept.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.data.to_vec(), vec![6, 7]);
    let universes = other.universes().await.unwrap();
    assert!(
        universes.iter().all(|u| u.universe != 4242),
        "{universes:?}"
    );
}

#[tokio::test]
async fn harness_stops_olad_by_pid() {
    let mut olad = olad(None).await;
    let pid = olad.pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(exe.ends_with("olad"), "{exe:?}");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(uid_line.contains("65534"), "olad runs as {uid_line}");
    }
    let status = olad.shutdown().await.unwrap();
    // It exited on SIGTERM by itself, not by the SIGKILL after the grace period.
    assert!(status.success(), "{status:?}");
    assert!(!olad.is_running());
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(olad.shutdown().await, None);
    let err = OlaClient::connect(&olad.addr().to_string())
        .await
        .unwrap_err();
    assert!(matches!(err, OlaError::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn harness_does_not_mistake_another_listener_for_its_olad() {
    let squatter = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let err = OladProcess::start(OladOptions {
        port: Some(port),
        ..OladOptions::default()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, rvshell::ola::DaemonError::Exited { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("Address already in use"), "{err}");
}
