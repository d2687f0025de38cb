//! remedy: diagnose and fix failing image pulls on Kubernetes and OpenShift.
//!
//! The pipeline: `load` (rules) → `detect` (failures) → `matcher` → `probe` (the only
//! cluster reader) → `plan` (pure) → `report` (the only printer). See `docs/architecture.md`.

pub mod bench;
pub mod cli;
pub mod cluster;
pub mod desired;
pub mod detect;
pub mod diag;
pub mod engine;
pub mod execute;
pub mod explain;
pub mod inputs;
pub mod intern;
pub mod limits;
pub mod lint;
pub mod load;
pub mod matcher;
pub mod model;
pub mod near;
pub mod packed;
pub mod plan;
pub mod probe;
pub mod redact;
pub mod refs;
pub mod report;
pub mod rules;
pub mod ruletest;
pub mod schema;
pub mod template;
pub mod walk;
