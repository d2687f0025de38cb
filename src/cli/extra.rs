//! Shell completions and the man page, generated from the clap definitions.

use std::io::Write;

use clap::CommandFactory;

use super::Cli;
use crate::plan::exit;

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "remedy", &mut out);
    std::io::stdout().lock().write_all(&out)?;
    Ok(exit::CLEAN)
}

pub fn man() -> anyhow::Result<u8> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    std::io::stdout().lock().write_all(&out)?;
    Ok(exit::CLEAN)
}
