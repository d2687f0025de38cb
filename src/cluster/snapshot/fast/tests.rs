use super::*;

/// What the general parser makes of a document.
fn general(doc: &str) -> Converted {
    super::super::yaml::convert(serde_yaml::Deserializer::from_str(doc).next().unwrap())
        .map_err(|(e, p)| format!("{p}: {e}"))
        .unwrap()
}

fn same(doc: &str) {
    let fast = convert(doc).unwrap_or_else(|| panic!("not read:\n{doc}"));
    let slow = general(doc);
    assert_eq!(fast.json, slow.json, "{doc}");
    assert_eq!(fast.times, slow.times, "{doc}");
}

#[test]
fn reads_the_usual_layout_as_the_general_parser_does() {
    same(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels:\n    app.kubernetes.io/name: x\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"a\": 1}\n    keep: 'it''s'\nspec:\n  containers:\n  - name: web\n    image: \"quay.io/a/b:1\"\n    args:\n    - --flag\n    - \"-x\"\n    ports:\n    - containerPort: 8080\n      protocol: TCP\n  nodeSelector: {}\n  tolerations: []\nstatus:\n  podIP: 10.128.0.19\n  startTime: \"2025-11-28T23:12:40Z\"\n  created: 2025-11-28T23:12:40Z\n  restartCount: 0\n  ready: false\n  x: ~\n  empty:\n  cpu: 100m\n  ratio: 0.5\n  neg: -3\n  version: 4.20.3\n",
    );
    same("- a: 1\n  b:\n  - x\n  -\n    c: d\n- plain\n- 'quoted: yes'\n");
    same("data:\n  script: |-\n    line 1\n\n      indented\n    last\n  other: |\n    text\n\n\nnext: 1\n");
    same(
        "---\nmetadata:\n  name: m\n  managedFields:\n  - manager: kubectl\n    time: \"2026-01-01T00:00:00Z\"\n  - manager: x\n    time: \"2026-02-01T00:00:00Z\"\n    fieldsV1:\n      f:metadata: {}\n",
    );
    same("message: \"tab\\there \\\"q\\\" \\u00e9\"\n# a comment\nargs:\n- --flag\n- -v\n");
}

#[test]
fn snapshot_reading_marks_events_that_cannot_be_about_a_pull() {
    let doc = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Event\n  metadata:\n    name: a.1\n  reason: Started\n  message: Started container web\n- apiVersion: v1\n  kind: Event\n  metadata:\n    name: a.2\n  reason: Failed\n  message: 'Failed to pull image \"x\": not found'\n- apiVersion: v1\n  kind: Event\n  metadata:\n    name: a.3\n  reason: Pulling\n  message: \"Pulling image \\\"x\\u0022\"\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n";
    let full = convert(doc).unwrap();
    let marked = convert_snapshot(doc).unwrap();
    let items = |c: &Converted| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(&c.json).unwrap();
        v["items"].as_array().unwrap().clone()
    };
    let (full_items, marked_items) = (items(&full), items(&marked));
    assert_eq!(marked_items.len(), 4, "positions are kept");
    assert_eq!(
        marked_items[0],
        serde_json::json!({"kind": "Event"}),
        "a Started event is only marked"
    );
    assert_eq!(marked_items[1], full_items[1], "a pull event is converted whole");
    assert_eq!(
        marked_items[2], full_items[2],
        "an escape could hide a reason: converted"
    );
    assert_eq!(marked_items[3], full_items[3], "other kinds are converted whole");
    assert_eq!(marked.times.len(), full.times.len());
}

#[test]
fn gives_up_outside_it() {
    for doc in [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: {b: 1}\n",
        "a: [1, 2]\n",
        "a: >\n  folded\n",
        "a: 'multi\n  line'\n",
        "a: plain\n  continued\n",
        "a: 1\na: 2\n",
        "a: v # comment\n",
        "yes: 1\n",
        "\ta: 1\n",
        "a: .inf\n",
        "- - nested\n",
    ] {
        assert!(convert(doc).is_none(), "{doc}");
    }
}

#[test]
fn agrees_with_the_general_parser_on_the_examples() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut stack = vec![root.join("examples"), root.join("tests/data/must-gather")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for (i, doc) in text.split("\n---\n").enumerate() {
                let Some(fast) = convert(doc) else { continue };
                let slow = general(doc);
                if fast.json.is_empty() && slow.json == "null" {
                    continue;
                }
                assert_eq!(fast.json, slow.json, "{} document {i}", p.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked}");
}
