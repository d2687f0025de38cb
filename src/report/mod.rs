//! The only printer: plans, diagnostics and match results, as text for people or as JSON/YAML.

mod human;
mod style;

use std::io::{self, Write};

pub use human::render_plan;
pub use style::Style;

use crate::diag::Diagnostic;
use crate::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Yaml,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
    #[error("serialising the plan: {0}")]
    Serialize(String),
}

/// The plan as a string in the chosen format.
pub fn plan_text(plan: &Plan, format: Format, style: Style) -> Result<String, ReportError> {
    Ok(match format {
        Format::Human => render_plan(plan, style, human::DEFAULT_WIDTH),
        Format::Json => serde_json::to_string_pretty(plan).map_err(|e| ReportError::Serialize(e.to_string()))? + "\n",
        Format::Yaml => serde_yaml::to_string(plan).map_err(|e| ReportError::Serialize(e.to_string()))?,
    })
}

/// Diagnostics, one block each, then a count.
pub fn write_diagnostics(w: &mut dyn Write, diags: &[Diagnostic], style: Style) -> io::Result<()> {
    for d in diags {
        let head = format!("{}[{}]", if d.is_error() { "error" } else { "warning" }, d.code);
        let head = if d.is_error() {
            style.red(&head)
        } else {
            style.yellow(&head)
        };
        writeln!(w, "{head}: {}", d.message)?;
        writeln!(w, "  --> {}", d.location)?;
        if let Some(h) = &d.help {
            writeln!(w, "  {} {h}", style.bold("help:"))?;
        }
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    if !diags.is_empty() {
        writeln!(
            w,
            "{errors} error{}, {warnings} warning{}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        )?;
    }
    Ok(())
}
