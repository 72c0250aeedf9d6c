//! Frames waiting for olad, coalesced per universe.
//!
//! A fade makes a frame every 20 ms; olad answers each `UpdateDmxData` in
//! well under a millisecond, but a hung olad (SIGSTOP, a full socket) holds
//! one for the whole request timeout. Whoever sends frames one at a time
//! (the headless cue link, the shell's cue link) does it in a task of its
//! own, fed through a queue, so the loop making frames never waits on olad;
//! what queues up meanwhile is coalesced by [`next_batch`]: each universe
//! keeps only its newest frame, merged with the older ones it stands for.
//! Every frame carries all its slots, so the newest one is the state olad
//! must end up with, and the last frame of a fade is always sent.

use tokio::sync::mpsc;

/// What [`next_batch`] took off the queue.
#[derive(Debug, PartialEq, Eq)]
pub struct Batch<T> {
    /// One item per key, the newest of that key (merged with the older
    /// ones), in the order the keys first came.
    pub items: Vec<T>,
    /// How many queued items were merged into newer ones.
    pub superseded: usize,
}

/// Waits for an item on `rx`, then takes every item already queued behind
/// it. An item with the key of one already taken replaces it:
/// `merge(newer, older)` makes the newer one stand for both. `None` once
/// the queue is closed and empty.
pub async fn next_batch<T, K: PartialEq>(
    rx: &mut mpsc::UnboundedReceiver<T>,
    key: impl Fn(&T) -> K,
    merge: impl Fn(&mut T, T),
) -> Option<Batch<T>> {
    let first = rx.recv().await?;
    let mut batch = Batch {
        items: vec![first],
        superseded: 0,
    };
    while let Ok(next) = rx.try_recv() {
        let k = key(&next);
        match batch.items.iter().position(|item| key(item) == k) {
            Some(i) => {
                let older = std::mem::replace(&mut batch.items[i], next);
                merge(&mut batch.items[i], older);
                batch.superseded += 1;
            }
            None => batch.items.push(next),
        }
    }
    Some(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_newest_of_each_key_stands_for_the_older_ones_in_first_come_order() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        for item in [(2, "a"), (1, "b"), (2, "c"), (3, "d"), (2, "e"), (1, "f")] {
            tx.send((item.0, item.1.to_owned())).unwrap();
        }
        let batch = next_batch(
            &mut rx,
            |(k, _): &(i32, String)| *k,
            |newer, older| newer.1 = format!("{}<{}", newer.1, older.1),
        )
        .await
        .unwrap();
        assert_eq!(
            batch.items,
            [
                (2, "e<c<a".to_owned()),
                (1, "f<b".to_owned()),
                (3, "d".to_owned())
            ]
        );
        assert_eq!(batch.superseded, 3);
        // Nothing more queued: the next batch waits, and ends with the queue.
        drop(tx);
        assert_eq!(next_batch(&mut rx, |k| k.0, |_, _| {}).await, None);
    }

    #[tokio::test]
    async fn a_batch_takes_only_what_is_queued_and_later_items_make_the_next_one() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        tx.send(1).unwrap();
        let first = next_batch(&mut rx, |k| *k, |_, _| {}).await.unwrap();
        assert_eq!(first.items, [1]);
        tx.send(1).unwrap();
        tx.send(1).unwrap();
        let second = next_batch(&mut rx, |k| *k, |_, _| {}).await.unwrap();
        assert_eq!((second.items, second.superseded), (vec![1], 1));
    }
}
