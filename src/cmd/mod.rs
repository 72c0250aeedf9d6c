//! Thin entry points of the commands: each takes its parsed arguments,
//! calls into a room ([`crate::rv`], [`crate::ola`], [`crate::sim`],
//! [`crate::shell`]) and turns the outcome into output and an exit code.
//!
//! Exit codes: 0 success, 1 the peer answered with an error (an `ERROR:`
//! RETURN, a failed olad request), 2 we could not talk to the peer at all
//! (refused, timed out, bad arguments).

/// `println!` for the commands' output: a reader that went away (`| head`)
/// ends the command quietly ([`out`]) instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cmd::out(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub mod cue;
pub mod dmx;
pub mod man;
pub mod push;
pub mod rv;
pub mod shell;
pub mod sim;
pub mod watch;

/// Writes `text` to stdout. A reader that went away (`rvshell ... | head`)
/// ends the command quietly with status 0, as it ends `cat`: no panic, no
/// error message for what the user asked for.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(err) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        reader_gone_or_fail(&err);
    }
}

/// After a failed write to stdout: exit 0 if the reader went away, else
/// say why and exit 2.
pub fn reader_gone_or_fail(err: &std::io::Error) -> ! {
    if err.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("rvshell: cannot write to stdout: {err}");
    std::process::exit(2);
}
