//! `rvshell watch [EVENT...]`: RV's own events as they happen, one line each
//! (rv-events.md), until Ctrl+C or `--count` events.
//!
//! Exit codes: 0 after Ctrl+C, SIGTERM, SIGHUP or `--count` events; 2 when RV cannot
//! be reached, refuses to forward its events, or is lost for good.

use crate::clock::LocalTime;
use crate::options::RvArgs;
use crate::rv::client::{ClientEvent, Reconnect, RvClient};
use crate::rv::events::{DEFAULT_EVENTS, RvEvent};
use clap::Args;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `rvshell watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// RV's events to watch [default: frame-changed play-start play-stop
    /// range-changed new-in-point new-out-point source-group-complete
    /// after-graph-view-change].
    #[arg(value_name = "EVENT")]
    pub events: Vec<String>,
    /// Stop after this many events.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
    /// One JSON object per line: {"time", "rv", "event", "contents"} and
    /// "frame" for events that carry one.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub rv: RvArgs,
}

/// One event as `rvshell watch` prints it.
pub fn format_event(event: &RvEvent, json: bool) -> String {
    let time = LocalTime::of(event.received);
    if json {
        let mut object = serde_json::json!({
            "time": time.rfc3339(),
            "rv": event.rv,
            "event": event.name,
            "contents": event.contents,
        });
        if let Some(frame) = event.frame {
            object["frame"] = frame.into();
        }
        object.to_string()
    } else {
        format!("{} {} {}", time.hms_millis(), event.name, event.contents)
            .trim_end()
            .to_owned()
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("rvshell watch: {message}");
    ExitCode::from(2)
}

/// Runs `rvshell watch`.
pub fn run(args: WatchArgs) -> ExitCode {
    let events: Vec<String> = if args.events.is_empty() {
        DEFAULT_EVENTS.iter().map(|e| e.to_string()).collect()
    } else {
        args.events.clone()
    };
    for name in &events {
        if let Err(err) = crate::rv::events::check_event_name(name) {
            return fail(err);
        }
    }
    let mut config = crate::cmd::rv::config_for(&args.rv);
    // A watcher outlives an RV restart: reconnect, and the handlers are
    // installed again by the connection itself.
    config.reconnect = Some(Reconnect::default());
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return fail(err),
    };
    rt.block_on(watch(config, events, args.count, args.json))
}

async fn watch(
    config: crate::rv::client::Config,
    events: Vec<String>,
    count: Option<u64>,
    json: bool,
) -> ExitCode {
    let (client, mut incoming) = match RvClient::connect(config).await {
        Ok(connected) => connected,
        Err(err) => return fail(err),
    };
    if let Err(err) = client.subscribe(&events).await {
        client.close().await;
        return fail(format!(
            "{err}; `rvshell eval` can still poll the frame (frame())"
        ));
    }
    let mut stdout = std::io::stdout();
    let mut seen = 0u64;
    let code = loop {
        if count.is_some_and(|n| seen >= n) {
            break ExitCode::SUCCESS;
        }
        let event = tokio::select! {
            event = incoming.recv() => event,
            _ = stop_signal() => break ExitCode::SUCCESS,
        };
        match event {
            Some(ClientEvent::RvEvent(event)) => {
                seen += 1;
                let line = format_event(&event, json);
                if writeln!(stdout, "{line}")
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    // The reader went away (`| head`): done.
                    break ExitCode::SUCCESS;
                }
            }
            Some(ClientEvent::Disconnected {
                reason,
                retry_in: Some(wait),
            }) => eprintln!(
                "rvshell watch: lost RV at {}: {reason}; retrying in {:.1} s",
                client.address(),
                wait.as_secs_f64()
            ),
            Some(ClientEvent::Subscribed { .. }) => {
                eprintln!("rvshell watch: watching {} again", client.address());
            }
            Some(ClientEvent::SubscribeFailed { reason }) => {
                break fail(format!("RV refused to forward its events: {reason}"));
            }
            Some(ClientEvent::Disconnected {
                reason,
                retry_in: None,
            }) => break fail(format!("lost RV at {}: {reason}", client.address())),
            Some(_) => {}
            None => break fail(format!("the connection to {} ended", client.address())),
        }
    };
    // Handlers off and DISCONNECT (the client does both on close).
    client.close().await;
    code
}

/// Ctrl+C, SIGTERM or SIGHUP (the terminal closed).
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut term), Ok(mut hup)) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn json_lines_carry_the_frame_for_frame_events() {
        let mut event = RvEvent::new("frame-changed", "12", "localhost:45124");
        event.received = UNIX_EPOCH + Duration::from_millis(1_796_665_474_123);
        let line = format_event(&event, true);
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "frame-changed");
        assert_eq!(value["contents"], "12");
        assert_eq!(value["rv"], "localhost:45124");
        assert_eq!(value["frame"], 12);
        let time = value["time"].as_str().unwrap();
        assert!(time.starts_with("2026-12-0"), "{time}");
        assert!(time.contains(".123"), "{time}");
        let other = RvEvent::new("source-group-complete", "sourceGroup000001;;new", "h:1");
        let value: serde_json::Value = serde_json::from_str(&format_event(&other, true)).unwrap();
        assert!(value.get("frame").is_none());
        assert_eq!(value["contents"], "sourceGroup000001;;new");
    }

    #[test]
    fn text_lines_are_time_event_contents() {
        let event = RvEvent::new("play-start", "7", "h:1");
        let line = format_event(&event, false);
        let parts: Vec<&str> = line.splitn(3, ' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[0].len(), 12, "{line}");
        assert_eq!(&parts[1..], ["play-start", "7"]);
        assert_eq!(
            format_event(&RvEvent::new("play-stop", "", "h:1"), false)
                .split(' ')
                .count(),
            2
        );
    }
}
