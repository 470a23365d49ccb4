//! Property tests (issue 4, "Bad input"): the pure parsers and resolvers never panic, whatever
//! the input, and keep their documented rules.
//!
//! `cargo test --test props` runs each property with PROPTEST_CASES cases (proptest's default,
//! 256, unless set). `make fuzz` runs the same properties for at least ten minutes through
//! the ignored `fuzz_for_a_while` test. Shrunk failures are persisted in
//! tests/fuzz-corpus/regressions/props.txt (replayed first on every run), and a config.json text
//! that makes the planner panic is written to tests/fuzz-corpus/crashes/ before the test fails.

use minirun::capability::names::{self, CapName, MAX_CAP, NameError};
use minirun::capability::policy::{self, CapRequest, DOCKER_DEFAULTS, Environment, PolicyError};
use minirun::capability::{CapSet, CapSets};
use minirun::container::{plan, user, validate};
use minirun::spec;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::Value;
use std::path::{Path, PathBuf};

const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fuzz-corpus/regressions/props.txt"
);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus")
}

/// proptest's config with PROPTEST_CASES honoured and failures persisted in the corpus.
fn config() -> Config {
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..Config::default()
    }
}

/// The seed config.json texts of tests/fuzz-corpus/config (valid, truncated, wrong types, …).
fn seeds() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(corpus_dir().join("config"))
        .expect("tests/fuzz-corpus/config")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    assert!(v.len() >= 10, "seed corpus missing");
    v
}

// ---------------------------------------------------------------------------------------------
// Capability names

/// A name as a user might type it: a known name in some spelling, `cap_N`, ALL, or noise.
fn cap_spelling() -> impl Strategy<Value = String> {
    let known = (0usize..names::NAMES.len(), 0u8..4, any::<bool>(), 0u8..3).prop_map(
        |(i, case, prefix, pad)| {
            let n = names::NAMES[i];
            let n = if prefix {
                format!("cap_{n}")
            } else {
                n.to_string()
            };
            let n = match case {
                0 => n,
                1 => n.to_uppercase(),
                2 => n
                    .chars()
                    .enumerate()
                    .map(|(k, c)| {
                        if k % 2 == 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect(),
                _ => n.replace('_', "-"),
            };
            format!(
                "{}{n}{}",
                " ".repeat(pad as usize),
                " ".repeat(pad as usize)
            )
        },
    );
    prop_oneof![
        4 => known,
        1 => (0u16..300).prop_map(|n| format!("cap_{n}")),
        1 => Just("all".to_string()),
        2 => ".{0,40}",
        1 => "[a-zA-Z_,]{0,30}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cap_parse_never_panics(raw in ".{0,200}", last in any::<u8>()) {
        let _ = names::parse(&raw, last);
        let _ = names::parse_list(&[raw.as_str()], last);
        let _ = names::parse_set(&[raw.as_str()], last);
    }

    #[test]
    fn cap_parse_list_never_panics(values in prop::collection::vec(cap_spelling(), 0..8), last in any::<u8>()) {
        if let Ok(list) = names::parse_list(&values, last) {
            let pieces = values.iter().flat_map(|v| v.split(',')).filter(|p| !p.trim().is_empty()).count();
            prop_assert_eq!(list.len(), pieces);
            for n in list {
                if let CapName::Cap(c) = n {
                    // Whatever the caller claims the kernel knows, a set holds only 64 bits.
                    prop_assert!(c <= last && c <= MAX_CAP, "{} > {}", c, last);
                }
            }
            let set = names::parse_set(&values, last).unwrap();
            prop_assert!(set.iter().all(|c| c <= last.min(MAX_CAP)));
        }
    }

    #[test]
    fn cap_names_round_trip(cap in 0u8..=MAX_CAP, last in 0u8..=MAX_CAP) {
        let short = names::short_name(cap);
        let oci = names::oci_name(cap);
        for text in [short.clone(), oci.clone(), short.to_uppercase(), format!(" {oci} ")] {
            let got = names::parse(&text, last);
            if cap <= last {
                prop_assert_eq!(got, Ok(CapName::Cap(cap)), "{}", text);
            } else {
                // Known to minirun, not to this kernel: a distinct error, naming the value.
                prop_assert!(
                    matches!(&got, Err(NameError::NotInKernel { .. })),
                    "{:?} for {}",
                    got,
                    text
                );
            }
        }
        // Printing a set and parsing it back gives the same set.
        let set = CapSet::all_up_to(last).intersect(CapSet(0x5555_5555_5555_5555 >> (cap % 2)));
        prop_assert_eq!(names::parse_set(&set.oci_names(), last).unwrap(), set);
    }

    #[test]
    fn unknown_names_say_what_was_given(raw in "[a-z_]{1,20}") {
        if let Err(e @ NameError::Unknown { .. }) = names::parse(&raw, 40) {
            let msg = e.to_string();
            let want = format!("CAP_{}", raw.trim().to_uppercase().trim_start_matches("CAP_"));
            prop_assert!(msg.contains(&want), "{} lacks {}", msg, want);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Docker's capability policy

fn cap_name(last: u8) -> impl Strategy<Value = CapName> {
    prop_oneof![
        8 => (0..=last).prop_map(CapName::Cap),
        1 => Just(CapName::All),
    ]
}

fn policy_input() -> impl Strategy<Value = (CapRequest, Environment)> {
    (0u8..=MAX_CAP)
        .prop_flat_map(|last| {
            (
                prop::collection::vec(cap_name(last), 0..6),
                prop::collection::vec(cap_name(last), 0..6),
                prop::bool::weighted(0.1),
                Just(last),
                any::<u64>(),
                prop::bool::weighted(0.5),
            )
        })
        .prop_map(|(add, drop, privileged, last, mask, full)| {
            let kernel = CapSet::all_up_to(last);
            let held = if full {
                kernel
            } else {
                kernel.intersect(CapSet(mask))
            };
            (
                CapRequest {
                    add,
                    drop,
                    privileged,
                },
                Environment { kernel, held },
            )
        })
}

fn named(list: &[CapName]) -> CapSet {
    let mut s = CapSet::EMPTY;
    for n in list {
        if let CapName::Cap(c) = n {
            s.insert(*c);
        }
    }
    s
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn policy_follows_dockers_rules((req, env) in policy_input()) {
        let adds = named(&req.add);
        let drops = named(&req.drop);
        let add_all = req.add.contains(&CapName::All);
        let drop_all = req.drop.contains(&CapName::All);
        let all = env.kernel.intersect(env.held);
        match policy::resolve(&req, env) {
            Err(PolicyError::Withheld(name)) => {
                // Only a capability asked for by name and not held is refused.
                let first = adds.minus(env.held).iter().next();
                prop_assert!(first.is_some());
                prop_assert_eq!(name, names::oci_name(first.unwrap()));
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(r) => {
                prop_assert!(adds.minus(env.held).is_empty());
                // Never more than the runtime holds, never more than the kernel knows.
                prop_assert_eq!(r.set.minus(all), CapSet::EMPTY);
                let want = if req.privileged {
                    all
                } else if add_all {
                    all.minus(drops)
                } else if drop_all {
                    adds
                } else {
                    DOCKER_DEFAULTS.intersect(all).minus(drops).union(adds)
                };
                prop_assert_eq!(r.set, want);
                for uid in [0u32, 1000] {
                    let s: CapSets = policy::sets_for(&r, uid);
                    prop_assert_eq!(s.bounding, r.set);
                    if uid == 0 {
                        prop_assert_eq!(s.effective, r.set);
                        prop_assert_eq!(s.permitted, r.set);
                        prop_assert!(s.inheritable.is_empty() && s.ambient.is_empty());
                    } else {
                        prop_assert_eq!(s.ambient.minus(s.permitted), CapSet::EMPTY);
                        prop_assert_eq!(s.permitted.minus(s.bounding), CapSet::EMPTY);
                        prop_assert_eq!(s.inheritable, s.ambient);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --user / --group-add against arbitrary /etc/passwd and /etc/group texts

fn passwd_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ("[a-z]{1,6}", any::<u32>(), any::<u32>(), "/[a-z]{0,6}").prop_map(|(n, u, g, h)| format!("{n}:x:{u}:{g}::{h}:/bin/sh")),
        1 => "[a-z0-9:,]{0,30}",
        1 => ".{0,40}",
    ]
}

fn group_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => ("[a-z]{1,6}", any::<u32>(), prop::collection::vec("[a-z]{1,6}", 0..3)).prop_map(|(n, g, m)| format!("{n}:x:{g}:{}", m.join(","))),
        1 => "[a-z0-9:,]{0,30}",
        1 => ".{0,40}",
    ]
}

fn user_spec() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,6}",
        any::<u32>().prop_map(|u| u.to_string()),
        ("[a-z0-9]{0,6}", "[a-z0-9]{0,6}").prop_map(|(u, g)| format!("{u}:{g}")),
        ".{0,20}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn user_resolve_never_panics(
        who in user_spec(),
        add in prop::collection::vec("[a-z0-9]{0,6}", 0..3),
        passwd in prop::option::of(prop::collection::vec(passwd_line(), 0..6).prop_map(|l| l.join("\n"))),
        group in prop::option::of(prop::collection::vec(group_line(), 0..6).prop_map(|l| l.join("\n"))),
    ) {
        if let Ok(id) = user::resolve(&who, &add, passwd.as_deref(), group.as_deref()) {
            // A name resolves to a uid some passwd line of that name gives.
            let name = who.split(':').next().unwrap();
            if !name.is_empty() && name.parse::<u32>().is_err() {
                let ok = passwd.as_deref().unwrap_or("").lines().any(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    f.len() >= 6 && f[0] == name && f[2].parse::<u32>().ok() == Some(id.uid)
                });
                prop_assert!(ok, "{} -> {}", name, id.uid);
            }
            // No duplicate supplementary groups.
            let mut g = id.additional_gids.clone();
            g.sort();
            g.dedup();
            prop_assert_eq!(g.len(), id.additional_gids.len());
        }
    }

    #[test]
    fn numeric_user_always_resolves(uid in any::<u32>(), passwd in prop::option::of(".{0,80}")) {
        let id = user::resolve(&uid.to_string(), &[], passwd.as_deref(), None).unwrap();
        prop_assert_eq!(id.uid, uid);
    }
}

// ---------------------------------------------------------------------------------------------
// spec::environment

proptest! {
    #![proptest_config(config())]

    #[test]
    fn environment_is_dockers(
        items in prop::collection::vec(prop_oneof!["[A-Z]{1,3}=[a-z]{0,3}", "[A-Z]{1,3}", ".{0,10}"], 0..10),
        host in ".{0,10}",
    ) {
        let env = spec::environment(&items, "h", "/root", |k| (k.len() % 2 == 0).then(|| host.clone()));
        prop_assert!(env[0].starts_with("PATH=") && env[1].starts_with("HOSTNAME=") && env[2].starts_with("HOME="));
        let keys: Vec<&str> = env.iter().map(|e| e.split_once('=').unwrap().0).collect();
        let mut uniq = keys.clone();
        uniq.sort();
        uniq.dedup();
        prop_assert_eq!(uniq.len(), keys.len(), "{:?}", env);
        // The last KEY=VALUE for a key wins (a bare KEY later may override it from the host).
        for (i, item) in items.iter().enumerate() {
            if let Some((k, v)) = item.split_once('=')
                && !items[i + 1..].iter().any(|o| o.split_once('=').map(|p| p.0).unwrap_or(o) == k)
            {
                prop_assert!(env.contains(&format!("{k}={v}")), "{} missing from {:?}", item, env);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// config.json → Spec → Plan

/// Runs the whole pure pipeline on a config.json text; a panic is saved to the corpus first.
fn plan_text(text: &str) {
    let r = std::panic::catch_unwind(|| {
        if let Ok(v) = serde_json::from_str::<Value>(text) {
            let _ = minirun::container::bundle::unhonoured(&v);
        }
        if let Ok(spec) = serde_json::from_str::<oci_spec::runtime::Spec>(text) {
            for last in [40u8, 0, 63] {
                if let Ok(p) = validate::plan(
                    &spec,
                    &validate::Inputs::lexical(&spec, Path::new("/bundle"), last),
                ) {
                    let _ = p.clone_flags();
                    let _ = plan::id_map_text(&p.uid_mappings);
                }
            }
        }
    });
    if let Err(e) = r {
        let dir = corpus_dir().join("crashes");
        let _ = std::fs::create_dir_all(&dir);
        let h = text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        let _ = std::fs::write(dir.join(format!("{h:016x}.json")), text);
        std::panic::resume_unwind(e);
    }
}

/// A JSON value of any shape, with the awkward numbers and strings configs get.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            Just("".to_string()),
            Just("/".to_string()),
            Just("..".to_string()),
            Just("/proc/self/fd/5".to_string()),
            Just("CAP_SYS_ADMIN".to_string()),
            Just("user".to_string()),
            Just("bind".to_string()),
            Just("rbind".to_string()),
            Just("RLIMIT_NOFILE".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path (object keys and array indices) into `v`.
fn paths(v: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                prefix.push(Value::String(k.clone()));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                prefix.push(Value::from(i));
                paths(c, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, path: &[Value]) -> Option<&'a mut Value> {
    let mut cur = v;
    for p in path {
        cur = match p {
            Value::String(k) => cur.get_mut(k.as_str())?,
            Value::Number(n) => cur.get_mut(n.as_u64()? as usize)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value at a path with an arbitrary one.
    Replace(prop::sample::Index, Value),
    /// Remove an object key or array element.
    Remove(prop::sample::Index),
    /// Add a key (a known field name or noise) to an object.
    Insert(prop::sample::Index, String, Value),
    /// Duplicate an array element (two pid namespaces, two identical mounts, …).
    Duplicate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let key = prop_oneof![
        Just("type".to_string()),
        Just("path".to_string()),
        Just("uid".to_string()),
        Just("size".to_string()),
        Just("options".to_string()),
        Just("uidMappings".to_string()),
        Just("gidMappings".to_string()),
        Just("rlimits".to_string()),
        Just("devices".to_string()),
        Just("sysctl".to_string()),
        Just("rootfsPropagation".to_string()),
        "[a-zA-Z]{1,10}",
    ];
    prop_oneof![
        3 => (any::<prop::sample::Index>(), any_json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        2 => any::<prop::sample::Index>().prop_map(Mutation::Remove),
        2 => (any::<prop::sample::Index>(), key, any_json()).prop_map(|(i, k, v)| Mutation::Insert(i, k, v)),
        1 => any::<prop::sample::Index>().prop_map(Mutation::Duplicate),
    ]
}

fn apply(v: &mut Value, m: &Mutation) {
    let mut all = Vec::new();
    paths(v, &mut Vec::new(), &mut all);
    match m {
        Mutation::Replace(i, new) => {
            let p = i.get(&all).clone();
            if let Some(slot) = at(v, &p) {
                *slot = new.clone();
            }
        }
        Mutation::Remove(i) => {
            let p = i.get(&all).clone();
            let Some((last, parent)) = p.split_last() else {
                return;
            };
            match (at(v, parent), last) {
                (Some(Value::Object(o)), Value::String(k)) => {
                    o.remove(k);
                }
                (Some(Value::Array(a)), Value::Number(n)) => {
                    let n = n.as_u64().unwrap() as usize;
                    if n < a.len() {
                        a.remove(n);
                    }
                }
                _ => {}
            }
        }
        Mutation::Insert(i, k, new) => {
            let objs: Vec<_> = all
                .iter()
                .filter(|p| matches!(at(&mut v.clone(), p), Some(Value::Object(_))))
                .cloned()
                .collect();
            if objs.is_empty() {
                return;
            }
            if let Some(Value::Object(o)) = at(v, i.get(&objs[..]).as_slice()) {
                o.insert(k.clone(), new.clone());
            }
        }
        Mutation::Duplicate(i) => {
            let p = i.get(&all).clone();
            if let Some(Value::Array(a)) = at(v, &p)
                && let Some(first) = a.first().cloned()
            {
                a.push(first);
            }
        }
    }
}

/// A text derived from a seed: structurally mutated JSON, or byte-level damage.
fn mutated_config() -> impl Strategy<Value = String> {
    let seeds = seeds();
    let json_seeds: Vec<Value> = seeds
        .iter()
        .filter_map(|(_, t)| serde_json::from_str(t).ok())
        .collect();
    let texts: Vec<String> = seeds.into_iter().map(|(_, t)| t).collect();
    prop_oneof![
        4 => (prop::sample::select(json_seeds), prop::collection::vec(mutation(), 1..6)).prop_map(|(mut v, ms)| {
            for m in &ms {
                apply(&mut v, m);
            }
            v.to_string()
        }),
        1 => (prop::sample::select(texts.clone()), any::<prop::sample::Index>()).prop_map(|(t, i)| {
            // Truncated anywhere (on a character boundary).
            let cut = i.index(t.len() + 1);
            let cut = (0..=cut).rev().find(|c| t.is_char_boundary(*c)).unwrap_or(0);
            t[..cut].to_string()
        }),
        1 => (prop::sample::select(texts), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(t, i, b)| {
            let mut bytes = t.into_bytes();
            if !bytes.is_empty() {
                let k = i.index(bytes.len());
                bytes[k] = b;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }),
    ]
}

#[test]
fn seed_corpus_plans_or_fails_cleanly() {
    let mut planned = Vec::new();
    for (name, text) in seeds() {
        plan_text(&text);
        if let Ok(spec) = serde_json::from_str::<oci_spec::runtime::Spec>(&text)
            && validate::plan(
                &spec,
                &validate::Inputs::lexical(&spec, Path::new("/b"), 40),
            )
            .is_ok()
        {
            planned.push(name);
        }
    }
    // The valid seeds plan; the broken ones are refused (by serde or by the planner).
    for want in ["valid-default.json", "minimal.json"] {
        assert!(planned.iter().any(|n| n == want), "{want}: {planned:?}");
    }
    for bad in [
        "duplicate-namespace.json",
        "relative-cwd.json",
        "empty-args.json",
        "user-namespace-without-maps.json",
        "unknown-rlimit.json",
        "device-type-a.json",
        "zero-size-idmap.json",
        "bad-rootfs-propagation.json",
        "unknown-capability.json",
        "capability-past-kernel.json",
        "truncated-half.json",
        "wrong-type-args-string.json",
        "unknown-namespace.json",
    ] {
        assert!(!planned.iter().any(|n| n == bad), "{bad} was accepted");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn plan_from_arbitrary_text_never_panics(text in ".{0,300}") {
        plan_text(&text);
    }

    #[test]
    fn plan_from_arbitrary_json_never_panics(v in any_json()) {
        plan_text(&v.to_string());
    }

    #[test]
    fn plan_from_mutated_configs_never_panics(text in mutated_config()) {
        plan_text(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// `make fuzz`: every property above, over and over, for MINIRUN_FUZZ_SECS (default 600).

/// One property as a closure over its strategy, for the long run.
fn run_for(runner: &mut TestRunner, name: &str, counts: &mut Vec<(String, u64)>) {
    let cases = u64::from(runner.config().cases);
    fn s<T: std::fmt::Debug>(
        r: Result<(), proptest::test_runner::TestError<T>>,
    ) -> Result<(), String> {
        r.map_err(|e| e.to_string())
    }
    let r = match name {
        "cap_parse" => s(runner.run(&(".{0,200}", any::<u8>()), |(raw, last)| {
            let _ = names::parse_list(&[raw.as_str()], last);
            let _ = names::parse_set(&[raw.as_str()], last);
            Ok(())
        })),
        "cap_list" => s(runner.run(
            &(prop::collection::vec(cap_spelling(), 0..8), any::<u8>()),
            |(v, last)| {
                if let Ok(set) = names::parse_set(&v, last) {
                    prop_assert!(set.iter().all(|c| c <= last.min(MAX_CAP)));
                }
                Ok(())
            },
        )),
        "policy" => s(runner.run(&policy_input(), |(req, env)| {
            if let Ok(r) = policy::resolve(&req, env) {
                prop_assert_eq!(r.set.minus(env.kernel.intersect(env.held)), CapSet::EMPTY);
                let _ = policy::sets_for(&r, 1000);
            }
            Ok(())
        })),
        "user" => s(runner.run(
            &(
                user_spec(),
                prop::collection::vec(passwd_line(), 0..8).prop_map(|l| l.join("\n")),
                prop::collection::vec(group_line(), 0..8).prop_map(|l| l.join("\n")),
            ),
            |(who, p, g)| {
                let _ = user::resolve(&who, &["1".into(), "x".into()], Some(&p), Some(&g));
                Ok(())
            },
        )),
        "env" => s(
            runner.run(&prop::collection::vec(".{0,12}", 0..12), |items| {
                let _ = spec::environment(&items, "h", "/", |_| Some("v".into()));
                Ok(())
            }),
        ),
        "config_text" => s(runner.run(&".{0,400}", |t| {
            plan_text(&t);
            Ok(())
        })),
        "config_json" => s(runner.run(&any_json(), |v| {
            plan_text(&v.to_string());
            Ok(())
        })),
        "config_mutated" => s(runner.run(&mutated_config(), |t| {
            plan_text(&t);
            Ok(())
        })),
        other => panic!("no property {other}"),
    };
    if let Err(e) = r {
        panic!("property {name} failed: {e}");
    }
    match counts.iter_mut().find(|(n, _)| n == name) {
        Some((_, c)) => *c += cases,
        None => counts.push((name.to_string(), cases)),
    }
}

#[test]
#[ignore = "long: run by `make fuzz`"]
fn fuzz_for_a_while() {
    let secs: u64 = std::env::var("MINIRUN_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let start = std::time::Instant::now();
    let mut counts = Vec::new();
    let mut round = 0u64;
    let props = [
        "cap_parse",
        "cap_list",
        "policy",
        "user",
        "env",
        "config_text",
        "config_json",
        "config_mutated",
    ];
    while start.elapsed().as_secs() < secs {
        for p in props {
            // A fresh random seed per round, so the rounds explore different inputs.
            let mut runner = TestRunner::new(Config {
                cases,
                failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
                ..Config::default()
            });
            run_for(&mut runner, p, &mut counts);
        }
        round += 1;
    }
    let total: u64 = counts.iter().map(|(_, c)| c).sum();
    println!(
        "fuzz: {round} rounds, {total} cases in {:.0}s, 0 panics",
        start.elapsed().as_secs_f64()
    );
    for (n, c) in &counts {
        println!("fuzz:   {n}: {c} cases");
    }
}
