//! The settings resolver: every bound at its edges, from each source (flag or variable, config
//! file), with the same message text whichever source gave the value.

use iamsweep_core::config::{Config, FailOn};
use iamsweep_core::resolve::{
    DEFAULT_RATE, DEFAULT_WINDOW_DAYS, Given, Overrides, Resolved, SettingError, resolve,
};

const FILE: &str = "iamsweep.toml";

fn from_config(section: &str, key: &str, value: &str) -> Result<Resolved, SettingError> {
    let config = Config::from_toml(&format!("[{section}]\n{key} = {value}\n")).unwrap();
    resolve(&config, Some(FILE), &Overrides::default())
}

/// One numeric setting: how to give it as an override, its config key, and its edges.
struct Case {
    section: &'static str,
    key: &'static str,
    flag: &'static str,
    set: fn(&mut Overrides, f64),
    read: fn(&Resolved) -> f64,
    /// Values accepted, then values refused.
    accepted: &'static [&'static str],
    refused: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            section: "audit",
            key: "window_days",
            flag: "--window-days",
            set: |o, v| o.window_days = Some(Given::new(v as u32, "--window-days")),
            read: |r| f64::from(r.window_days),
            accepted: &["1", "400"],
            refused: &["0", "401"],
        },
        Case {
            section: "audit",
            key: "rate",
            flag: "IAMSWEEP_RATE",
            set: |o, v| o.rate = Some(Given::new(v, "IAMSWEEP_RATE")),
            read: |r| r.rate,
            accepted: &["0.1", "1000"],
            refused: &["0", "0.09", "1000.5", "-3", "nan", "inf"],
        },
        Case {
            section: "audit",
            key: "concurrency",
            flag: "--concurrency",
            set: |o, v| o.concurrency = Some(Given::new(v as usize, "--concurrency")),
            read: |r| r.concurrency as f64,
            accepted: &["1", "1000"],
            refused: &["0", "1001", "100000000"],
        },
        Case {
            section: "check",
            key: "stale_days",
            flag: "--stale-days",
            set: |o, v| o.stale_days = Some(Given::new(v as u32, "--stale-days")),
            read: |r| f64::from(r.rules.stale_days),
            accepted: &["1", "400"],
            refused: &["0", "401"],
        },
        Case {
            section: "guardrails",
            key: "max_changes",
            flag: "--max-changes",
            set: |o, v| o.max_changes = Some(Given::new(v as usize, "--max-changes")),
            read: |r| r.max_changes as f64,
            accepted: &["0", "10000"],
            refused: &["10001"],
        },
    ]
}

#[test]
fn every_bound_holds_at_its_edges_from_the_config_and_from_the_front() {
    for case in cases() {
        for value in case.accepted {
            let resolved = from_config(case.section, case.key, value)
                .unwrap_or_else(|e| panic!("{} = {value}: {e}", case.key));
            let number: f64 = value.parse().unwrap();
            assert_eq!((case.read)(&resolved), number, "{} = {value}", case.key);
            let mut overrides = Overrides::default();
            (case.set)(&mut overrides, number);
            let resolved = resolve(&Config::default(), None, &overrides).unwrap();
            assert_eq!((case.read)(&resolved), number, "{} {value}", case.flag);
        }
        for value in case.refused {
            let number: f64 = value.parse().unwrap();
            // Integer settings cannot hold a fraction or a sign in TOML: serde refuses those
            // with the line; the resolver refuses every integer out of range.
            let integer = case.key != "rate";
            if integer && (number < 0.0 || number.fract() != 0.0) {
                continue;
            }
            let from_file = from_config(case.section, case.key, value)
                .expect_err(&format!("{} = {value} accepted", case.key));
            assert_eq!(from_file.setting, format!("`[{}] {}` in `{FILE}`", case.section, case.key));
            let mut overrides = Overrides::default();
            (case.set)(&mut overrides, number);
            let from_front = resolve(&Config::default(), None, &overrides)
                .expect_err(&format!("{} {value} accepted", case.flag));
            assert_eq!(from_front.setting, format!("`{}`", case.flag));
            // The same bad value gets the same words, whoever gave it.
            assert_eq!(from_file.message, from_front.message, "{}", case.key);
            assert!(from_file.message.contains("expected "), "{from_file}");
        }
    }
}

#[test]
fn messages_name_the_source_and_the_range() {
    let error = from_config("audit", "window_days", "0").unwrap_err();
    assert_eq!(
        error.to_string(),
        "`[audit] window_days` in `iamsweep.toml`: expected 1..=400 days, found 0; Access \
         Advisor tracks the last 400 days"
    );
    let error = from_config("audit", "concurrency", "100000000").unwrap_err();
    assert_eq!(
        error.to_string(),
        "`[audit] concurrency` in `iamsweep.toml`: expected 1..=1000 jobs in flight, found \
         100000000"
    );
    let overrides = Overrides { rate: Some(Given::new(0.0, "--rate")), ..Overrides::default() };
    let error = resolve(&Config::default(), None, &overrides).unwrap_err();
    assert_eq!(error.to_string(), "`--rate`: expected 0.1..=1000 IAM calls per second, found 0");
}

#[test]
fn guardrail_and_lambda_numbers_are_bounded_too() {
    assert!(from_config("guardrails", "min_age_days", "0").is_ok());
    assert!(from_config("guardrails", "min_age_days", "400").is_ok());
    assert!(from_config("guardrails", "min_age_days", "401").is_err());
    assert!(from_config("guardrails", "max_plan_age_hours", "1").is_ok());
    assert!(from_config("guardrails", "max_plan_age_hours", "720").is_ok());
    assert!(from_config("guardrails", "max_plan_age_hours", "0").is_err());
    assert!(from_config("guardrails", "max_plan_age_hours", "721").is_err());

    let margin = |seconds| Overrides {
        safety_margin_seconds: Some(Given::new(seconds, "IAMSWEEP_SAFETY_MARGIN_SECONDS")),
        ..Overrides::default()
    };
    assert_eq!(resolve(&Config::default(), None, &margin(0)).unwrap().safety_margin_seconds, 0);
    assert!(resolve(&Config::default(), None, &margin(600)).is_ok());
    let error = resolve(&Config::default(), None, &margin(601)).unwrap_err();
    assert_eq!(error.setting, "`IAMSWEEP_SAFETY_MARGIN_SECONDS`");
    let poll = |ms| Overrides {
        poll_first_ms: Some(Given::new(ms, "IAMSWEEP_POLL_FIRST_MS")),
        ..Overrides::default()
    };
    assert_eq!(resolve(&Config::default(), None, &poll(5)).unwrap().poll_first_ms, Some(5));
    assert!(resolve(&Config::default(), None, &poll(60_001)).is_err());

    let accounts = |n| Overrides {
        account_concurrency: Some(Given::new(n, "--account-concurrency")),
        ..Overrides::default()
    };
    assert_eq!(
        resolve(&Config::default(), None, &Overrides::default()).unwrap().account_concurrency,
        4
    );
    assert_eq!(resolve(&Config::default(), None, &accounts(1)).unwrap().account_concurrency, 1);
    assert_eq!(resolve(&Config::default(), None, &accounts(64)).unwrap().account_concurrency, 64);
    for bad in [0, 65] {
        let error = resolve(&Config::default(), None, &accounts(bad)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("`--account-concurrency`: expected 1..=64 accounts at once, found {bad}")
        );
    }
}

#[test]
fn the_front_wins_over_the_config_which_wins_over_the_defaults() {
    let defaults = resolve(&Config::default(), None, &Overrides::default()).unwrap();
    assert_eq!(defaults.window_days, DEFAULT_WINDOW_DAYS);
    assert_eq!(defaults.rate, DEFAULT_RATE);
    assert_eq!(defaults.concurrency, 20, "twice the rate");
    assert_eq!(defaults.rules.stale_days, DEFAULT_WINDOW_DAYS);
    assert_eq!(defaults.min_age_days, DEFAULT_WINDOW_DAYS);
    assert_eq!((defaults.max_changes, defaults.max_plan_age_hours), (10, 24));
    assert_eq!(defaults.safety_margin_seconds, 120);

    let config = Config::from_toml(
        "[audit]\nwindow_days = 90\nrate = 2\n[check]\nfail_on = [\"unused\"]\n\
         [guardrails]\nmax_changes = 3\n",
    )
    .unwrap();
    let resolved = resolve(&config, Some(FILE), &Overrides::default()).unwrap();
    assert_eq!((resolved.window_days, resolved.rate, resolved.concurrency), (90, 2.0, 8));
    assert_eq!(resolved.rules.stale_days, 90, "stale follows the window");
    assert!(resolved.rules.fail_on_unused && !resolved.rules.fail_on_stale);
    assert_eq!(resolved.min_age_days, 90);
    let overrides = Overrides {
        window_days: Some(Given::new(30, "--window-days")),
        rate: Some(Given::new(400.0, "--rate")),
        fail_on: Some(vec![FailOn::Stale]),
        max_changes: Some(Given::new(7, "--max-changes")),
        ..Overrides::default()
    };
    let resolved = resolve(&config, Some(FILE), &overrides).unwrap();
    assert_eq!((resolved.window_days, resolved.rate, resolved.concurrency), (30, 400.0, 800));
    assert!(!resolved.rules.fail_on_unused && resolved.rules.fail_on_stale);
    assert_eq!(resolved.max_changes, 7);
}

#[test]
fn an_unparsable_variable_is_named() {
    let error = Given::<f64>::parse("IAMSWEEP_RATE", "ten", "a number").unwrap_err();
    assert_eq!(error.to_string(), "`IAMSWEEP_RATE`: expected a number, found `ten`");
    assert_eq!(Given::<u64>::parse("X", " 5 ", "a whole number").unwrap().value, 5);
}

/// The audit marks services denied by iamsweep's boundaries under `[boundary] path`, so the
/// rules carry it, checked like the plan checks it.
#[test]
fn the_boundary_path_reaches_the_rules_and_a_bad_one_is_refused() {
    assert_eq!(from_config("audit", "rate", "5").unwrap().rules.boundary_path, "/iamsweep/");
    assert_eq!(
        from_config("boundary", "path", "\"/guard/\"").unwrap().rules.boundary_path,
        "/guard/"
    );
    let error = from_config("boundary", "path", "\"iamsweep\"").unwrap_err();
    assert_eq!(error.setting, "`[boundary] path` in `iamsweep.toml`");
    assert!(error.message.contains("must start and end with `/`"), "{error}");
}
