//! Pushing pixels: exact bytes on the wire, reassembled by a scripted RV, and
//! every way a push can fail.

use futures_util::{SinkExt, StreamExt};
use rvshell::rv::client::{Config, DataFrame, MAP_ALIGN, Payload, RequestError, Rows, RvClient};
use rvshell::rv::codec::RvCodec;
use rvshell::rv::frame::Frame;
use rvshell::rv::pixels::{Depth, Samples, TileHeader, Tiling, invert_into, source_creation_mu};
use rvshell::rv::push::{PushError, PushOptions, push};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

type Peer = Framed<TcpStream, RvCodec>;

async fn connected() -> (RvClient, TcpListener, Peer) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::new("127.0.0.1", listener.local_addr().unwrap().port());
    config.request_timeout = Duration::from_secs(5);
    let accept = async {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Framed::new(stream, RvCodec::default());
        peer.next().await.unwrap().unwrap();
        peer.send(Frame::Greeting("fakerv".into())).await.unwrap();
        assert_eq!(next(&mut peer).await, Some(Frame::PingPongControl(false)));
        peer
    };
    let (connected, peer) = tokio::join!(RvClient::connect(config), accept);
    (connected.unwrap().0, listener, peer)
}

async fn next(peer: &mut Peer) -> Option<Frame> {
    tokio::time::timeout(Duration::from_secs(10), peer.next())
        .await
        .expect("no frame within 10 s")
        .map(|f| f.unwrap())
}

/// A deterministic test image with every channel varying.
fn test_samples(width: u32, height: u32, depth: Depth) -> Samples {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x * 7 + y) as u8,
            (y * 3) as u8,
            (x ^ y) as u8,
            (255 - (x + y) % 256) as u8,
        ])
    });
    Samples::from_image(&image::DynamicImage::ImageRgba8(img), depth)
}

/// What the scripted RV saw: both eyes reassembled from the tiles, in RV's
/// bottom-up layout, and every pixel's tile count.
struct Received {
    left: Vec<u8>,
    right: Vec<u8>,
    coverage: Vec<u8>,
    tiles: usize,
    creation: Option<String>,
}

/// Plays RV for a push of a `width` x `height` image: answers the creation
/// block, then reads tiles until the redraw EVENT.
async fn play_rv(
    peer: &mut Peer,
    media: &str,
    width: u32,
    height: u32,
    depth: Depth,
    update_only: bool,
) -> Received {
    let pixel = 4 * depth.bytes();
    let size = width as usize * height as usize * pixel;
    let mut got = Received {
        left: vec![0; size],
        right: vec![0; size],
        coverage: vec![0; width as usize * height as usize],
        tiles: 0,
        creation: None,
    };
    if update_only {
        // The push asks first whether RV has the media at all.
        assert_eq!(
            next(peer).await,
            Some(Frame::Message("RETURNEVENT remote-eval * sources()".into()))
        );
        let reply = format!("RETURN string[] {{\"other\", \"{media}\"}}");
        peer.send(Frame::Message(reply)).await.unwrap();
    } else {
        match next(peer).await {
            Some(Frame::Message(text)) => {
                let block = text
                    .strip_prefix("RETURNEVENT remote-eval * ")
                    .expect(&text)
                    .to_owned();
                got.creation = Some(block);
                let reply = "RETURN \"sourceGroup000007_source.image.1:right\"";
                peer.send(Frame::Message(reply.into())).await.unwrap();
            }
            other => panic!("expected the creation block, got {other:?}"),
        }
    }
    loop {
        match next(peer).await {
            Some(Frame::Data { header, payload }) => {
                let tile = TileHeader::parse(&header).unwrap();
                assert_eq!(tile.media, media);
                assert_eq!(tile.f, 1);
                assert_eq!(payload.len(), tile.w as usize * tile.h as usize * pixel);
                let eye = match tile.view.as_deref() {
                    Some("left") => &mut got.left,
                    Some("right") => &mut got.right,
                    other => panic!("view {other:?}"),
                };
                for r in 0..tile.h as usize {
                    let row = (tile.y as usize + r) * width as usize + tile.x as usize;
                    let src = &payload[r * tile.w as usize * pixel..][..tile.w as usize * pixel];
                    eye[row * pixel..][..src.len()].copy_from_slice(src);
                    if tile.view.as_deref() == Some("left") {
                        for c in &mut got.coverage[row..row + tile.w as usize] {
                            *c += 1;
                        }
                    }
                }
                got.tiles += 1;
            }
            Some(Frame::Message(text)) => {
                assert_eq!(text, "EVENT remote-eval * redraw()");
                return got;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn pushes_are_pixel_exact_for_odd_sizes_every_tiling_and_depth() {
    let (width, height) = (333, 201);
    for depth in [Depth::U8, Depth::U16, Depth::F32] {
        let samples = test_samples(width, height, depth);
        let mut inverse = Vec::new();
        invert_into(depth, samples.bytes(), &mut inverse);
        for tiling in [
            Tiling::Grid { nx: 1, ny: 1 },
            Tiling::Grid { nx: 3, ny: 2 },
            Tiling::Grid { nx: 7, ny: 5 },
            Tiling::Buckets { w: 64, h: 64 },
        ] {
            let (client, _listener, mut peer) = connected().await;
            let options = PushOptions {
                tiling,
                media: Some("odd-image".into()),
                ..PushOptions::default()
            };
            let cancel = CancellationToken::new();
            let pushing = push(&client, &samples, &options, &cancel, |_| {});
            let (report, got) = tokio::join!(
                pushing,
                play_rv(&mut peer, "odd-image", width, height, depth, false)
            );
            let report = report.unwrap();
            let expected_tiles = tiling.plan(width, height).unwrap().len();
            assert_eq!(report.tiles, expected_tiles);
            assert_eq!(
                got.tiles,
                2 * expected_tiles,
                "{tiling}: left and right per tile"
            );
            assert_eq!(report.node.as_deref(), Some("sourceGroup000007_source"));
            assert_eq!(report.bytes, 2 * samples.bytes().len() as u64);
            assert_eq!(
                got.creation.unwrap(),
                source_creation_mu("odd-image", width, height, depth, 1)
            );
            assert!(
                got.coverage.iter().all(|&c| c == 1),
                "{tiling}: every pixel exactly once"
            );
            assert!(
                got.left == samples.bytes(),
                "{tiling} {depth:?}: left eye differs"
            );
            assert!(
                got.right == inverse,
                "{tiling} {depth:?}: right eye differs"
            );
        }
    }
}

#[tokio::test]
async fn update_only_sends_tiles_without_creating_a_source() {
    let (client, _listener, mut peer) = connected().await;
    let samples = test_samples(16, 9, Depth::U8);
    let options = PushOptions {
        media: Some("existing".into()),
        update_only: true,
        tiling: Tiling::Grid { nx: 2, ny: 2 },
        ..PushOptions::default()
    };
    let cancel = CancellationToken::new();
    let (report, got) = tokio::join!(
        push(&client, &samples, &options, &cancel, |_| {}),
        play_rv(&mut peer, "existing", 16, 9, Depth::U8, true)
    );
    let report = report.unwrap();
    assert_eq!(report.node, None);
    assert_eq!(got.creation, None);
    assert_eq!(got.left, samples.bytes());
    let needs_media = PushOptions {
        update_only: true,
        ..PushOptions::default()
    };
    let err = push(&client, &samples, &needs_media, &cancel, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::UpdateNeedsMedia), "{err}");
}

#[tokio::test]
async fn update_only_for_a_media_rv_lacks_sends_nothing() {
    let (client, _listener, mut peer) = connected().await;
    let samples = test_samples(16, 9, Depth::U8);
    let options = PushOptions {
        media: Some("gone".into()),
        update_only: true,
        ..PushOptions::default()
    };
    let cancel = CancellationToken::new();
    let rv = async {
        assert_eq!(
            next(&mut peer).await,
            Some(Frame::Message("RETURNEVENT remote-eval * sources()".into()))
        );
        // "gone" only as part of another name: not a match.
        let reply = "RETURN string[] {\"gone2\", \"x\"}";
        peer.send(Frame::Message(reply.into())).await.unwrap();
    };
    let (result, ()) = tokio::join!(push(&client, &samples, &options, &cancel, |_| {}), rv);
    match result {
        Err(PushError::NoSuchMedia { media }) => assert_eq!(media, "gone"),
        other => panic!("{other:?}"),
    }
    client.close().await;
    // Nothing but the sign-off followed the question.
    assert_eq!(
        next(&mut peer).await,
        Some(Frame::Message("DISCONNECT".into()))
    );
}

#[tokio::test]
async fn a_creation_timeout_sends_no_pixels() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::new("127.0.0.1", listener.local_addr().unwrap().port());
    config.request_timeout = Duration::from_millis(300);
    let accept = async {
        let (stream, _) = listener.accept().await.unwrap();
        let mut peer = Framed::new(stream, RvCodec::default());
        peer.next().await.unwrap().unwrap();
        peer.send(Frame::Greeting("slowrv".into())).await.unwrap();
        peer
    };
    let (connected, mut peer) = tokio::join!(RvClient::connect(config), accept);
    let (client, _events) = connected.unwrap();
    let samples = test_samples(8, 8, Depth::U8);
    let err = push(
        &client,
        &samples,
        &PushOptions::default(),
        &CancellationToken::new(),
        |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            PushError::Create {
                source: RequestError::Timeout { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("no pixels were sent"), "{err}");
    // The peer saw PINGPONGCONTROL and the creation block, and nothing else.
    assert_eq!(next(&mut peer).await, Some(Frame::PingPongControl(false)));
    assert!(
        matches!(next(&mut peer).await, Some(Frame::Message(t)) if t.contains("newImageSource"))
    );
    let quiet = tokio::time::timeout(Duration::from_millis(200), peer.next()).await;
    assert!(
        quiet.is_err(),
        "something was sent after a failed creation: {quiet:?}"
    );
}

#[tokio::test]
async fn an_error_return_on_creation_is_a_refusal() {
    let (client, _listener, mut peer) = connected().await;
    let samples = test_samples(8, 8, Depth::U8);
    let rv = async {
        next(&mut peer).await;
        let reply = "RETURN ERROR: remote-eval: exception: bad source\n";
        peer.send(Frame::Message(reply.into())).await.unwrap();
    };
    let (options, cancel) = (PushOptions::default(), CancellationToken::new());
    let (result, ()) = tokio::join!(push(&client, &samples, &options, &cancel, |_| {}), rv);
    let err = result.unwrap_err();
    assert!(matches!(err, PushError::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains("bad source; no pixels were sent"),
        "{err}"
    );
}

#[tokio::test]
async fn a_peer_vanishing_mid_push_says_how_far_it_got() {
    let (client, _listener, mut peer) = connected().await;
    // Big enough tiles that the socket buffers cannot swallow the whole push.
    let samples = test_samples(1024, 1024, Depth::F32);
    let options = PushOptions {
        tiling: Tiling::Grid { nx: 4, ny: 4 },
        ..PushOptions::default()
    };
    let rv = async move {
        next(&mut peer).await;
        peer.send(Frame::Message("RETURN \"n.image.1\"".into()))
            .await
            .unwrap();
        for _ in 0..4 {
            assert!(matches!(next(&mut peer).await, Some(Frame::Data { .. })));
        }
        drop(peer);
    };
    let cancel = CancellationToken::new();
    let (result, ()) = tokio::join!(push(&client, &samples, &options, &cancel, |_| {}), rv);
    match result.unwrap_err() {
        PushError::Send { done, total, .. } => {
            assert!(done >= 2 && done < total, "done {done} of {total}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_push_cancelled_between_tiles_stops_cleanly() {
    let (client, _listener, mut peer) = connected().await;
    let samples = test_samples(40, 40, Depth::U8);
    // One frame at a time, so the cancel lands between tiles 3 and 4.
    let options = PushOptions {
        tiling: Tiling::Grid { nx: 5, ny: 2 },
        window_bytes: 0,
        ..PushOptions::default()
    };
    let cancel = CancellationToken::new();
    let mut seen = Vec::new();
    let rv = async {
        next(&mut peer).await;
        peer.send(Frame::Message("RETURN ".into())).await.unwrap();
    };
    let (result, ()) = tokio::join!(
        push(&client, &samples, &options, &cancel, |p| {
            seen.push(p.tiles_done);
            if p.tiles_done == 3 {
                cancel.cancel();
            }
        }),
        rv
    );
    let err = result.unwrap_err();
    assert!(
        matches!(
            err,
            PushError::Cancelled {
                done: 3,
                total: 10,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(seen, [0, 1, 2, 3]);
    // The connection is still usable after a cancelled push.
    let (pong, ()) = tokio::join!(client.ping(), async {
        loop {
            match next(&mut peer).await {
                Some(Frame::Ping) => break,
                Some(Frame::Data { .. }) => continue,
                other => panic!("{other:?}"),
            }
        }
        peer.send(Frame::Pong).await.unwrap();
    });
    pong.unwrap();
}

#[tokio::test]
async fn bad_tilings_and_media_names_are_refused_before_sending() {
    let (client, _listener, _peer) = connected().await;
    let samples = test_samples(10, 10, Depth::U8);
    let cancel = CancellationToken::new();
    for (tiling, text) in [
        (Tiling::Grid { nx: 0, ny: 1 }, "at least 1"),
        (Tiling::Grid { nx: 11, ny: 1 }, "more tiles than pixels"),
    ] {
        let options = PushOptions {
            tiling,
            ..PushOptions::default()
        };
        let err = push(&client, &samples, &options, &cancel, |_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains(text), "{err}");
    }
    let options = PushOptions {
        media: Some("has space".into()),
        ..PushOptions::default()
    };
    let err = push(&client, &samples, &options, &cancel, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PushError::Media(_)), "{err}");
}

#[tokio::test]
async fn data_frames_from_rows_arrive_as_one_run_each_even_past_a_thousand_rows() {
    let (client, _listener, mut peer) = connected().await;
    // 1500 rows of 4 KiB, 5 KiB apart: more slices than one vectored write takes.
    let (rows, row_len, stride) = (1500usize, 4096usize, 5120usize);
    let image: Vec<u8> = (0..rows * stride).map(|i| (i % 253) as u8).collect();
    let bytes = bytes::Bytes::from(image.clone());
    let expected: Vec<u8> = (0..rows)
        .flat_map(|r| image[r * stride + 7..r * stride + 7 + row_len].to_vec())
        .collect();
    let frames = vec![
        DataFrame {
            header: "PIXELTILE(media=m,w=1024,h=1500,x=0,y=0,f=1)".into(),
            payload: Payload::Rows(Rows {
                bytes: bytes.clone(),
                start: 7,
                row_len,
                stride,
                rows,
            }),
        },
        DataFrame {
            header: "DATAEVENT(e,t,raw)".into(),
            payload: Payload::Whole(bytes.slice(..3)),
        },
    ];
    let ack = client.queue_data(frames).await.unwrap();
    let (written, (first, second)) = tokio::join!(ack, async {
        (next(&mut peer).await, next(&mut peer).await)
    });
    written.unwrap();
    assert_eq!(
        first,
        Some(Frame::Data {
            header: "PIXELTILE(media=m,w=1024,h=1500,x=0,y=0,f=1)".into(),
            payload: expected.into(),
        })
    );
    assert_eq!(
        second,
        Some(Frame::Data {
            header: "DATAEVENT(e,t,raw)".into(),
            payload: bytes.slice(..3),
        })
    );
    // Once written, the writer holds no reference to the buffer.
    assert!(bytes.try_into_mut().is_ok());
}

/// Set by [`xor_checking_pieces`] if it is handed a piece that splits a
/// 16-byte sample.
static SPLIT_A_SAMPLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn xor_checking_pieces(run: &[u8], out: &mut [u8]) {
    if !run.len().is_multiple_of(16) {
        SPLIT_A_SAMPLE.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    for (o, v) in out.iter_mut().zip(run) {
        *o = v ^ 0x5a;
    }
}

#[tokio::test]
async fn mapped_and_gathered_payloads_are_written_exactly_across_many_pieces() {
    let (client, _listener, mut peer) = connected().await;
    // Much more than the writer's scratch buffer, in rows of every kind:
    // short rows (gathered), rows mapped as they are written (of a whole
    // number of 16-byte samples, at an odd offset), and one run between.
    let image: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
    let bytes = bytes::Bytes::from(image.clone());
    let rows = |start, row_len, stride, rows| Rows {
        bytes: bytes.clone(),
        start,
        row_len,
        stride,
        rows,
    };
    let gather = |rows: &Rows| -> Vec<u8> {
        (0..rows.rows)
            .flat_map(|r| image[rows.start + r * rows.stride..][..rows.row_len].to_vec())
            .collect()
    };
    let short = rows(3, 1000, 1500, 700);
    let mapped = rows(11, 16 * 19, 16 * 21, 3000);
    let payloads = [
        Payload::Rows(short.clone()),
        Payload::Mapped {
            rows: mapped.clone(),
            map: xor_checking_pieces,
        },
        Payload::Whole(bytes.slice(5..100_005)),
        Payload::Mapped {
            rows: rows(0, 64 * 1024, 64 * 1024, 9),
            map: xor_checking_pieces,
        },
    ];
    let expected: Vec<Vec<u8>> = vec![
        gather(&short),
        gather(&mapped).iter().map(|v| v ^ 0x5a).collect(),
        image[5..100_005].to_vec(),
        image[..9 * 64 * 1024].iter().map(|v| v ^ 0x5a).collect(),
    ];
    let frames = payloads
        .into_iter()
        .enumerate()
        .map(|(i, payload)| DataFrame {
            header: format!("DATAEVENT(e{i},t,raw)"),
            payload,
        })
        .collect();
    let ack = client.queue_data(frames).await.unwrap();
    let (written, got) = tokio::join!(ack, async {
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(next(&mut peer).await);
        }
        got
    });
    written.unwrap();
    for (i, (got, expected)) in got.into_iter().zip(expected).enumerate() {
        let Some(Frame::Data { header, payload }) = got else {
            panic!("frame {i}: {got:?}")
        };
        assert_eq!(header, format!("DATAEVENT(e{i},t,raw)"));
        assert!(payload == expected, "frame {i} differs");
    }
    assert!(
        !SPLIT_A_SAMPLE.load(std::sync::atomic::Ordering::Relaxed),
        "pieces are cut at multiples of {MAP_ALIGN} bytes or at row ends"
    );
    // Once written, the writer holds no reference to the buffer.
    drop((short, mapped));
    assert!(bytes.try_into_mut().is_ok());
}

#[tokio::test]
async fn bad_data_frames_are_refused_before_anything_is_queued() {
    let (client, _listener, mut peer) = connected().await;
    let good = DataFrame {
        header: "PIXELTILE(media=m)".into(),
        payload: Payload::Whole(bytes::Bytes::from_static(b"x")),
    };
    for bad in [
        DataFrame {
            header: "PIXELTILE(media=a b)".into(),
            ..good.clone()
        },
        DataFrame {
            payload: Payload::Whole(bytes::Bytes::new()),
            ..good.clone()
        },
        // Rows past the end of their buffer: refused here, not a panic in
        // the writer that would lose the connection.
        DataFrame {
            payload: Payload::Rows(Rows {
                bytes: bytes::Bytes::from(vec![0u8; 100]),
                start: 10,
                row_len: 20,
                stride: 40,
                rows: 3,
            }),
            ..good.clone()
        },
    ] {
        assert!(client.queue_data(vec![good.clone(), bad]).await.is_err());
    }
    client.send_frame(Frame::Ping).await.unwrap();
    assert_eq!(
        next(&mut peer).await,
        Some(Frame::Ping),
        "nothing else was sent"
    );
}
