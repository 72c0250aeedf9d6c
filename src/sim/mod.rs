//! A headless server that behaves like RV on the wire, for demos and tests.

pub mod canvas;
pub mod mu;
pub mod server;

/// Locks the simulator's shared state. A panic while it was held leaves at
/// worst one half-applied request or half-copied tile; the simulator keeps
/// serving rather than stopping on a poisoned lock.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
