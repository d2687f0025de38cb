//! The only printer: plans, diagnostics and match results, as text for people or as JSON/YAML.

mod escape;
mod human;
mod style;

use std::io::{self, Write};

pub use human::{DEFAULT_WIDTH, compact_list, render_plan, write_human};
pub use style::Style;

use crate::diag::Diagnostic;
use crate::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    /// The human plan with every finding, pod and action in full (as `--expand`).
    Wide,
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

/// How the human plan is laid out.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub style: Style,
    /// Page width in columns.
    pub width: usize,
    /// Every subject and action in full, instead of grouped across namespaces.
    pub expand: bool,
}

impl Default for View {
    fn default() -> Self {
        View {
            style: Style::default(),
            width: human::DEFAULT_WIDTH,
            expand: false,
        }
    }
}

/// The narrowest page the human layout is drawn for; a smaller width is raised to it.
pub const MIN_WIDTH: usize = 60;

/// The plan as a string in the chosen format. Credentials inside cluster text are redacted in
/// every format; for people, control and bidi characters are escaped as well.
pub fn plan_text(plan: &Plan, format: Format, view: &View) -> Result<String, ReportError> {
    plan_text_owned(plan.clone(), format, view)
}

/// As `plan_text`, redacting the plan in place instead of a copy: a large plan is not held
/// twice.
pub fn plan_text_owned(plan: Plan, format: Format, view: &View) -> Result<String, ReportError> {
    let mut out = Vec::new();
    write_plan(plan, format, view, &mut out)?;
    String::from_utf8(out).map_err(|e| ReportError::Serialize(e.to_string()))
}

/// The plan written to `w` in the chosen format, redacted as in `plan_text`. JSON and YAML
/// are serialised straight into `w`: a plan larger than its snapshot (one subject and one
/// manual step per failing container) is never held a second time as text.
pub fn write_plan(mut plan: Plan, format: Format, view: &View, w: &mut dyn Write) -> Result<(), ReportError> {
    plan.visit_text(&mut crate::redact::redact_in_place, &mut crate::redact::redact_value);
    let ser = |e: &dyn std::fmt::Display| ReportError::Serialize(e.to_string());
    let mut w = io::BufWriter::with_capacity(1 << 16, w);
    match format {
        Format::Human | Format::Wide => {
            plan.visit_text(&mut escape::escape_in_place, &mut |_| {});
            human::write_human(
                &plan,
                view.style,
                view.width.max(MIN_WIDTH),
                view.expand || format == Format::Wide,
                &mut w,
            )?;
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut w, &plan).map_err(|e| ser(&e))?;
            w.write_all(b"\n")?;
        }
        Format::Yaml => serde_yaml::to_writer(&mut w, &plan).map_err(|e| ser(&e))?,
    }
    w.flush()?;
    Ok(())
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
        // Messages quote snapshot and rule files: credentials and control characters never print.
        let clean = |t: &str| escape::escape_terminal(&crate::redact::redact(t)).into_owned();
        writeln!(w, "{head}: {}", clean(&d.message))?;
        writeln!(w, "  --> {}", clean(&d.location.to_string()))?;
        if let Some(h) = &d.help {
            writeln!(w, "  {} {}", style.bold("help:"), clean(h))?;
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
