//! `remedy rbac`, `remedy apply` and `remedy undo`.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::RuleArgs;
use crate::execute::rbac::{self, Purpose};
use crate::plan::exit;
use crate::report::Style;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RbacFor {
    Plan,
    Apply,
}

#[derive(Debug, Args)]
pub struct RbacArgs {
    /// The command the role is for: `plan` (reads only) or `apply` (reads and the writes the
    /// rules' actions make).
    #[arg(long = "for", value_enum, default_value_t = RbacFor::Apply)]
    purpose: RbacFor,
    #[command(flatten)]
    rules: RuleArgs,
}

pub fn rbac_cmd(args: &RbacArgs, err_style: Style) -> anyhow::Result<u8> {
    let rules = super::run::rules(&args.rules, err_style)?;
    let purpose = match args.purpose {
        RbacFor::Plan => Purpose::Plan,
        RbacFor::Apply => Purpose::Apply,
    };
    std::io::stdout()
        .lock()
        .write_all(rbac::cluster_role(&rules, purpose).as_bytes())?;
    Ok(exit::CLEAN)
}
