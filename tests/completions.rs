//! Shell completions and the man page come from the clap definitions.

mod common;
use common::*;

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "_remedy()"),
        ("zsh", "#compdef remedy"),
        ("fish", "complete -c remedy"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let r = remedy(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(
            r.stdout.contains(marker),
            "{shell}: {}",
            &r.stdout[..r.stdout.len().min(300)]
        );
        for sub in ["plan", "rules", "lint"] {
            assert!(r.stdout.contains(sub), "{shell} completes `{sub}`");
        }
    }
    let r = remedy(&["completions", "tcsh"]);
    assert_eq!(r.code, 1, "an unknown shell is a usage error");
}

#[test]
fn the_man_page_is_roff_with_the_commands() {
    let r = remedy(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH remedy"),
        "{}",
        &r.stdout[..200]
    );
    assert!(r.stdout.contains("plan") && r.stdout.contains("rules"));
}
