//! `docs/bundled-rules.md` shows the real rule files, not copies that drift: it is generated
//! from `rules/`, and this test fails when it is out of date.
//! Regenerate with: REMEDY_UPDATE_DOCS=1 cargo test --test docs

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rule_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

#[derive(Deserialize)]
struct Doc {
    kind: String,
    metadata: Meta,
}

#[derive(Deserialize)]
struct Meta {
    name: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

fn generate(root: &Path) -> String {
    let mut files = Vec::new();
    rule_files(&root.join("rules"), &mut files);
    let mut index = String::new();
    let mut bodies = String::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(f).unwrap();
        for de in serde_yaml::Deserializer::from_str(&text) {
            let Ok(doc) = Doc::deserialize(de) else { continue };
            let _ = writeln!(
                index,
                "| `{}` | {} | {} | {} | [{rel}](#{}) |",
                doc.metadata.name,
                doc.kind,
                doc.metadata.category.as_deref().unwrap_or(""),
                doc.metadata.title.as_deref().unwrap_or("").replace('|', "\\|"),
                anchor(&rel),
            );
        }
        let _ = write!(bodies, "\n## {rel}\n\n```yaml\n{}", text);
        if !text.ends_with('\n') {
            bodies.push('\n');
        }
        bodies.push_str("```\n");
    }
    format!(
        "# Bundled rules\n\n\
         <!-- Generated from rules/ by tests/docs.rs: do not edit. \
         Regenerate with `REMEDY_UPDATE_DOCS=1 cargo test --test docs`. -->\n\n\
         These are the rule files embedded in the `remedy` binary, in full. \
         `docs/playbooks.md` explains the format.\n\n\
         | id | kind | category | title | file |\n|---|---|---|---|---|\n{index}{bodies}"
    )
}

/// GitHub's heading anchor: lower case, spaces to dashes, punctuation other than `-`/`_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn bundled_rules_doc_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = generate(root);
    let path = root.join("docs/bundled-rules.md");
    if std::env::var_os("REMEDY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/bundled-rules.md is out of date with rules/: run `REMEDY_UPDATE_DOCS=1 cargo test --test docs`"
    );
}

#[test]
fn bundled_rules_doc_lists_every_rule_file_in_full() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = generate(root);
    let mut files = Vec::new();
    rule_files(&root.join("rules"), &mut files);
    assert!(files.len() >= 5, "rules/ holds the bundled rules");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(doc.contains(&text), "{} is shown verbatim", f.display());
    }
    assert!(doc.contains("| `pull-secret-not-propagated` | Playbook | auth |"));
}

/// The README's tour is the real output of its main command, not a copy that drifts.
#[test]
fn readme_tour_is_the_real_output() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = "$ remedy plan --snapshot examples/seed-004-marketplace\n";
    let i = readme.find(start).expect("the README shows the main command's output") + start.len();
    let shown = &readme[i..i + readme[i..].find("```").expect("the block ends")];
    let out = assert_cmd::Command::cargo_bin("remedy")
        .unwrap()
        .current_dir(root)
        .args(["plan", "--snapshot", "examples/seed-004-marketplace"])
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "pending actions");
    assert_eq!(
        shown,
        String::from_utf8_lossy(&out.stdout),
        "README.md's tour differs from the output: paste the new output in"
    );
}

// ---------------------------------------------------------------------------------------
// docs/reference.md: its `generated` parts are written here from the schema, the code and the
// real rule files; the tests below check that it names everything the code defines.

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn playbook_schema(root: &Path) -> Value {
    serde_json::from_str(&read(root, "schemas/playbook.schema.json")).unwrap()
}

fn defs(schema: &Value) -> &serde_json::Map<String, Value> {
    schema["$defs"].as_object().expect("the schema has $defs")
}

fn props(schema: &Value, def: &str) -> Vec<(String, Value)> {
    defs(schema)[def]["properties"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// The definitions a property's schema leads to.
fn refs(ps: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = ps.get("$ref").and_then(Value::as_str) {
        out.push(r.rsplit('/').next().unwrap().to_string());
    }
    for a in ps.get("anyOf").and_then(Value::as_array).into_iter().flatten() {
        out.extend(refs(a));
    }
    if let Some(items) = ps.get("items") {
        out.extend(refs(items));
    }
    out
}

/// Definitions in the order a reader meets them, from the two document kinds, each with the
/// first place it is found (`spec.probes[]`) and the document kind.
fn def_order(schema: &Value) -> Vec<(String, String, &'static str)> {
    let mut out: Vec<(String, String, &'static str)> = Vec::new();
    let mut queue = std::collections::VecDeque::from([
        ("PlaybookSpec".to_string(), String::new(), "Playbook"),
        ("SymptomSpec".to_string(), String::new(), "Symptom"),
    ]);
    while let Some((def, path, kind)) = queue.pop_front() {
        if out.iter().any(|(d, _, _)| *d == def) {
            continue;
        }
        for (k, ps) in props(schema, &def) {
            let is_list = ps.get("items").is_some();
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            let p = if is_list { format!("{p}[]") } else { p };
            for r in refs(&ps) {
                queue.push_back((r, p.clone(), kind));
            }
        }
        out.push((def, path, kind));
    }
    out
}

fn is_enum(schema: &Value, def: &str) -> bool {
    defs(schema)[def].get("enum").is_some() || defs(schema)[def].get("oneOf").is_some()
}

fn type_of(ps: &Value) -> String {
    if let Some(r) = ps.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        return format!("[{name}](#{})", name.to_lowercase());
    }
    if let Some(any) = ps.get("anyOf").and_then(Value::as_array) {
        let alts: Vec<String> = any
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .map(type_of)
            .collect();
        return alts.join(" or ");
    }
    let t = match ps.get("type") {
        Some(Value::String(t)) => Some(t.as_str()),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    };
    match t {
        Some("array") => match ps.get("items") {
            Some(Value::Bool(true)) | None => "list of any values".to_string(),
            Some(items) => format!("list of {}", type_of(items)),
        },
        Some("object") => match ps.get("additionalProperties") {
            Some(v) if v.is_object() => format!("map of string to {}", type_of(v)),
            _ => "mapping".to_string(),
        },
        Some(t) => t.to_string(),
        None => "any value".to_string(),
    }
}

/// One use of a field in a real rule file.
struct Use {
    file: String,
    line: Option<usize>,
    value: Value,
}

/// The rule files whose contents the reference quotes: the bundled rules, the tutorial's, and
/// the examples file for the fields neither uses.
fn quoted_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rule_files(&root.join("rules"), &mut files);
    rule_files(&root.join("docs/tutorial"), &mut files);
    files.push(root.join("docs/reference/examples.yaml"));
    files
}

/// The first use of each field (by definition and name), and of each probe kind and action
/// type as a whole entry (by `ProbeSpec`/`ActionSpec` and the kind's key).
fn uses(root: &Path, schema: &Value) -> (Uses, Uses) {
    let mut fields = std::collections::BTreeMap::new();
    let mut entries = std::collections::BTreeMap::new();
    for f in quoted_files(root) {
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let positions = remedy::load::PositionIndex::build(&text);
        for (di, de) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let Ok(v) = Value::deserialize(de) else { continue };
            let def = match v.get("kind").and_then(Value::as_str) {
                Some("Playbook") => "PlaybookSpec",
                Some("Symptom") => "SymptomSpec",
                _ => continue,
            };
            let mut at = |path: &str, value: &Value| Use {
                file: rel.clone(),
                line: positions.find(di, path).map(|p| p.0),
                value: value.clone(),
            };
            visit(schema, def, &v, "", &mut at, &mut fields, &mut entries);
        }
    }
    (fields, entries)
}

type Uses = std::collections::BTreeMap<(String, String), Use>;

fn visit(
    schema: &Value,
    def: &str,
    v: &Value,
    path: &str,
    at: &mut dyn FnMut(&str, &Value) -> Use,
    fields: &mut Uses,
    entries: &mut Uses,
) {
    let Some(m) = v.as_object() else { return };
    let known = props(schema, def);
    for (k, x) in m {
        let Some((_, ps)) = known.iter().find(|(p, _)| p == k) else {
            continue;
        };
        let p = if path.is_empty() {
            k.clone()
        } else {
            format!("{path}.{k}")
        };
        let key = (def.to_string(), k.clone());
        if !fields.contains_key(&key) {
            fields.insert(key.clone(), at(&p, x));
        }
        if (def == "ProbeSpec" || def == "ActionSpec") && !refs(ps).is_empty() && !entries.contains_key(&key) {
            entries.insert(key, at(path, v));
        }
        for r in refs(ps) {
            match x {
                Value::Array(items) => {
                    for (i, e) in items.iter().enumerate() {
                        visit(schema, &r, e, &format!("{p}[{i}]"), at, fields, entries);
                    }
                }
                _ => visit(schema, &r, x, &p, at, fields, entries),
            }
        }
    }
}

/// A file position as a link from docs/.
fn link(u: &Use) -> String {
    let target = match u.file.strip_prefix("docs/") {
        Some(rest) => rest.to_string(),
        None => format!("../{}", u.file),
    };
    let name = &u.file;
    match u.line {
        Some(l) => format!("[{name}:{l}]({target}#L{l})"),
        None => format!("[{name}]({target})"),
    }
}

/// A value in one table cell: compact, cut to a readable length, pipes escaped.
fn cell(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = text.replace('\n', "⏎");
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    let short = short.replace('|', "\\|");
    if short.contains('`') {
        format!("`` {short} ``")
    } else {
        format!("`{short}`")
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

fn fields_block(schema: &Value, fields: &Uses) -> String {
    let mut out = String::new();
    for (def, path, kind) in def_order(schema) {
        let d = &defs(schema)[def.as_str()];
        let _ = write!(out, "\n### {def}\n\n");
        let place = if path.is_empty() {
            format!("A `kind: {kind}` document.")
        } else {
            format!("At `{path}` of a {kind} (first place it is found).")
        };
        let _ = writeln!(out, "{place}");
        if let Some(desc) = d.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{}", one_line(desc));
        }
        if is_enum(schema, &def) {
            let values: Vec<String> = d["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(
                    d.get("oneOf")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|o| &o["const"]),
                )
                .filter_map(Value::as_str)
                .map(|s| format!("`{s}`"))
                .collect();
            let _ = writeln!(out, "\nOne of: {}.", values.join(", "));
            continue;
        }
        let required: Vec<&str> = d["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let _ = writeln!(
            out,
            "\n| field | type | required | meaning | example |\n|---|---|---|---|---|"
        );
        for (k, ps) in props(schema, &def) {
            let example = match fields.get(&(def.clone(), k.clone())) {
                Some(u) => format!("{} ({})", cell(&u.value), link(u)),
                None => "none in the rule files".to_string(),
            };
            let _ = writeln!(
                out,
                "| `{k}` | {} | {} | {} | {example} |",
                type_of(&ps),
                if required.contains(&k.as_str()) { "yes" } else { "no" },
                one_line(ps.get("description").and_then(Value::as_str).unwrap_or("")),
            );
        }
    }
    out
}

fn entry_block(u: &Use) -> String {
    let yaml = serde_yaml::to_string(&Value::Array(vec![u.value.clone()])).unwrap();
    format!("\nThe entry at {}:\n\n```yaml\n{yaml}```\n", link(u))
}

fn codes_block() -> String {
    let mut out = String::from("\n| code | kind | page |\n|---|---|---|\n");
    for c in remedy::diag::Code::ALL {
        let c = c.as_str();
        let _ = writeln!(
            out,
            "| `{c}` | load diagnostic | [diagnostics.md#{c}](diagnostics.md#{c}) |"
        );
    }
    for c in remedy::lint::LintCode::ALL {
        let c = c.as_str();
        let _ = writeln!(out, "| `{c}` | lint | [lints/{c}.md](lints/{c}.md) |");
    }
    out
}

/// docs/reference.md with every generated part written anew.
fn generate_reference(root: &Path) -> String {
    let schema = playbook_schema(root);
    let (fields, entries) = uses(root, &schema);
    let doc = read(root, "docs/reference.md");
    let mut out = String::new();
    let mut rest = doc.as_str();
    while let Some(i) = rest.find("<!-- generated: ") {
        let id_end = rest[i..].find(" -->").unwrap() + i;
        let id = &rest[i + "<!-- generated: ".len()..id_end];
        let end_marker = format!("<!-- end: {id} -->");
        let j = rest
            .find(&end_marker)
            .unwrap_or_else(|| panic!("{end_marker} is missing"));
        out.push_str(&rest[..id_end + 4]);
        out.push('\n');
        let body = match id.split_once(' ') {
            None if id == "fields" => fields_block(&schema, &fields),
            None if id == "codes" => codes_block(),
            Some((what @ ("probe" | "action"), key)) => {
                let def = if what == "probe" { "ProbeSpec" } else { "ActionSpec" };
                match entries.get(&(def.to_string(), key.to_string())) {
                    Some(u) => entry_block(u),
                    None => format!("\n(no rule file uses `{key}`)\n"),
                }
            }
            _ => panic!("unknown generated part `{id}`"),
        };
        out.push_str(&body);
        out.push('\n');
        out.push_str(&end_marker);
        rest = &rest[j + end_marker.len()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn reference_doc_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = generate_reference(root);
    let path = root.join("docs/reference.md");
    if std::env::var_os("REMEDY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    assert!(
        read(root, "docs/reference.md") == generated,
        "docs/reference.md is out of date with the schema or rules/: run `REMEDY_UPDATE_DOCS=1 cargo test --test docs`"
    );
}

/// The text of the section that starts with `heading` (up to the next heading of its level).
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let level = heading.split(' ').next().unwrap();
    let i = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no section `{heading}`"))
        + 1;
    let body = &doc[i + heading.len()..];
    let mut end = body.len();
    for marker in (2..=level.len()).map(|n| format!("\n{} ", "#".repeat(n))) {
        if let Some(j) = body.find(&marker) {
            end = end.min(j);
        }
    }
    &body[..end]
}

#[test]
fn reference_names_every_schema_field_with_a_real_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = playbook_schema(root);
    let doc = generate_reference(root);
    let (fields, _) = uses(root, &schema);
    let mut count = 0;
    for (def, v) in defs(&schema) {
        let text = section(&doc, &format!("### {def}"));
        for k in v["properties"].as_object().into_iter().flatten().map(|(k, _)| k) {
            assert!(
                text.contains(&format!("| `{k}` |")),
                "{def}.{k} is not in docs/reference.md"
            );
            assert!(
                fields.contains_key(&(def.clone(), k.clone())),
                "{def}.{k}: no rule file uses it; add it to docs/reference/examples.yaml"
            );
            count += 1;
        }
    }
    assert!(count > 100, "{count} fields");
}

#[test]
fn the_reference_examples_file_is_a_rule_that_loads_clean() {
    let r = assert_cmd::Command::cargo_bin("remedy")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["rules", "check", "--rules", "docs/reference/examples.yaml"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

#[test]
fn reference_has_a_section_and_a_real_example_for_every_probe_kind_and_action_type() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema = playbook_schema(root);
    let doc = generate_reference(root);
    for (heading, def) in [("## Probe kinds", "ProbeSpec"), ("## Action types", "ActionSpec")] {
        let part = section(&doc, heading);
        let kinds: Vec<String> = props(&schema, def)
            .into_iter()
            .filter(|(_, ps)| !refs(ps).is_empty())
            .map(|(k, _)| k)
            .collect();
        assert!(kinds.len() >= 8, "{def}: {kinds:?}");
        for k in &kinds {
            let text = section(part, &format!("### `{k}`"));
            assert!(
                text.contains("\nThe entry at [") && text.contains("```yaml\n- "),
                "{heading} `{k}` has no real example"
            );
            assert!(!text.contains("(no rule file uses"), "{heading} `{k}`");
            if def == "ProbeSpec"
                && let Some(result) = remedy::load::probe_result_fields(k)
            {
                for f in result {
                    assert!(
                        text.contains(&format!("`{f}`")),
                        "probe `{k}`: result field `{f}` is not described"
                    );
                }
            }
        }
        // Nothing described that the schema does not define.
        let described = part.matches("\n### `").count();
        assert_eq!(described, kinds.len(), "{heading}: {kinds:?}");
    }
}

#[test]
fn reference_names_every_template_variable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = read(root, "docs/reference.md");
    let text = section(&doc, "## Template variables");
    for v in remedy::load::BUILTIN_VARS {
        assert!(text.contains(&format!("- **`{v}`**")), "variable `{v}`");
    }
    let failure = &text[text.find("- **`failure`**").unwrap()..text.find("- **`cluster`**").unwrap()];
    for f in remedy::load::FAILURE_FIELDS {
        assert!(failure.contains(&format!("`{f}`")), "failure.{f}");
    }
    let cluster = &text[text.find("- **`cluster`**").unwrap()..];
    for f in remedy::load::CLUSTER_FIELDS {
        assert!(cluster.contains(&format!("`{f}`")), "cluster.{f}");
    }
}

/// Names given to `env.add_filter("NAME"` (or `add_test`, `add_function`, `add_global`) in the
/// template environment's source (`src/template/`): what remedy registers, read from the code
/// itself.
fn registered(root: &Path, call: &str) -> Vec<String> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(root.join("src/template")).unwrap() {
        files.push(e.unwrap().path());
    }
    files.sort();
    let pat = format!("{call}(\"");
    let mut out = Vec::new();
    for f in files {
        let src = std::fs::read_to_string(f).unwrap();
        out.extend(src.match_indices(&pat).map(|(i, _)| {
            let rest = &src[i + pat.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        }));
    }
    out
}

/// `- **`NAME`** (...): meaning. Example: `TEMPLATE` → `RESULT`` entries of a section.
fn helper_entries(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("- **`"))
        .map(|l| {
            let name = l[..l.find("`**").unwrap()].to_string();
            let ex = &l[l
                .find("Example: `")
                .unwrap_or_else(|| panic!("`{name}` has no example"))
                + 10..];
            let (tmpl, result) = ex.split_once("` → `").unwrap_or_else(|| panic!("`{name}`: no result"));
            (name, tmpl.to_string(), result.strip_suffix('`').unwrap().to_string())
        })
        .collect()
}

#[test]
fn reference_describes_every_template_helper_and_each_example_renders_as_shown() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = read(root, "docs/reference.md");
    let helpers = section(&doc, "## Template helpers");
    let mut t = remedy::template::Templates::new();
    // remedy's own filters, and minijinja's that it replaces with a bounded version of its own.
    let (replaced, own): (Vec<String>, Vec<String>) = registered(root, "add_filter")
        .into_iter()
        .partition(|f| remedy::template::BUILTIN_FILTERS.contains(&f.as_str()));
    let minijinja_filters = section(helpers, "### minijinja's filters");
    for f in &replaced {
        let line = minijinja_filters
            .lines()
            .find(|l| l.starts_with(&format!("- **`{f}`**")))
            .unwrap_or_else(|| panic!("`{f}` is not described"));
        assert!(
            line.contains("remedy's bounded version"),
            "`{f}` is replaced by remedy's own: say so"
        );
    }
    // minijinja's filters as the environment offers them: those remedy takes away (they
    // could build values of any size) are named as not offered.
    let (offered, withdrawn): (Vec<String>, Vec<String>) = remedy::template::BUILTIN_FILTERS
        .iter()
        .map(|f| f.to_string())
        .partition(|f| {
            let id = format!("defined-{f}");
            t.add(&id, &format!("{{{{ 1 | {f} }}}}"), "test").unwrap();
            !t.render(&id, &minijinja::Value::UNDEFINED)
                .is_err_and(|e| e.to_string().contains("unknown filter"))
        });
    let not_offered = minijinja_filters
        .lines()
        .find(|l| l.starts_with("Not offered:"))
        .unwrap_or_default();
    for f in &withdrawn {
        assert!(not_offered.contains(&format!("`{f}`")), "`{f}` is not offered: say so");
    }
    assert!(
        !withdrawn.is_empty() || not_offered.is_empty(),
        "nothing is withdrawn: drop the line"
    );
    let wanted: Vec<(&str, Vec<String>)> = vec![
        ("### Functions", t.global_names()),
        ("### remedy's filters", own),
        ("### remedy's tests", registered(root, "add_test")),
        ("### minijinja's filters", offered),
        (
            "### minijinja's tests",
            remedy::template::BUILTIN_TESTS.iter().map(|s| s.to_string()).collect(),
        ),
    ];
    assert!(registered(root, "add_function").is_empty() && registered(root, "add_global").is_empty());
    let ctx = minijinja::Value::from(minijinja::value::Serde(serde_json::json!({
        "failure": {
            "image": "mirror.corp:5000/team/app:1.2",
            "registry": "mirror.corp:5000",
            "messages": ["Back-off pulling image", "unauthorized"],
        },
        "cluster": {"openshift": true, "version": "4.14.3"},
        "params": {},
    })));
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (heading, names) in wanted {
        assert!(!names.is_empty(), "{heading}");
        let entries = helper_entries(section(helpers, heading));
        let mut listed: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
        listed.sort();
        let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
        names.sort();
        assert_eq!(
            listed, names,
            "{heading}: the helpers described differ from those defined"
        );
        for (name, tmpl, want) in entries {
            let id = format!("example-{name}-{checked}");
            let compiled = t
                .add(&id, &tmpl, "docs/reference.md")
                .unwrap_or_else(|e| panic!("{name}: `{tmpl}` does not compile: {e}"));
            // What a rule may not use (`unbounded-template`) is said so where it is described.
            let line = section(helpers, heading)
                .lines()
                .find(|l| l.starts_with(&format!("- **`{name}`**")))
                .unwrap();
            let refused = !compiled.unbounded.is_empty();
            if refused != line.contains("Refused in rules") {
                wrong.push(format!(
                    "{name}: `{tmpl}` is {}refused at load time (unbounded-template): say so, or not",
                    if refused { "" } else { "not " }
                ));
            }
            let got = t.render(&id, &ctx).unwrap_or_else(|e| panic!("{name}: `{tmpl}`: {e}"));
            if got != want {
                wrong.push(format!(
                    "{name}: `{tmpl}` renders `{got}`, docs/reference.md shows `{want}`"
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked > 90, "{checked}");
}

#[test]
fn every_code_has_its_own_page_or_section() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let diagnostics = read(root, "docs/diagnostics.md");
    let reference = read(root, "docs/reference.md");
    for c in remedy::diag::Code::ALL {
        let c = c.as_str();
        let text = section(&diagnostics, &format!("### `{c}`"));
        assert!(
            text.contains("**Raised when**"),
            "docs/diagnostics.md `{c}` says when it is raised"
        );
        assert!(text.contains("**Fix**"), "docs/diagnostics.md `{c}` says how to fix it");
        assert!(
            reference.contains(&format!("(diagnostics.md#{c})")),
            "docs/reference.md links `{c}`"
        );
    }
    for c in remedy::lint::LintCode::ALL {
        let c = c.as_str();
        let page = read(root, &format!("docs/lints/{c}.md"));
        assert!(page.starts_with(&format!("# `{c}`")), "docs/lints/{c}.md");
        assert!(
            page.contains("## Example that triggers it") && page.contains("## Fix"),
            "docs/lints/{c}.md"
        );
        assert!(
            reference.contains(&format!("(lints/{c}.md)")),
            "docs/reference.md links `{c}`"
        );
    }
}
