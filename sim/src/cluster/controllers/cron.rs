//! The CronJob controller's decisions (pure): standard five-field schedules (`*`, `*/n`, `a-b`,
//! `a-b/n`, lists, `@hourly`-style macros), evaluated in UTC minute by minute, creating Jobs
//! named `<cronjob>-<minutes since the epoch>` and trimming finished history.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Value, json};

use crate::cluster::actions::{Action, Kind};
use crate::cluster::objects::{condition_true, controller_ref, int_at, meta, owned_by};

/// A parsed schedule: the allowed values of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    fields: [Vec<u32>; 5],
}

const RANGES: [(u32, u32); 5] = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];

fn field(text: &str, (lo, hi): (u32, u32)) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .map_err(|_| format!("bad step in {part:?}"))?
                    .max(1),
            ),
            None => (part, 1),
        };
        let (a, b) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (
                    a.parse().map_err(|_| format!("bad range {r:?}"))?,
                    b.parse().map_err(|_| format!("bad range {r:?}"))?,
                ),
                None => {
                    let v: u32 = r.parse().map_err(|_| format!("bad value {r:?}"))?;
                    (v, if part.contains('/') { hi } else { v })
                }
            },
        };
        if a < lo || b > hi || a > b {
            return Err(format!("{part:?} is outside {lo}-{hi}"));
        }
        out.extend((a..=b).step_by(step as usize));
    }
    Ok(out)
}

impl std::str::FromStr for Schedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = match s.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let parts: Vec<&str> = s.split_whitespace().collect();
        let [m, h, dom, mon, dow] = parts.as_slice() else {
            return Err(format!("{s:?}: expected 5 fields"));
        };
        let dow = dow.replace('7', "0");
        Ok(Schedule {
            fields: [
                field(m, RANGES[0])?,
                field(h, RANGES[1])?,
                field(dom, RANGES[2])?,
                field(mon, RANGES[3])?,
                field(&dow, RANGES[4])?,
            ],
        })
    }
}

impl Schedule {
    /// Whether the schedule fires at the minute of `t`.
    pub fn fires_at(&self, t: DateTime<Utc>) -> bool {
        let [m, h, dom, mon, dow] = &self.fields;
        m.contains(&t.minute())
            && h.contains(&t.hour())
            && dom.contains(&t.day())
            && mon.contains(&t.month())
            && dow.contains(&t.weekday().num_days_from_sunday())
    }

    /// The latest firing minute in (`after`, `now`], looking back at most a week.
    pub fn latest_between(
        &self,
        after: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut t = now.with_second(0)?.with_nanosecond(0)?;
        let floor = after.max(now - Duration::days(7));
        while t > floor {
            if self.fires_at(t) {
                return Some(t);
            }
            t -= Duration::minutes(1);
        }
        None
    }
}

fn finished(job: &Value) -> bool {
    condition_true(job, "Complete") || condition_true(job, "Failed")
}

/// The writes for CronJob `cj` at `now`, given every Job.
pub fn plan_cron_job(cj: &Value, jobs: &[Value], now: DateTime<Utc>) -> Vec<Action> {
    let Ok(schedule) = cj["spec"]["schedule"]
        .as_str()
        .unwrap_or_default()
        .parse::<Schedule>()
    else {
        return Vec::new();
    };
    let owned = owned_by(cj, jobs);
    let (ns, name) = (meta(cj, "namespace"), meta(cj, "name"));
    let mut actions = Vec::new();
    let active: Vec<&&Value> = owned.iter().filter(|j| !finished(j)).collect();
    let last = cj
        .pointer("/status/lastScheduleTime")
        .or_else(|| cj.pointer("/metadata/creationTimestamp"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    let mut status = json!({
        "active": active.iter().map(|j| json!({"kind": "Job", "apiVersion": "batch/v1", "namespace": ns, "name": meta(j, "name"), "uid": meta(j, "uid")})).collect::<Vec<_>>(),
    });
    for field in ["lastScheduleTime", "lastSuccessfulTime"] {
        if let Some(v) = cj.pointer(&format!("/status/{field}")) {
            status[field] = v.clone();
        }
    }
    let suspended = cj.pointer("/spec/suspend") == Some(&json!(true));
    if let Some(due) = schedule.latest_between(last, now).filter(|_| !suspended) {
        let policy = cj
            .pointer("/spec/concurrencyPolicy")
            .and_then(Value::as_str)
            .unwrap_or("Allow");
        let blocked = policy == "Forbid" && !active.is_empty();
        if policy == "Replace" {
            actions.extend(
                active
                    .iter()
                    .map(|j| Action::Delete(Kind::Job, ns.into(), meta(j, "name").into())),
            );
        }
        if !blocked {
            let template = &cj["spec"]["jobTemplate"];
            let mut metadata = template
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({}));
            metadata["name"] = json!(format!("{name}-{}", due.timestamp() / 60));
            metadata["namespace"] = json!(ns);
            metadata["ownerReferences"] = json!([controller_ref(cj)]);
            metadata["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
                json!(due.to_rfc3339());
            let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": template["spec"]});
            actions.push(Action::Create(Kind::Job, job));
            status["lastScheduleTime"] =
                json!(due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
    }
    for (keep, cond) in [
        (
            int_at(cj, "/spec/successfulJobsHistoryLimit", 3),
            "Complete",
        ),
        (int_at(cj, "/spec/failedJobsHistoryLimit", 1), "Failed"),
    ] {
        let mut done: Vec<&&Value> = owned.iter().filter(|j| condition_true(j, cond)).collect();
        done.sort_by_key(|j| std::cmp::Reverse(meta(j, "creationTimestamp").to_string()));
        actions.extend(
            done.iter()
                .skip(keep.max(0) as usize)
                .map(|j| Action::Delete(Kind::Job, ns.into(), meta(j, "name").into())),
        );
    }
    if cj.get("status") != Some(&status) {
        actions.push(Action::Status(
            Kind::CronJob,
            ns.into(),
            name.into(),
            status,
        ));
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn schedules_parse_and_fire_like_cron() {
        let every5: Schedule = "*/5 * * * *".parse().unwrap();
        assert!(every5.fires_at(at("2026-01-01T10:15:00Z")));
        assert!(!every5.fires_at(at("2026-01-01T10:16:00Z")));
        let weekdays: Schedule = "30 9 * * 1-5".parse().unwrap();
        assert!(weekdays.fires_at(at("2026-01-02T09:30:00Z")), "a Friday");
        assert!(!weekdays.fires_at(at("2026-01-03T09:30:00Z")), "a Saturday");
        assert_eq!(
            "@hourly".parse::<Schedule>().unwrap(),
            "0 * * * *".parse().unwrap()
        );
        assert!("61 * * * *".parse::<Schedule>().is_err());
        assert!("* * *".parse::<Schedule>().is_err());
        assert_eq!(
            every5.latest_between(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:12:30Z")),
            Some(at("2026-01-01T10:10:00Z"))
        );
        assert_eq!(
            every5.latest_between(at("2026-01-01T10:10:00Z"), at("2026-01-01T10:12:30Z")),
            None
        );
    }

    #[test]
    fn due_cron_jobs_create_a_job_and_respect_forbid() {
        let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "nightly", "namespace": "ns", "uid": "c1", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": "* * * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        let now = at("2026-01-01T00:03:10Z");
        let actions = plan_cron_job(&cj, &[], now);
        let Action::Create(Kind::Job, job) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert_eq!(
            meta(job, "name"),
            format!("nightly-{}", at("2026-01-01T00:03:00Z").timestamp() / 60)
        );
        assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], "c1");
        let running = json!({"metadata": {"name": "nightly-1", "namespace": "ns", "ownerReferences": [controller_ref(&cj)]}});
        let actions = plan_cron_job(&cj, &[running], now);
        assert!(
            !actions.iter().any(|a| matches!(a, Action::Create(..))),
            "{actions:?}"
        );
    }
}
