//! The terminal: enter (raw mode, alternate screen, mouse capture, bracketed
//! paste, unambiguous key reports where the terminal supports them) and
//! restore, on exit, on error (the [`Terminal`] guard's `Drop`) and on panic
//! (a hook that restores before the previous hook prints the message).
//!
//! A panic anywhere, a network task included, restores the terminal and
//! exits with status 101: carrying on with a UI in a cooked terminal would be
//! worse than stopping.

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::backend::CrosstermBackend;
use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// The ratatui terminal type the shell draws on.
pub type Backend = CrosstermBackend<Stdout>;

/// Whether we pushed keyboard enhancement flags (to pop exactly what we pushed).
static ENHANCED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// The terminal in TUI mode; restores it when dropped.
pub struct Terminal {
    /// Never dropped: ratatui's `Drop` prints to stderr when it cannot show
    /// the cursor, which panics on a terminal that hung up; [`restore`]
    /// shows the cursor itself.
    pub inner: std::mem::ManuallyDrop<ratatui::Terminal<Backend>>,
}

impl Terminal {
    /// Takes over the terminal.
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = io::stdout();
        let entered = execute!(
            out,
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        );
        if let Err(err) = entered {
            restore();
            return Err(err);
        }
        // Lets terminals that speak the kitty protocol report Ctrl+Enter.
        if matches!(
            crossterm::terminal::supports_keyboard_enhancement(),
            Ok(true)
        ) && execute!(
            out,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )
        .is_ok()
        {
            ENHANCED.store(true, Ordering::SeqCst);
        }
        match ratatui::Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(inner) => Ok(Self {
                inner: std::mem::ManuallyDrop::new(inner),
            }),
            Err(err) => {
                restore();
                Err(err)
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
    }
}

/// Puts the terminal back as it was. Safe to call more than once, and on a
/// terminal that hung up (it then does nothing).
pub fn restore() {
    if hung_up() {
        return;
    }
    // Setting the tty's modes from outside its foreground process group
    // would stop us with SIGTTOU (the default action) at exit; an error is
    // all we want then.
    // SAFETY: signal(2) with SIG_IGN installs no handler code; we are
    // exiting the TUI and no one else relies on SIGTTOU's disposition.
    unsafe {
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
    }
    let mut out = io::stdout();
    if ENHANCED.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, PopKeyboardEnhancementFlags);
    }
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
            std::process::exit(101);
        }));
    });
}

/// Whether the terminal hung up (the window closed, the SSH link dropped):
/// the kernel then answers EIO for the tty. A SIGHUP normally says so
/// first; this covers a shell started with SIGHUP ignored (`nohup`), where
/// nothing else would (crossterm's reader spins on a dead tty instead of
/// failing).
pub fn hung_up() -> bool {
    let mut termios = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr only writes a termios into the pointer it is given,
    // which points at enough space for one; fd 1 stays open for the life of
    // the process.
    let rc = unsafe { libc::tcgetattr(libc::STDOUT_FILENO, termios.as_mut_ptr()) };
    rc != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EIO)
}
