//! The OLA-DMX tab's runner against a real olad (private, Dummy plugin only):
//! every command turns into the right requests and comes back as the right
//! event; olad not running is reported and retried.

use rvshell::app::dmx_console::{Frame, SLOTS};
use rvshell::app::dmx_tab::{DmxCommand, DmxEvent, OladState, PortEntry};
use rvshell::ola::daemon::{OladOptions, OladProcess};
use rvshell::shell::dmx::{DmxRunner, OladTarget, Post};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

fn runner(addr: String) -> (DmxRunner, mpsc::UnboundedReceiver<DmxEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let post: Post = Arc::new(move |event| {
        let _ = tx.send(event);
    });
    (
        DmxRunner::start(OladTarget::Address(addr), Duration::from_secs(5), post),
        rx,
    )
}

/// A private olad and a runner connected to it.
async fn connected_to_a_private_olad() -> (OladProcess, DmxRunner, mpsc::UnboundedReceiver<DmxEvent>)
{
    let olad = OladProcess::start(OladOptions::default())
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let (dmx, mut rx) = runner(olad.addr().to_string());
    next(&mut rx, |e| {
        (e == DmxEvent::State(OladState::Connected)).then_some(())
    })
    .await;
    (olad, dmx, rx)
}

/// The next event that `pick` accepts (others, such as readback pushes, are
/// skipped); the limit only bounds a hang.
async fn next<T>(
    rx: &mut mpsc::UnboundedReceiver<DmxEvent>,
    mut pick: impl FnMut(DmxEvent) -> Option<T>,
) -> T {
    let mut skipped = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let event = rx.recv().await.expect("the runner is alive");
            let shown = format!("{event:?}");
            if let Some(found) = pick(event) {
                return found;
            }
            skipped.push(shown);
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("the event never came; skipped: {skipped:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_olad_and_come_back_as_events() {
    let (_olad, mut dmx, mut rx) = connected_to_a_private_olad().await;

    // The Dummy device's free output port.
    dmx.execute(DmxCommand::ListPorts);
    let ports = next(&mut rx, |e| match e {
        DmxEvent::Ports(result) => Some(result.unwrap()),
        _ => None,
    })
    .await;
    let port: PortEntry = ports
        .into_iter()
        .find(|p| p.is_output && p.device.contains("Dummy"))
        .expect("the Dummy output port is free");

    // Patch it to universe 5, named.
    dmx.execute(DmxCommand::Patch {
        port,
        universe: 5,
        name: Some("Stage left".into()),
    });
    let patched = next(&mut rx, |e| match e {
        DmxEvent::Patched {
            universe, result, ..
        } => Some((universe, result)),
        _ => None,
    })
    .await;
    assert_eq!(patched, (5, Ok(())));
    dmx.execute(DmxCommand::ListUniverses);
    let universes = next(&mut rx, |e| match e {
        DmxEvent::Universes(result) => Some(result.unwrap()),
        _ => None,
    })
    .await;
    assert!(
        universes
            .iter()
            .any(|u| u.universe == 5 && u.name == "Stage left"),
        "{universes:?}"
    );

    // Readback, then a frame: the push carries it.
    dmx.execute(DmxCommand::Register(5));
    let registered = next(&mut rx, |e| match e {
        DmxEvent::Registered { universe, result } => Some((universe, result)),
        _ => None,
    })
    .await;
    assert_eq!(registered, (5, Ok(())));
    let mut data = [0; SLOTS];
    data[0] = 255;
    data[9] = 42;
    dmx.execute(DmxCommand::Send(Box::new(Frame {
        universe: 5,
        priority: 150,
        generation: 7,
        data,
    })));
    // olad pushes to a registered sender *before* it answers the update
    // (ola-rpc.md §4), so the two events come in either order.
    let (mut sent, mut pushed) = (None, None);
    while sent.is_none() || pushed.is_none() {
        next(&mut rx, |e| match e {
            DmxEvent::Sent {
                generation, result, ..
            } => {
                sent = Some((generation, result));
                Some(())
            }
            DmxEvent::Readback {
                universe: 5,
                data: d,
            } if d.get(9) == Some(&42) => {
                pushed = Some(d);
                Some(())
            }
            _ => None,
        })
        .await;
    }
    assert_eq!(sent, Some((7, Ok(()))));
    assert_eq!(pushed, Some(data.to_vec()));
    dmx.execute(DmxCommand::Load(5));
    let loaded = next(&mut rx, |e| match e {
        DmxEvent::Loaded {
            universe: 5,
            result,
        } => Some(result.unwrap()),
        _ => None,
    })
    .await;
    assert_eq!(loaded, data.to_vec());

    // A universe nobody patched or uses: olad refuses, and says how to fix it.
    dmx.execute(DmxCommand::Send(Box::new(Frame {
        universe: 77,
        priority: 100,
        generation: 8,
        data,
    })));
    let refused = next(&mut rx, |e| match e {
        DmxEvent::Sent {
            generation: 8,
            result,
            ..
        } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(
        refused,
        Err("universe 77 does not exist on olad; patch a port to it (U, then p)".into())
    );
    dmx.close(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewing_another_universe_unregisters_the_old_one() {
    let (_olad, mut dmx, mut rx) = connected_to_a_private_olad().await;
    // Registering creates a universe (ola-rpc.md §6); olad's housekeeping
    // deletes it once no client is registered for it any more.
    for universe in [4242, 4243] {
        dmx.execute(DmxCommand::Register(universe));
        let registered = next(&mut rx, |e| match e {
            DmxEvent::Registered { universe, result } => Some((universe, result)),
            _ => None,
        })
        .await;
        assert_eq!(registered, (universe, Ok(())));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        dmx.execute(DmxCommand::ListUniverses);
        let universes: Vec<u32> = next(&mut rx, |e| match e {
            DmxEvent::Universes(result) => Some(result.unwrap()),
            _ => None,
        })
        .await
        .into_iter()
        .map(|u| u.universe)
        .collect();
        assert!(universes.contains(&4243), "{universes:?}");
        if !universes.contains(&4242) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "universe 4242 is still registered after switching away: {universes:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    dmx.close(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn olad_not_running_is_reported_then_retried_until_it_is() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (mut dmx, mut rx) = runner(format!("127.0.0.1:{port}"));
    let reason = next(&mut rx, |e| match e {
        DmxEvent::State(OladState::NotRunning { reason }) => Some(reason),
        _ => None,
    })
    .await;
    assert!(reason.contains("refused"), "{reason}");
    // Without a connection, commands fail at once instead of hanging.
    dmx.execute(DmxCommand::Load(1));
    let loaded = next(&mut rx, |e| match e {
        DmxEvent::Loaded { result, .. } => Some(result),
        _ => None,
    })
    .await;
    assert_eq!(loaded, Err("olad is not connected".into()));
    let _olad = OladProcess::start(OladOptions {
        port: Some(port),
        ..OladOptions::default()
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    next(&mut rx, |e| {
        (e == DmxEvent::State(OladState::Connected)).then_some(())
    })
    .await;
    dmx.close(None).await;
}
