//! Connection flags (shared by every command that talks to a cluster) and the live plan.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::cluster::ClusterSource;
use crate::cluster::live::{ConnectOptions, Live};
use crate::inputs::Inputs;
use crate::plan::{Plan, PlanScope, SkippedRule};
use crate::rules::RuleSet;
use crate::{engine, plan};

#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// Kubeconfig file to use (only this one). Without it: the files of KUBECONFIG, merged,
    /// else ~/.kube/config, else the pod's service account (in-cluster).
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use instead of the current one.
    #[arg(long, value_name = "NAME", conflicts_with = "snapshot")]
    pub context: Option<String>,
    /// Look at every namespace (the default).
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Give up when the whole run takes longer (`90s`, `5m`).
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Limit for each request to the API server; slow or failed requests are retried a few
    /// times.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub request_timeout: Duration,
}

impl ConnectArgs {
    pub fn options(&self) -> ConnectOptions {
        ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            request_timeout: self.request_timeout,
        }
    }
}

/// `-A` (every namespace) with `-n` (only these) asks for two different things: refused,
/// rather than one of them silently winning.
pub fn check_namespaces(args: &ConnectArgs, namespaces: &[String]) -> anyhow::Result<()> {
    if args.all_namespaces && !namespaces.is_empty() {
        anyhow::bail!(
            "-A/--all-namespaces and -n/--namespace {} contradict each other: give -n for those namespaces only, or -A (the default) for every one",
            namespaces.join(" -n ")
        );
    }
    Ok(())
}

/// The scope flags as a plan records them (`source.scope`); `None` when nothing limits it.
pub fn scope_record(args: &super::ScopeArgs) -> Option<PlanScope> {
    let rec = PlanScope {
        namespaces: args.namespace.iter().map(|n| n.trim().to_string()).collect(),
        selector: args.selector.clone(),
        categories: args.category.clone(),
        rules: args.rule.clone(),
    };
    (rec != PlanScope::default()).then_some(rec)
}

/// A recorded scope as the flags that give it.
pub fn scope_args(rec: &PlanScope) -> super::ScopeArgs {
    super::ScopeArgs {
        namespace: rec.namespaces.clone(),
        selector: rec.selector.clone(),
        category: rec.categories.clone(),
        rule: rec.rules.clone(),
    }
}

/// `500ms`, `30s`, `5m`, `1h`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (for example 30s, 5m)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs <= 0.0 || secs > 86_400.0 {
        return Err(format!("`{s}`: give a duration above zero and at most a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Plan against any cluster source: rules whose APIs it does not serve are skipped, and the
/// plan says so.
pub async fn plan_from<C: ClusterSource>(
    rules: &RuleSet,
    cluster: &C,
    inputs: &Inputs,
    scope: &crate::engine::scope::Scope,
) -> anyhow::Result<Plan> {
    let skipped = engine::apis::skipped_rules(rules, cluster).await?;
    let skip = skipped.iter().map(|(i, _)| *i).collect();
    let evaluation = engine::evaluate_in(rules, cluster, inputs, scope, &skip).await?;
    let mut plan = plan::build_owned(rules, evaluation, inputs, &cluster.info());
    plan.rules.skipped = skipped
        .into_iter()
        .map(|(i, reason)| SkippedRule {
            rule: rules.rules[i].id.clone(),
            reason,
        })
        .collect();
    Ok(plan)
}

/// Connect and plan, within the whole-run timeout.
pub async fn plan_live(
    rules: &RuleSet,
    inputs: &Inputs,
    args: &ConnectArgs,
    scope: &crate::engine::scope::Scope,
) -> anyhow::Result<Plan> {
    let run = async {
        let live = Live::connect(&args.options())
            .await?
            .scoped(scope.namespaces.iter().cloned().collect());
        let endpoint = live.endpoint().clone();
        tracing::info!(context = %endpoint.context, server = %endpoint.server, "connected");
        let mut plan = plan_from(rules, &live, inputs, scope)
            .await
            .with_context(|| format!("planning against {} ({})", endpoint.context, endpoint.server))?;
        plan.source.context = Some(endpoint.context.clone());
        plan.source.server = Some(endpoint.server.clone());
        tracing::info!(requests = live.requests(), "requests sent");
        Ok::<_, anyhow::Error>(plan)
    };
    match tokio::time::timeout(args.timeout, run).await {
        Ok(r) => r,
        Err(_) => anyhow::bail!(
            "the plan did not finish within {} (--timeout): the API server answers too slowly",
            humantime(args.timeout)
        ),
    }
}

fn humantime(d: Duration) -> String {
    if !d.as_millis().is_multiple_of(1000) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}s", d.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }
}
