//! Keeps `docs/configuration.md` and `deploy/pipeline.example.toml` in step with the config
//! types: a key in the types missing from the reference fails, a documented key that does not
//! exist fails, a documented type, default or range that differs from the code fails, and every
//! example in the reference must itself be a valid configuration.

use echoflow_pipeline::config::schema::{self, Kind};
use echoflow_pipeline::config::{Config, ConfigLoader, render_value};
use std::collections::BTreeSet;

const REFERENCE: &str = include_str!("../../docs/configuration.md");
const EXAMPLE: &str = include_str!("../../deploy/pipeline.example.toml");

/// One `### \`key\`` entry of the reference.
struct Entry {
    key: String,
    /// The cells of the first table row after the header: type, default, allowed.
    cells: Vec<String>,
    /// The ```toml examples in the entry.
    examples: Vec<String>,
}

fn entries() -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut in_toml = false;
    for line in REFERENCE.lines() {
        if in_toml {
            if line.starts_with("```") {
                in_toml = false;
            } else if let Some(e) = out.last_mut()
                && let Some(ex) = e.examples.last_mut()
            {
                ex.push_str(line);
                ex.push('\n');
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("### `") {
            let key = rest.trim_end().trim_end_matches('`').to_string();
            out.push(Entry {
                key,
                cells: Vec::new(),
                examples: Vec::new(),
            });
        } else if line.starts_with("## ") || line.starts_with("# ") {
            // A new section ends the entry; later tables and examples are not the key's.
            out.push(Entry {
                key: String::new(),
                cells: vec!["-".into()],
                examples: Vec::new(),
            });
        } else if let Some(e) = out.last_mut() {
            if line.starts_with("```toml") {
                e.examples.push(String::new());
                in_toml = true;
            } else if e.cells.is_empty()
                && line.starts_with('|')
                && !line.starts_with("| type")
                && !line.starts_with("|---")
            {
                e.cells = line
                    .trim()
                    .trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_string())
                    .collect();
            }
        }
    }
    out.retain(|e| !e.key.is_empty());
    out
}

/// The leaf keys of the typed configuration, as serialised from its defaults.
fn type_keys() -> BTreeSet<String> {
    fn walk(prefix: &str, v: &toml::Value, out: &mut BTreeSet<String>) {
        match v {
            toml::Value::Table(t) if prefix != "kafka.client" => {
                for (k, v) in t {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            _ => {
                out.insert(prefix.to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(
        "",
        &toml::Value::try_from(Config::default()).unwrap(),
        &mut out,
    );
    out
}

fn default_of(path: &str) -> toml::Value {
    let mut v = toml::Value::try_from(Config::default()).unwrap();
    for level in path.split('.') {
        v = v.get(level).cloned().unwrap();
    }
    v
}

#[test]
fn schema_keys_are_exactly_the_type_fields() {
    let schema: BTreeSet<String> = schema::KEYS.iter().map(|k| k.path.to_string()).collect();
    let types = type_keys();
    let missing: Vec<_> = types.difference(&schema).collect();
    let extra: Vec<_> = schema.difference(&types).collect();
    assert!(
        missing.is_empty(),
        "fields of Config with no schema entry: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "schema keys with no field in Config: {extra:?}"
    );
}

#[test]
fn reference_documents_exactly_the_keys() {
    let documented: Vec<String> = entries().into_iter().map(|e| e.key).collect();
    let unique: BTreeSet<String> = documented.iter().cloned().collect();
    assert_eq!(unique.len(), documented.len(), "a key is documented twice");
    let types = type_keys();
    let missing: Vec<_> = types.difference(&unique).collect();
    let unknown: Vec<_> = unique.difference(&types).collect();
    assert!(
        missing.is_empty(),
        "keys missing from docs/configuration.md: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "documented keys that do not exist: {unknown:?}"
    );
}

#[test]
fn reference_types_defaults_and_ranges_match_the_code() {
    for e in entries() {
        let spec = schema::find(&e.key)
            .unwrap_or_else(|| panic!("documented key `{}` does not exist", e.key));
        let expected = vec![
            spec.kind.name().to_string(),
            format!("`{}`", render_value(&default_of(spec.path))),
            format!("`{}`", spec.rule.describe()),
        ];
        assert_eq!(e.cells, expected, "the table of `{}`", e.key);
    }
}

#[test]
fn every_key_has_a_valid_example_that_sets_it() {
    for e in entries() {
        assert!(!e.examples.is_empty(), "`{}` has no ```toml example", e.key);
        let last = e.key.rsplit('.').next().unwrap();
        for example in &e.examples {
            assert!(
                example.contains(last),
                "the example of `{}` does not set it:\n{example}",
                e.key
            );
            if let Err(err) = ConfigLoader::from_text(&e.key, example.as_str()).load() {
                panic!("the example of `{}` is invalid:\n{err}", e.key);
            }
        }
    }
}

#[test]
fn example_file_is_valid_and_lists_every_key_at_its_default() {
    let config = ConfigLoader::from_text("deploy/pipeline.example.toml", EXAMPLE)
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config, Config::default());
    let table: toml::Table = EXAMPLE.parse().unwrap();
    for spec in schema::KEYS {
        if spec.kind == Kind::StringMap {
            continue; // shown commented out: it has no default entries
        }
        let mut v = table.get(spec.path.split('.').next().unwrap());
        for level in spec.path.split('.').skip(1) {
            v = v.and_then(|v| v.get(level));
        }
        assert!(
            v.is_some(),
            "deploy/pipeline.example.toml does not list {}",
            spec.path
        );
    }
}
