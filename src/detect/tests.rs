use super::*;
use serde_json::json;

fn pod(name: &str, reason: &str, message: Option<&str>) -> Arc<Object> {
    let mut waiting = json!({"reason": reason});
    if let Some(m) = message {
        waiting["message"] = json!(m);
    }
    Arc::new(
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "apps", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"serviceAccountName": "builder", "containers": [{"name": "web", "image": "quay.io/acme/web:1"}],
                     "initContainers": [{"name": "init", "image": "busybox"}]},
            "status": {"containerStatuses": [{"name": "web", "image": "quay.io/acme/web:1", "state": {"waiting": waiting}}],
                       "initContainerStatuses": [{"name": "init", "state": {"terminated": {"reason": "Completed"}}}]}
        }))
        .unwrap(),
    )
}

fn event(pod: &str, reason: &str, message: &str, count: u64, uid: Option<&str>) -> EventRecord {
    EventRecord {
        namespace: "apps".into(),
        involved_kind: "Pod".into(),
        involved_name: pod.into(),
        involved_uid: uid.map(Arc::from),
        field_path: Some("spec.containers{web}".into()),
        reason: reason.into(),
        event_type: "Warning".into(),
        message: message.into(),
        count,
        first_timestamp: Some("2026-01-01T00:00:00Z".into()),
        last_timestamp: Some("2026-01-01T01:00:00Z".into()),
        component: Some("kubelet".into()),
    }
}

#[test]
fn odd_field_paths_name_no_container_and_never_panic() {
    assert_eq!(container_of("spec.containers{web}"), Some(("web", false)));
    assert_eq!(container_of("spec.initContainers{init}"), Some(("init", true)));
    assert_eq!(container_of("a}b{c"), None);
    assert_eq!(container_of("spec.containers{"), None);
}

#[test]
fn huge_event_counts_saturate() {
    let pods = vec![pod("web-1", "ErrImagePull", None)];
    let msg = "Failed to pull image \"quay.io/acme/web:1\": unauthorized";
    let events = vec![
        event("web-1", "Failed", msg, u64::MAX, Some("u1")),
        event("web-1", "Failed", msg, 5, Some("u1")),
    ];
    let fs = detect(&pods, &events);
    let ev = fs[0]
        .evidence
        .iter()
        .find(|e| &*e.message == msg)
        .expect("the event is evidence");
    assert_eq!(ev.count, u64::MAX);
}

#[test]
fn joins_status_and_events_per_container() {
    let pods = vec![pod(
        "web-1",
        "ImagePullBackOff",
        Some("Back-off pulling image \"quay.io/acme/web:1\""),
    )];
    let events = vec![
        event(
            "web-1",
            "Failed",
            "Failed to pull image \"quay.io/acme/web:1\": unauthorized: access to the requested resource is not authorized",
            7,
            Some("u1"),
        ),
        event("web-1", "Failed", "Error: ErrImagePull", 7, Some("u1")),
        event(
            "web-1",
            "BackOff",
            "Back-off pulling image \"quay.io/acme/web:1\"",
            30,
            Some("u1"),
        ),
        event(
            "web-1",
            "Pulling",
            "Pulling image \"quay.io/acme/web:1\"",
            8,
            Some("u1"),
        ),
    ];
    let fs = detect(&pods, &events);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    let f = &fs[0];
    assert_eq!(f.container.as_deref(), Some("web"));
    assert_eq!(&*f.registry, "quay.io");
    assert_eq!(f.service_account.as_deref(), Some("builder"));
    assert_eq!(
        f.evidence.len(),
        4,
        "3 pull events + the status; Pulling is not evidence"
    );
    assert!(!f.unexplained());
    assert!(f.headline().unwrap().message.contains("not authorized"));
    assert_eq!(f.total_count(), 30);
}

#[test]
fn back_off_only_is_unexplained() {
    let pods = vec![pod(
        "web-1",
        "ImagePullBackOff",
        Some("Back-off pulling image \"quay.io/acme/web:1\""),
    )];
    let events = vec![event(
        "web-1",
        "BackOff",
        "Back-off pulling image \"quay.io/acme/web:1\"",
        4208,
        None,
    )];
    let fs = detect(&pods, &events);
    assert_eq!(fs.len(), 1);
    assert!(fs[0].unexplained());
}

#[test]
fn events_of_vanished_pods_are_orphans() {
    let events = vec![event(
        "gone-1",
        "Failed",
        "Failed to pull image \"nginx:1.25\": not found",
        2,
        Some("u9"),
    )];
    let fs = detect(&[], &events);
    assert_eq!(fs.len(), 1);
    assert!(!fs[0].pod_exists);
    assert_eq!(&*fs[0].registry, "docker.io");
    // Same name, other uid: the pod was recreated; the event is about the old one, which
    // is gone: an orphan beside the new pod's own failure, never merged into it.
    let pods = vec![pod("gone-1", "ErrImagePull", Some("x"))];
    let fs = detect(&pods, &events);
    assert_eq!(fs.len(), 2, "{fs:#?}");
    let live: Vec<&Failure> = fs.iter().filter(|f| f.pod_exists).collect();
    let gone: Vec<&Failure> = fs.iter().filter(|f| !f.pod_exists).collect();
    assert_eq!((live.len(), gone.len()), (1, 1));
    assert!(
        live[0]
            .evidence
            .iter()
            .all(|e| &*e.message != "Failed to pull image \"nginx:1.25\": not found"),
        "{fs:#?}"
    );
    assert_eq!(&*gone[0].pod, "gone-1");
    assert_eq!(gone[0].container.as_deref(), Some("web"));
    assert_eq!(&*gone[0].image, "nginx:1.25", "the image named in the old pod's event");
    assert_eq!(gone[0].evidence[0].count, 2);
    // The same uid (or none recorded) is the live pod's own event.
    let same = vec![event(
        "gone-1",
        "Failed",
        "Failed to pull image \"nginx:1.25\": not found",
        2,
        Some("u1"),
    )];
    let fs = detect(&pods, &same);
    assert_eq!(fs.len(), 1);
    assert!(fs[0].pod_exists);
    let no_uid = vec![event(
        "gone-1",
        "Failed",
        "Failed to pull image \"nginx:1.25\": not found",
        2,
        None,
    )];
    assert_eq!(detect(&pods, &no_uid).len(), 1);
}

#[test]
fn duplicate_events_are_merged_and_counts_summed() {
    let pods = vec![pod("web-1", "ErrImagePull", None)];
    let m = "Failed to pull image \"quay.io/acme/web:1\": x509: certificate signed by unknown authority";
    let events = vec![
        event("web-1", "Failed", m, 3, Some("u1")),
        event("web-1", "Failed", m, 4, Some("u1")),
    ];
    let fs = detect(&pods, &events);
    assert_eq!(fs[0].evidence.len(), 1);
    assert_eq!(fs[0].evidence[0].count, 7);
}

/// One pod with very many containers, all failing, each named by an event: every lookup
/// inside the pod is hashed, so this is linear (it scanned every container for each
/// status and event, quadratic: 100 000 containers took 84 s).
#[test]
fn a_pod_with_very_many_containers_is_linear() {
    let n = 30_000;
    let containers: Vec<_> = (0..n)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/acme/c{i}:1")}))
        .collect();
    let statuses: Vec<_> = (0..n)
        .map(|i| json!({"name": format!("c{i}"), "state": {"waiting": {"reason": "ImagePullBackOff"}}}))
        .collect();
    let big = Arc::new(
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "big", "namespace": "apps", "uid": "u1"},
            "spec": {"containers": containers},
            "status": {"containerStatuses": statuses}
        }))
        .unwrap(),
    );
    let events: Vec<EventRecord> = (0..n)
        .map(|i| {
            let mut e = event(
                "big",
                "Failed",
                &format!("Failed to pull image \"quay.io/acme/c{i}:1\": denied"),
                1,
                Some("u1"),
            );
            e.field_path = None;
            e
        })
        .collect();
    let failures = detect(&[big], &events);
    assert_eq!(failures.len(), n);
    let last = failures
        .iter()
        .find(|f| f.container.as_deref() == Some("c29999"))
        .unwrap();
    assert_eq!(&*last.image, "quay.io/acme/c29999:1");
    // Joined by image: the event found the container its status names (else it would be
    // a failure of its own, with no container).
    assert_eq!(last.evidence.len(), 1);
    assert_eq!(last.waiting_reason.as_deref(), Some("ImagePullBackOff"));
    // Many distinct messages for one container are gathered in linear time too.
    let events: Vec<EventRecord> = (0..n)
        .map(|i| {
            event(
                "big",
                "Failed",
                &format!("Failed to pull image \"x\": {i}"),
                1,
                Some("u1"),
            )
        })
        .collect();
    let f = detect(&[], &events);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.len(), n);
}

#[test]
fn a_pull_that_recovered_is_history() {
    let mut v = pod("web-1", "ErrImagePull", None).value().clone();
    v["status"]["containerStatuses"][0]["state"] = json!({"running": {"startedAt": "2026-01-01T01:00:00Z"}});
    let p = Object::from_value(v).unwrap();
    let events = vec![event(
        "web-1",
        "Failed",
        "Failed to pull image \"quay.io/acme/web:1\": 429 Too Many Requests",
        1,
        Some("u1"),
    )];
    assert!(detect(&[Arc::new(p)], &events).is_empty());
}

/// Pods are parsed again only when they may be waiting or an event names them: a key
/// spelled with an escape (`w\u0061iting`) must still be found, as the parser reads it.
#[test]
fn an_escaped_waiting_key_is_still_read() {
    let text = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"apps"},"spec":{"containers":[{"name":"c","image":"quay.io/a/b:1"}]},"status":{"containerStatuses":[{"name":"c","state":{"w\u0061iting":{"reason":"ErrImagePull","message":"x"}}}]}}"#;
    let p = Object::from_json_text(text).unwrap();
    assert!(!p.raw().contains("\"waiting\""));
    let fs = detect(&[Arc::new(p)], &[]);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(&*fs[0].image, "quay.io/a/b:1");
    assert_eq!(fs[0].waiting_message.as_deref(), Some("x"));
}

/// Pods no event names are viewed one at a time and their views dropped: a container name
/// spelled with escapes is copied into the failure's key, one borrowed is not, and both keep
/// the order of a map by key. A pod an event names keeps its view, and its status and event
/// are one failure.
#[test]
fn containers_of_dropped_views_keep_their_names_and_order() {
    let text = |pod: &str, c: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{pod}","namespace":"apps"}},"spec":{{"containers":[{{"name":"{c}","image":"quay.io/a/b:1"}}]}},"status":{{"containerStatuses":[{{"name":"{c}","state":{{"waiting":{{"reason":"ErrImagePull","message":"x"}}}}}}]}}}}"#
        )
    };
    let pods: Vec<Arc<Object>> = [("p2", r"web"), ("p1", "web"), ("p3", "web")]
        .iter()
        .map(|(p, c)| Arc::new(Object::from_json_text(&text(p, c)).unwrap()))
        .collect();
    assert!(pods[0].raw().contains(r"web"));
    let events = vec![event(
        "p3",
        "Failed",
        "Failed to pull image \"quay.io/a/b:1\": denied",
        2,
        None,
    )];
    let fs = detect(&pods, &events);
    let got: Vec<(&str, Option<&str>, usize)> = fs
        .iter()
        .map(|f| (&*f.pod, f.container.as_deref(), f.evidence.len()))
        .collect();
    assert_eq!(
        got,
        [("p1", Some("web"), 1), ("p2", Some("web"), 1), ("p3", Some("web"), 2)]
    );
}

/// A pod with no waiting state that only an event names is still joined to the event (its
/// service account and labels come from the pod).
#[test]
fn a_pod_only_an_event_names_is_read() {
    let mut v = pod("web-1", "ErrImagePull", None).value().clone();
    v["status"] = json!({"phase": "Pending"});
    let p = Object::from_value(v).unwrap();
    assert!(!p.raw().contains("waiting"));
    let events = vec![event(
        "web-1",
        "Failed",
        "Failed to pull image \"quay.io/acme/web:1\": denied",
        1,
        Some("u1"),
    )];
    let fs = detect(&[Arc::new(p)], &events);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert!(fs[0].pod_exists);
    assert_eq!(fs[0].service_account.as_deref(), Some("builder"));
    assert_eq!(fs[0].labels.get("app").map(String::as_str), Some("web"));
}

/// The shape check reads the same view detection does; strings borrowed or not, a wrong
/// type is named with serde's wording.
#[test]
fn shape_errors_name_the_field() {
    let (path, msg) = pod_shape_error(r#"{"kind":"Pod","metadata":{"name":"p","labels":{"a":1}}}"#).unwrap();
    assert_eq!(path, "metadata.labels.a");
    assert!(msg.contains("expected a string"), "{msg}");
    let (path, _) = pod_shape_error(r#"{"kind":"Pod","spec":{"containers":[{"name":"c","image":["x"]}]}}"#).unwrap();
    assert!(path.starts_with("spec.containers[0].image"), "{path}");
    assert_eq!(
        pod_shape_error(r#"{"kind":"Pod","metadata":{"name":"p\u0041","labels":{"a":"\u00e9"}}}"#),
        None
    );
}

#[test]
fn running_init_container_is_not_a_failure() {
    let fs = detect(&[pod("web-1", "ContainerCreating", None)], &[]);
    assert!(fs.is_empty());
}

#[test]
fn messages_are_shared_with_their_evidence_not_copied() {
    // Quoted (escaped in the pod's text) and plain: both are held once.
    for waiting in ["Back-off pulling image \"quay.io/acme/web:1\"", "manifest unknown"] {
        let pods = vec![pod("web-1", "ErrImagePull", Some(waiting))];
        let events = vec![event(
            "web-1",
            "Failed",
            "Failed to pull image \"quay.io/acme/web:1\": unauthorized",
            2,
            Some("u1"),
        )];
        let fs = detect(&pods, &events);
        let f = fs.iter().find(|f| f.container.as_deref() == Some("web")).unwrap();
        let by = |s: EvidenceSource| &f.evidence.iter().find(|e| e.source == s).unwrap().message;
        let w = f.waiting_message.as_ref().unwrap();
        assert_eq!(&**w, waiting);
        assert!(Arc::ptr_eq(w, by(EvidenceSource::ContainerStatus)));
        assert!(Arc::ptr_eq(&events[0].message, by(EvidenceSource::Event)));
    }
}

#[test]
fn a_pods_failures_share_what_they_have_in_common() {
    // Two failing containers of one pod, and a second pod with the same registry.
    let two = Arc::new(
        Object::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "two", "namespace": "apps", "uid": "u2", "labels": {"app": "web"},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"serviceAccountName": "builder", "nodeName": "n1", "containers": [
                {"name": "a", "image": "quay.io/acme/a:1"}, {"name": "b", "image": "quay.io/acme/b:1"}]},
            "status": {"containerStatuses": [
                {"name": "a", "image": "quay.io/acme/a:1", "state": {"waiting": {"reason": "ImagePullBackOff"}}},
                {"name": "b", "image": "quay.io/acme/b:1", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
        }))
        .unwrap(),
    );
    let fs = detect(&[two, pod("web-1", "ImagePullBackOff", None)], &[]);
    assert_eq!(fs.len(), 3, "{fs:#?}");
    let (a, b, other) = (&fs[0], &fs[1], &fs[2]);
    assert_eq!((&*a.pod, &*b.pod, &*other.pod), ("two", "two", "web-1"));
    assert!(Arc::ptr_eq(&a.pod, &b.pod));
    assert!(Arc::ptr_eq(&a.namespace, &b.namespace) && Arc::ptr_eq(&a.namespace, &other.namespace));
    assert!(Arc::ptr_eq(&a.labels, &b.labels) && a.labels.get("app").map(String::as_str) == Some("web"));
    for field in [
        |f: &Failure| f.service_account.clone(),
        |f: &Failure| f.node_name.clone(),
        |f: &Failure| f.created.clone(),
    ] {
        let (x, y) = (field(a).unwrap(), field(b).unwrap());
        assert!(Arc::ptr_eq(&x, &y), "{x} is copied");
    }
    // Names repeated across pods are kept once per run.
    assert_eq!(&*a.registry, "quay.io");
    assert!(Arc::ptr_eq(&a.registry, &other.registry));
    assert!(Arc::ptr_eq(
        a.waiting_reason.as_ref().unwrap(),
        other.waiting_reason.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        a.service_account.as_ref().unwrap(),
        other.service_account.as_ref().unwrap()
    ));
}

#[test]
fn evidence_shares_its_events_reason_type_and_times() {
    let pods = vec![pod("web-1", "ErrImagePull", None), pod("web-2", "ErrImagePull", None)];
    let msg = "Failed to pull image \"quay.io/acme/web:1\": unauthorized";
    let events = vec![
        event("web-1", "Failed", msg, 1, Some("u1")),
        event("web-2", "Failed", msg, 1, Some("u1")),
    ];
    let fs = detect(&pods, &events);
    let of = |pod: &str| {
        let f = fs.iter().find(|f| &*f.pod == pod).unwrap();
        f.evidence
            .iter()
            .find(|e| e.source == EvidenceSource::Event)
            .unwrap()
            .clone()
    };
    let (a, b) = (of("web-1"), of("web-2"));
    assert_eq!((&*a.reason, a.event_type.as_deref()), ("Failed", Some("Warning")));
    // The evidence shares the event's strings (which the loader keeps once per file).
    for (ev, e) in [(&a, &events[0]), (&b, &events[1])] {
        assert!(Arc::ptr_eq(&ev.reason, &e.reason));
        assert!(Arc::ptr_eq(ev.event_type.as_ref().unwrap(), &e.event_type));
        assert!(Arc::ptr_eq(
            ev.first_seen.as_ref().unwrap(),
            e.first_timestamp.as_ref().unwrap()
        ));
        assert!(Arc::ptr_eq(
            ev.last_seen.as_ref().unwrap(),
            e.last_timestamp.as_ref().unwrap()
        ));
    }
}

#[test]
fn a_repeated_message_spans_its_earliest_and_latest_sighting() {
    let pods = vec![pod("web-1", "ErrImagePull", None)];
    let msg = "Failed to pull image \"quay.io/acme/web:1\": unauthorized";
    let at = |first: Option<&str>, last: Option<&str>| EventRecord {
        first_timestamp: first.map(Arc::from),
        last_timestamp: last.map(Arc::from),
        ..event("web-1", "Failed", msg, 1, Some("u1"))
    };
    let events = vec![
        at(None, Some("2026-01-01T02:00:00Z")),
        at(Some("2026-01-01T01:00:00Z"), Some("2026-01-01T03:00:00Z")),
        at(Some("2026-01-01T00:30:00Z"), None),
        at(Some("2026-01-01T00:45:00Z"), Some("2026-01-01T01:00:00Z")),
    ];
    let fs = detect(&pods, &events);
    let e = fs[0]
        .evidence
        .iter()
        .find(|e| e.source == EvidenceSource::Event)
        .unwrap();
    assert_eq!(e.count, 4);
    assert_eq!(e.first_seen.as_deref(), Some("2026-01-01T00:30:00Z"));
    assert_eq!(e.last_seen.as_deref(), Some("2026-01-01T03:00:00Z"));
}
