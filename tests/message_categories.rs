//! The category `remedy rules match` gives each message of tests/data/message-categories.yaml.

mod common;
use common::*;

use std::collections::BTreeMap;

#[test]
fn messages_get_their_category() {
    let path = root().join("tests/data/message-categories.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let table: BTreeMap<String, Vec<String>> = serde_yaml::from_str(&text).unwrap();
    let rows: Vec<(&str, &str)> = table
        .iter()
        .flat_map(|(cat, msgs)| msgs.iter().map(move |m| (cat.as_str(), m.as_str())))
        .collect();
    assert!(rows.len() > 100, "{}", rows.len());
    let mut args = vec!["rules", "match", "--"];
    args.extend(rows.iter().map(|(_, m)| *m));
    let r = remedy(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<serde_json::Value> = r.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), rows.len());
    let wrong: Vec<String> = rows
        .iter()
        .zip(&lines)
        .filter(|((want, _), got)| got["category"] != *want)
        .map(|((want, m), got)| format!("want {want}, got {} {}: {m}", got["category"], got["symptoms"]))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
}
