//! RV events forwarded to network clients by Mu handlers they upload
//! (rv-events.md §4), over the wire with raw protocol clients.
//!
//! To show that something did *not* arrive, a test has the simulator send
//! the client a `marker` event afterwards: events reach a connection in the
//! order they were fired, so whatever arrived before the marker is all
//! there is. No sleeps.

use futures_util::{SinkExt, StreamExt};
use rvshell::rv::codec::RvCodec;
use rvshell::rv::frame::Frame;
use rvshell::sim::mu::MAX_STEPS;
use rvshell::sim::server::{SimConfig, Simulator};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

type Peer = Framed<TcpStream, RvCodec>;

async fn sim() -> Simulator {
    Simulator::start(SimConfig::any_port()).await.unwrap()
}

/// A client greeted as `contact`, heartbeat off.
async fn connect(sim: &Simulator, contact: &str) -> Peer {
    let stream = TcpStream::connect(sim.local_addr()).await.unwrap();
    let mut peer = Framed::new(stream, RvCodec::default());
    peer.send(Frame::NewGreeting {
        contact: contact.into(),
        app: "rvshell".into(),
    })
    .await
    .unwrap();
    peer.send(Frame::PingPongControl(false)).await.unwrap();
    assert_eq!(next(&mut peer).await, Frame::Greeting("rvsim".into()));
    peer
}

async fn next(peer: &mut Peer) -> Frame {
    tokio::time::timeout(Duration::from_secs(10), peer.next())
        .await
        .expect("no frame within 10 s")
        .expect("connection closed")
        .unwrap()
}

/// The next MESSAGE's text.
async fn next_message(peer: &mut Peer) -> String {
    match next(peer).await {
        Frame::Message(text) => text,
        other => panic!("expected a MESSAGE, got {other:?}"),
    }
}

/// Sends `code` as a RETURNEVENT remote-eval; returns the EVENT messages
/// that arrived before the RETURN, and the RETURN's value.
async fn eval_seeing(peer: &mut Peer, code: &str) -> (Vec<String>, String) {
    peer.send(Frame::Message(format!("RETURNEVENT remote-eval * {code}")))
        .await
        .unwrap();
    let mut events = Vec::new();
    loop {
        let text = next_message(peer).await;
        match text.strip_prefix("RETURN ") {
            Some(value) => return (events, value.to_owned()),
            None => events.push(text),
        }
    }
}

/// [`eval_seeing`] for a client that expects no EVENTs.
async fn eval(peer: &mut Peer, code: &str) -> String {
    let (events, value) = eval_seeing(peer, code).await;
    assert!(events.is_empty(), "unexpected events {events:?}");
    value
}

/// A contact name as the client's regex matches it: metacharacters
/// escaped with a backslash, written `\\` in the Mu string.
fn regex_name(contact: &str) -> String {
    contact
        .chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The Mu the rvshell engine uploads, for `contact` and `(event, payload)`
/// pairs, in the form of the brief (one function per event, a minor mode
/// named after the contact).
fn upload(contact: &str, events: &[(&str, &str)]) -> String {
    let mode = format!("rvshell-events-{contact}");
    let name = regex_name(contact);
    let mut code = String::from("require commands;\n");
    for (i, (event, payload)) in events.iter().enumerate() {
        code.push_str(&format!(
            r#"function: rvshell_fwd_1a2b3c4d_{i} (void; Event event)
{{
    string contact = nil;
    for_each (c; commands.remoteConnections())
        if (regex("^{name}@").match(c)) contact = c;
    if (contact neq nil)
        commands.remoteSendEvent("{event}", "*", {payload}, string[] {{contact}});
    event.reject();
}}
"#
        ));
    }
    code.push_str(&format!("commands.defineMinorMode(\"{mode}\", 0, 0);\n"));
    for (i, (event, _)) in events.iter().enumerate() {
        code.push_str(&format!(
            "commands.bind(\"{mode}\", \"global\", \"{event}\", rvshell_fwd_1a2b3c4d_{i}, \"rvshell: forward {event}\");\n"
        ));
    }
    code.push_str(&format!("commands.activateMode(\"{mode}\");\ntrue;\n"));
    code
}

/// The exact Mu the rvshell engine uploads to subscribe contact
/// `rvshell-k3x9q2` to frame-changed and range-changed.
const CLIENT_UPLOAD: &str = include_str!("../src/sim/mu/testdata/rvshell_client_upload.mu");

const FRAME: &str = "string(commands.frame())";

/// A client greeted as `contact` that has uploaded forwarders of
/// `events` (answered `true`).
async fn subscriber(sim: &Simulator, contact: &str, events: &[(&str, &str)]) -> Peer {
    let mut peer = connect(sim, contact).await;
    assert_eq!(eval(&mut peer, &upload(contact, events)).await, "true");
    peer
}

/// Sends `contact` a `marker` EVENT through another connection, then
/// returns every message `peer` got before it.
async fn until_marker(control: &mut Peer, peer: &mut Peer, contact: &str) -> Vec<String> {
    let code = format!(
        r#"commands.remoteSendEvent("marker", "*", "", string[] {{"{contact}@localhost"}})"#
    );
    assert_eq!(eval(control, &code).await, "void");
    let mut got = Vec::new();
    loop {
        let text = next_message(peer).await;
        if text == "EVENT marker * " {
            return got;
        }
        got.push(text);
    }
}

#[tokio::test]
async fn the_client_upload_answers_true_and_another_clients_set_frame_reaches_it() {
    let sim = sim().await;
    let mut client = connect(&sim, "rvshell-k3x9q2").await;
    let mut other = connect(&sim, "other").await;
    assert_eq!(
        eval(&mut other, "remoteConnections()").await,
        r#"string[] {"rvshell-k3x9q2@localhost", "other@localhost"}"#
    );
    assert_eq!(eval(&mut client, CLIENT_UPLOAD).await, "true");
    assert_eq!(eval(&mut other, "setFrame(7)").await, "void");
    assert_eq!(
        next(&mut client).await,
        Frame::Message("EVENT frame-changed * 7".into())
    );
    assert_eq!(eval(&mut other, "setFrameEnd(50)").await, "void");
    assert_eq!(
        next_message(&mut client).await,
        "EVENT range-changed * 1 50"
    );
    // Signing off removes only this client's forwarding.
    let sign_off = r#"commands.deactivateMode("rvshell-events-rvshell-k3x9q2"); true;"#;
    assert_eq!(eval(&mut client, sign_off).await, "true");
    eval(&mut other, "setFrame(8)").await;
    let got = until_marker(&mut other, &mut client, "rvshell-k3x9q2").await;
    assert!(got.is_empty(), "{got:?}");
}

#[tokio::test]
async fn an_event_the_clients_own_request_fires_arrives_before_its_return() {
    let sim = sim().await;
    let mut client = connect(&sim, "rvshell-k3x9q2").await;
    assert_eq!(eval(&mut client, CLIENT_UPLOAD).await, "true");
    let (events, value) = eval_seeing(&mut client, r#"setFrame(12); "done""#).await;
    assert_eq!(events, ["EVENT frame-changed * 12"]);
    assert_eq!(value, r#""done""#);
}

#[tokio::test]
async fn play_then_stop_gives_play_start_frames_and_play_stop_in_order() {
    let sim = sim().await;
    let mut client = connect(&sim, "viewer").await;
    let mut control = connect(&sim, "control").await;
    let code = upload(
        "viewer",
        &[
            ("frame-changed", FRAME),
            ("play-start", FRAME),
            ("play-stop", FRAME),
        ],
    );
    assert_eq!(eval(&mut client, &code).await, "true");
    eval(&mut control, "setFrameEnd(1000000); setFPS(240.0); play()").await;
    assert_eq!(next_message(&mut client).await, "EVENT play-start * 1");
    // The playback clock fires frame-changed once per displayed frame.
    let mut last = 1;
    for _ in 0..5 {
        let text = next_message(&mut client).await;
        let frame: i32 = text
            .strip_prefix("EVENT frame-changed * ")
            .unwrap_or_else(|| panic!("{text}"))
            .parse()
            .unwrap();
        assert!(frame > last, "{frame} after {last}");
        last = frame;
    }
    let stopped: i32 = eval(&mut control, "stop(); frame()").await.parse().unwrap();
    let mut frames = Vec::new();
    loop {
        let text = next_message(&mut client).await;
        if let Some(frame) = text.strip_prefix("EVENT play-stop * ") {
            assert_eq!(frame, stopped.to_string());
            break;
        }
        let frame: i32 = text
            .strip_prefix("EVENT frame-changed * ")
            .unwrap_or_else(|| panic!("{text}"))
            .parse()
            .unwrap();
        assert!(frame > last, "{frame} after {last}");
        last = frame;
        frames.push(frame);
    }
    assert_eq!(
        last, stopped,
        "the last frame-changed is the frame stopped on"
    );
    let got = until_marker(&mut control, &mut client, "viewer").await;
    assert!(got.is_empty(), "nothing after play-stop: {got:?}");
}

#[tokio::test]
async fn two_subscribers_both_receive_and_deactivating_stops_only_ones_own() {
    let sim = sim().await;
    let mut a = subscriber(&sim, "sub.a", &[("frame-changed", FRAME)]).await;
    let mut b = subscriber(&sim, "sub-b", &[("frame-changed", FRAME)]).await;
    let mut control = connect(&sim, "control").await;
    eval(&mut control, "setFrame(3)").await;
    assert_eq!(next_message(&mut a).await, "EVENT frame-changed * 3");
    assert_eq!(next_message(&mut b).await, "EVENT frame-changed * 3");
    let sign_off = r#"commands.deactivateMode("rvshell-events-sub.a"); true;"#;
    assert_eq!(eval(&mut a, sign_off).await, "true");
    eval(&mut control, "setFrame(4)").await;
    assert_eq!(next_message(&mut b).await, "EVENT frame-changed * 4");
    let got = until_marker(&mut control, &mut a, "sub.a").await;
    assert!(got.is_empty(), "{got:?}");
}

#[tokio::test]
async fn uploading_again_rebinds_rather_than_adding_a_second_handler() {
    let sim = sim().await;
    let mut client = subscriber(&sim, "again", &[("frame-changed", FRAME)]).await;
    let mut control = connect(&sim, "control").await;
    let code = upload("again", &[("frame-changed", FRAME)]);
    assert_eq!(eval(&mut client, &code).await, "true");
    eval(&mut control, "setFrame(5)").await;
    let got = until_marker(&mut control, &mut client, "again").await;
    assert_eq!(got, ["EVENT frame-changed * 5"]);
}

#[tokio::test]
async fn bind_on_an_unknown_mode_is_an_error() {
    let sim = sim().await;
    let mut client = connect(&sim, "c").await;
    let code = r#"function: h (void; Event event) { event.reject(); }
commands.bind("no-such-mode", "global", "frame-changed", h, "doc"); true;"#;
    let got = eval(&mut client, code).await;
    assert!(
        got.starts_with("ERROR: remote-eval: ") && got.contains("No mode named no-such-mode"),
        "{got}"
    );
}

#[tokio::test]
async fn the_rv_network_py_form_forwards_event_contents() {
    let sim = sim().await;
    let mut client = connect(&sim, "py.client").await;
    let mut control = connect(&sim, "control").await;
    // RvCommunicator.bindToEvent: mode "default", the handler named after
    // the Python function and the event (rv-events.md §2).
    for event in ["new-in-point", "new-out-point", "source-group-complete"] {
        let handler = format!("pyhandler_{}", event.replace('-', "_"));
        let code = include_str!("../src/sim/mu/testdata/rv_network_bind.mu")
            .replace("HANDLER", &handler)
            .replace("EVENT-NAME", event);
        assert_eq!(eval(&mut client, &code).await, "true");
    }
    eval(&mut control, "setInPoint(10); setOutPoint(20)").await;
    assert_eq!(next_message(&mut client).await, "EVENT new-in-point * 10");
    assert_eq!(next_message(&mut client).await, "EVENT new-out-point * 20");
    assert_eq!(eval(&mut control, "inPoint() + outPoint()").await, "30");
    let created = eval(
        &mut control,
        r#"newImageSource("M", 2, 2, 2, 2, 0, 0, 1.0, 4, 8, false, 1, 1, 24.0, nil, nil)"#,
    )
    .await;
    assert_eq!(created, r#""sourceGroup000000_source""#);
    assert_eq!(
        next_message(&mut client).await,
        "EVENT source-group-complete * sourceGroup000000;;new"
    );
}

#[tokio::test]
async fn in_out_points_and_the_range_carry_their_values() {
    let sim = sim().await;
    let mut client = connect(&sim, "points").await;
    let code = upload(
        "points",
        &[
            ("new-in-point", "event.contents()"),
            ("new-out-point", "event.contents()"),
            (
                "range-changed",
                r#"string(commands.frameStart()) + " " + string(commands.frameEnd())"#,
            ),
            ("fps-changed", "string(commands.fps())"),
        ],
    );
    assert_eq!(eval(&mut client, &code).await, "true");
    let (events, _) = eval_seeing(
        &mut client,
        "setFrameStart(5); setFrameEnd(60); setInPoint(10); setOutPoint(40); setFPS(30)",
    )
    .await;
    assert_eq!(
        events,
        [
            "EVENT range-changed * 5 100",
            "EVENT range-changed * 5 60",
            "EVENT new-in-point * 10",
            "EVENT new-out-point * 40",
            "EVENT fps-changed * 30.000000",
        ]
    );
}

#[tokio::test]
async fn a_handler_that_throws_leaves_the_simulator_serving() {
    let sim = sim().await;
    let mut client = connect(&sim, "bad").await;
    let mut other = connect(&sim, "other").await;
    let code = r#"function: boom (void; Event event) { int(event.contents()); }
commands.bind("default", "global", "frame-changed", boom, "throws"); true;"#;
    assert_eq!(eval(&mut client, code).await, "true");
    assert_eq!(eval(&mut other, "setFrame(3); frame()").await, "3");
    sim.fire_event("frame-changed", "not a number");
    assert_eq!(eval(&mut other, "frame()").await, "3");
}

#[tokio::test]
async fn an_endless_loop_answers_an_error_naming_the_step_limit() {
    let sim = sim().await;
    let mut client = connect(&sim, "loop").await;
    let mut other = connect(&sim, "other").await;
    let got = eval(&mut client, "while (true) {}").await;
    assert!(got.starts_with("ERROR: remote-eval: "), "{got}");
    assert!(
        got.contains(&format!(
            "more than {MAX_STEPS} steps (the simulator's step limit)"
        )) || got.contains("the simulator's time limit per request"),
        "{got}"
    );
    assert_eq!(eval(&mut other, "frame()").await, "1");
    // A looping handler is aborted the same way, and the simulator goes on.
    let code = r#"function: spin (void; Event event) { while (true) {} }
commands.bind("default", "global", "spin", spin, ""); true;"#;
    assert_eq!(eval(&mut client, code).await, "true");
    sim.fire_event("spin", "");
    assert_eq!(eval(&mut other, "frame()").await, "1");
}

#[tokio::test]
async fn fire_event_reaches_the_subscribed_client() {
    let sim = sim().await;
    let mut client = subscriber(&sim, "bench", &[("user-ping", "event.contents()")]).await;
    sim.fire_event("user-ping", "42");
    assert_eq!(next_message(&mut client).await, "EVENT user-ping * 42");
}

#[tokio::test]
async fn handlers_and_bindings_outlive_the_connection_that_made_them() {
    let sim = sim().await;
    let mut first = connect(&sim, "first").await;
    let code = upload("later", &[("frame-changed", FRAME)]);
    assert_eq!(eval(&mut first, &code).await, "true");
    first
        .send(Frame::Message("DISCONNECT".into()))
        .await
        .unwrap();
    drop(first);
    let mut later = connect(&sim, "later").await;
    let mut control = connect(&sim, "control").await;
    eval(&mut control, "setFrame(9)").await;
    assert_eq!(next_message(&mut later).await, "EVENT frame-changed * 9");
}
