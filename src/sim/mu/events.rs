//! RV's event bindings as Mu code sets them up (rv-events.md §1): modes,
//! their event tables, and which handlers an event reaches.
//!
//! - The major mode `"default"` always exists and is always active.
//! - `defineMinorMode(name, sortKey, order)` creates a minor mode, inactive;
//!   defining an existing mode again keeps it (and its bindings) unchanged.
//! - `bind(mode, table, event, func, doc)` replaces any earlier binding of
//!   the same (mode, table, event) (`EventTable::bind` unbinds first).
//! - When an event fires, only tables named `"global"` are consulted (RV's
//!   default table-name stack; `pushEventTable` is not simulated): first
//!   the major mode's, then each active minor mode's, ordered by `sortKey`,
//!   then `order`, then definition order. This order is the simulator's
//!   reading of RV's mode manager (rv-events.md §4 asks for "RV's order"
//!   without pinning it down); it only matters when two handlers for the
//!   same event do not both `reject()`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::syntax::FnDef;

/// The only event table name consulted (rv-events.md §1).
pub(super) const GLOBAL_TABLE: &str = "global";
/// The major mode's name.
pub(super) const DEFAULT_MODE: &str = "default";
/// Most modes one session holds.
pub(super) const MAX_MODES: usize = 1024;
/// Most bindings over all modes and tables.
pub(super) const MAX_BINDINGS: usize = 65536;

/// One bound handler.
#[derive(Clone, Debug)]
struct Binding {
    table: String,
    event: String,
    func: Arc<FnDef>,
}

#[derive(Clone, Debug)]
struct Mode {
    name: String,
    sort_key: i32,
    order: i32,
    active: bool,
    bindings: Vec<Binding>,
}

/// Why a mode call failed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(super) enum ModeError {
    #[error("No mode named {0}")]
    NoMode(String),
    #[error("the simulator holds at most {MAX_MODES} modes; restart it for more")]
    TooManyModes,
    #[error("the simulator holds at most {MAX_BINDINGS} bindings; restart it for more")]
    TooManyBindings,
}

/// Every mode and its bindings.
#[derive(Clone, Debug)]
pub(super) struct Modes {
    /// `modes[0]` is the major mode `"default"`.
    modes: Vec<Mode>,
    bindings: usize,
}

impl Default for Modes {
    fn default() -> Self {
        Modes {
            modes: vec![Mode {
                name: DEFAULT_MODE.into(),
                sort_key: 0,
                order: 0,
                active: true,
                bindings: Vec::new(),
            }],
            bindings: 0,
        }
    }
}

impl Modes {
    fn find_mut(&mut self, name: &str) -> Result<&mut Mode, ModeError> {
        self.modes
            .iter_mut()
            .find(|m| m.name == name)
            .ok_or_else(|| ModeError::NoMode(name.into()))
    }

    /// `defineMinorMode`: a new inactive mode; an existing one is kept.
    pub fn define(&mut self, name: &str, sort_key: i32, order: i32) -> Result<(), ModeError> {
        if self.modes.iter().any(|m| m.name == name) {
            return Ok(());
        }
        if self.modes.len() >= MAX_MODES {
            return Err(ModeError::TooManyModes);
        }
        self.modes.push(Mode {
            name: name.into(),
            sort_key,
            order,
            active: false,
            bindings: Vec::new(),
        });
        Ok(())
    }

    /// `activateMode` / `deactivateMode`. The major mode stays active.
    /// Deactivating an unknown mode does nothing (so a client's sign-off is
    /// harmless after a restart); activating one is `No mode named X`.
    pub fn set_active(&mut self, name: &str, active: bool) -> Result<(), ModeError> {
        match self.find_mut(name) {
            Ok(mode) => {
                mode.active = active || mode.name == DEFAULT_MODE;
                Ok(())
            }
            Err(_) if !active => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// `isModeActive`: false for an unknown mode.
    pub fn is_active(&self, name: &str) -> bool {
        self.modes.iter().any(|m| m.name == name && m.active)
    }

    /// `bind`, replacing the binding of the same (mode, table, event).
    pub fn bind(
        &mut self,
        mode: &str,
        table: &str,
        event: &str,
        func: Arc<FnDef>,
    ) -> Result<(), ModeError> {
        let total = self.bindings;
        let mode = self.find_mut(mode)?;
        if let Some(b) = mode
            .bindings
            .iter_mut()
            .find(|b| b.table == table && b.event == event)
        {
            b.func = func;
            return Ok(());
        }
        if total >= MAX_BINDINGS {
            return Err(ModeError::TooManyBindings);
        }
        mode.bindings.push(Binding {
            table: table.into(),
            event: event.into(),
            func,
        });
        self.bindings += 1;
        Ok(())
    }

    /// `unbind`; unbinding what is not bound does nothing.
    pub fn unbind(&mut self, mode: &str, table: &str, event: &str) -> Result<(), ModeError> {
        let mode = self.find_mut(mode)?;
        let before = mode.bindings.len();
        mode.bindings
            .retain(|b| !(b.table == table && b.event == event));
        let removed = before - mode.bindings.len();
        self.bindings -= removed;
        Ok(())
    }

    /// The handlers `event` reaches, in the order they run, with their
    /// mode's name (see the module docs).
    pub fn handlers(&self, event: &str) -> Vec<(String, Arc<FnDef>)> {
        let mut minor: Vec<(usize, &Mode)> = self
            .modes
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, m)| m.active)
            .collect();
        minor.sort_by_key(|(i, m)| (m.sort_key, m.order, *i));
        self.modes
            .first()
            .into_iter()
            .chain(minor.into_iter().map(|(_, m)| m))
            .filter_map(|m| {
                m.bindings
                    .iter()
                    .find(|b| b.table == GLOBAL_TABLE && b.event == event)
                    .map(|b| (m.name.clone(), b.func.clone()))
            })
            .collect()
    }
}

/// The `Event` object a handler receives.
#[derive(Debug)]
pub(super) struct EventData {
    pub name: String,
    pub contents: String,
    rejected: AtomicBool,
}

impl PartialEq for EventData {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.contents == other.contents
    }
}

impl EventData {
    pub fn new(name: &str, contents: &str) -> Self {
        EventData {
            name: name.into(),
            contents: contents.into(),
            rejected: AtomicBool::new(false),
        }
    }

    /// `event.reject()`: the event goes on to the next handler.
    pub fn reject(&self) {
        self.rejected.store(true, Ordering::Relaxed);
    }

    pub fn is_rejected(&self) -> bool {
        self.rejected.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(name: &str) -> Arc<FnDef> {
        Arc::new(FnDef {
            name: name.into(),
            ret: super::super::syntax::TypeName::Void,
            params: Vec::new(),
            body: Vec::new(),
        })
    }

    fn names(modes: &Modes, event: &str) -> Vec<String> {
        modes
            .handlers(event)
            .into_iter()
            .map(|(_, f)| f.name.clone())
            .collect()
    }

    #[test]
    fn default_first_then_active_minor_modes_by_sort_key() {
        let mut m = Modes::default();
        m.define("b", 5, 0).unwrap();
        m.define("a", 1, 0).unwrap();
        m.bind("b", "global", "e", func("fb")).unwrap();
        m.bind("a", "global", "e", func("fa")).unwrap();
        m.bind("default", "global", "e", func("fd")).unwrap();
        m.bind("a", "other", "e", func("never")).unwrap();
        assert_eq!(names(&m, "e"), ["fd"], "minor modes start inactive");
        m.set_active("b", true).unwrap();
        m.set_active("a", true).unwrap();
        assert_eq!(names(&m, "e"), ["fd", "fa", "fb"]);
        m.set_active("a", false).unwrap();
        assert_eq!(names(&m, "e"), ["fd", "fb"]);
    }

    #[test]
    fn rebinding_replaces_and_unbind_removes() {
        let mut m = Modes::default();
        m.bind("default", "global", "e", func("one")).unwrap();
        m.bind("default", "global", "e", func("two")).unwrap();
        assert_eq!(names(&m, "e"), ["two"]);
        assert_eq!(m.bindings, 1);
        m.unbind("default", "global", "e").unwrap();
        assert!(names(&m, "e").is_empty());
        assert_eq!(m.bindings, 0);
    }

    #[test]
    fn unknown_modes_and_redefinition() {
        let mut m = Modes::default();
        assert_eq!(
            m.bind("nosuch", "global", "e", func("f"))
                .unwrap_err()
                .to_string(),
            "No mode named nosuch"
        );
        assert!(m.set_active("nosuch", true).is_err());
        assert!(m.set_active("nosuch", false).is_ok());
        assert!(!m.is_active("nosuch"));
        m.define("x", 0, 0).unwrap();
        m.set_active("x", true).unwrap();
        m.define("x", 9, 9).unwrap();
        assert!(m.is_active("x"), "defining again keeps the mode");
        m.set_active("default", false).unwrap();
        assert!(m.is_active("default"), "the major mode stays active");
    }
}
