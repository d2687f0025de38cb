//! The committed JSON Schemas must be exactly what the types generate.
//! Regenerate with: REMEDY_UPDATE_SCHEMAS=1 cargo test --test schemas

use std::path::Path;

fn check(file: &str, generated: String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas").join(file);
    if std::env::var_os("REMEDY_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/{file} is out of date with the types: run `REMEDY_UPDATE_SCHEMAS=1 cargo test --test schemas`"
    );
}

#[test]
fn playbook_schema_is_current() {
    check("playbook.schema.json", remedy::schema::playbook_schema());
}

#[test]
fn plan_schema_is_current() {
    check("plan.schema.json", remedy::schema::plan_schema());
}

#[test]
fn report_schema_is_current() {
    check("report.schema.json", remedy::schema::report_schema());
}

#[test]
fn schemas_carry_doc_comments_and_reject_unknown_fields() {
    let s: serde_json::Value = serde_json::from_str(&remedy::schema::playbook_schema()).unwrap();
    let text = s.to_string();
    assert!(
        text.contains("A user rule with the id of a bundled rule replaces it"),
        "doc comments become descriptions"
    );
    assert!(
        text.contains("\"additionalProperties\":false"),
        "deny_unknown_fields shows in the schema"
    );
    let plan: serde_json::Value = serde_json::from_str(&remedy::schema::plan_schema()).unwrap();
    for field in ["findings", "actions", "summary"] {
        assert!(
            plan["required"].as_array().unwrap().iter().any(|v| v == field),
            "{field} is required"
        );
    }
    // Fields that are always present (null when they do not apply) are required.
    let action = &plan["$defs"]["Action"];
    for field in ["target", "reason", "needsInput", "alternative", "dependsOn"] {
        assert!(
            action["required"].as_array().unwrap().iter().any(|v| v == field),
            "Action.{field} is required"
        );
    }
    for field in ["steps", "commands", "target", "disruptive"] {
        assert!(
            action["properties"][field]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty()),
            "Action.{field} has a description"
        );
    }
    let subject = &plan["$defs"]["Subject"];
    assert!(
        subject["properties"]["tag"]["description"]
            .as_str()
            .unwrap()
            .contains("ImageStream")
    );
}

#[test]
fn every_playbook_property_is_described() {
    let s: serde_json::Value = serde_json::from_str(&remedy::schema::playbook_schema()).unwrap();
    let mut missing = Vec::new();
    for (name, def) in s["$defs"].as_object().unwrap() {
        for (prop, schema) in def["properties"].as_object().into_iter().flatten() {
            if schema.get("description").is_none() {
                missing.push(format!("{name}.{prop}"));
            }
        }
    }
    assert!(missing.is_empty(), "add doc comments to: {missing:?}");
}
