//! A wrong-typed field in a snapshot object is reported with its place and what was
//! expected; where the field can hold a credential (containers, their env/args/command,
//! annotations, Secret data, messages) the value is described by its type and length, never
//! quoted: diagnostics go to stderr and CI logs.

mod common;

/// `plan --snapshot` on one file holding `yaml`, with extra flags: (exit code, stdout, stderr).
fn plan_on(yaml: &str, extra: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("snap.yaml");
    std::fs::write(&f, yaml).unwrap();
    let p = f.display().to_string();
    let mut args = vec!["plan", "--snapshot", p.as_str()];
    args.extend_from_slice(extra);
    let r = common::remedy(&args);
    (r.code, r.stdout, r.stderr)
}

const POD_HEAD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\n";

#[test]
fn wrong_typed_fields_that_can_hold_credentials_show_type_and_length_only() {
    let cases = [
        (
            "containers as a string",
            format!("{POD_HEAD}spec:\n  containers: 'env TOKEN=PLANTED-containers-1'\n"),
            "`spec.containers`",
            "a string of 30 characters, expected a sequence",
        ),
        (
            "a container as a string",
            format!("{POD_HEAD}spec:\n  containers:\n    - 'args: [--token=PLANTED-container-2]'\n"),
            "`spec.containers[0]`",
            "a string of 35 characters",
        ),
        (
            "an init container as a string",
            format!("{POD_HEAD}spec:\n  initContainers: ['PLANTED-init-3']\n"),
            "`spec.initContainers[0]`",
            "a string of 14 characters",
        ),
        (
            "a waiting message as a number",
            format!(
                "{POD_HEAD}spec:\n  containers: [{{name: c, image: quay.io/a/b}}]\nstatus:\n  containerStatuses:\n    - name: c\n      state: {{waiting: {{reason: ErrImagePull, message: 73125990042}}}}\n"
            ),
            "`status.containerStatuses[0].state.waiting.message`",
            "a number of 11 characters, expected a string",
        ),
        (
            "an event message as a number",
            "apiVersion: v1\nkind: Event\nmetadata: {name: e, namespace: ns}\ninvolvedObject: {kind: Pod, name: p}\nreason: Failed\nmessage: 84425117093\n".to_string(),
            "`message`",
            "a number of 11 characters, expected a string",
        ),
        (
            "an import message as a number",
            "apiVersion: image.openshift.io/v1\nkind: ImageStream\nmetadata: {name: s, namespace: ns}\nstatus:\n  tags:\n    - tag: latest\n      conditions: [{type: ImportSuccess, status: 'False', message: 96231775310}]\n".to_string(),
            "`status.tags[0].conditions[0].message`",
            "a number of 11 characters, expected a string",
        ),
    ];
    let planted = ["PLANTED", "73125990042", "84425117093", "96231775310"];
    for (name, yaml, field, described) in &cases {
        for extra in [&[][..], &["-o", "json"][..], &["-vv"][..]] {
            let (code, stdout, stderr) = plan_on(yaml, extra);
            assert_eq!(code, 1, "{name}: {stderr}");
            assert!(stderr.contains("error[invalid-object]"), "{name}: {stderr}");
            assert!(stderr.contains(field), "{name}: names the field: {stderr}");
            assert!(stderr.contains(described), "{name}: describes the value: {stderr}");
            assert!(stderr.contains("the value is not shown"), "{name}: {stderr}");
            for p in planted {
                assert!(
                    !stderr.contains(p) && !stdout.contains(p),
                    "{name}: {p} leaked:\n{stderr}"
                );
            }
        }
    }
}

#[test]
fn elsewhere_the_wrong_value_is_quoted_since_it_helps() {
    let yaml = format!("{POD_HEAD}spec:\n  containers: [{{name: c, image: 5}}]\n");
    let (code, _, stderr) = plan_on(&yaml, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("`spec.containers[0].image`"), "{stderr}");
    assert!(
        stderr.contains("invalid type: integer `5`, expected a string"),
        "{stderr}"
    );
    assert!(!stderr.contains("not shown"), "{stderr}");
}
