//! The DMX console grid widget.
