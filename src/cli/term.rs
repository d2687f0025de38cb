//! Terminal conventions: when to colour (`--color`, `--no-color`, `NO_COLOR`, `TERM=dumb`)
//! and how wide the page is (`COLUMNS`, the terminal's size).

use std::io::IsTerminal;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorWhen {
    /// Colour when writing to a terminal, unless `NO_COLOR` is set or `TERM=dumb`.
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether to colour a stream. `--no-color` is `--color=never`; an explicit `--color=always`
/// wins over the environment.
pub fn use_color(when: ColorWhen, no_color_flag: bool, stream_is_tty: bool) -> bool {
    if no_color_flag {
        return false;
    }
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
            stream_is_tty && !no_color && !dumb
        }
    }
}

/// The widest page drawn, however wide the terminal: longer lines are hard to read.
const MAX_WIDTH: usize = 200;

/// The page width for standard output: `COLUMNS` when set, else the terminal's width, else
/// the default; never below the report's minimum.
pub fn page_width(to_stdout: bool) -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok());
    let width = from_env
        .filter(|w| *w > 0)
        .or_else(|| {
            (to_stdout && std::io::stdout().is_terminal())
                .then(terminal_columns)
                .flatten()
        })
        .unwrap_or(crate::report::DEFAULT_WIDTH);
    width.clamp(crate::report::MIN_WIDTH, MAX_WIDTH)
}

fn terminal_columns() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; fd 1 is only read.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    (rc == 0 && size.ws_col > 0).then_some(size.ws_col as usize)
}
