//! Loading: defaults < file < environment < flags, every key checked, every error reported.
//!
//! The algorithm:
//! 1. Parse the file as TOML (an empty file is a valid, empty document). Syntax errors are all
//!    reported (the parser recovers and goes on), each with its line, and loading stops there.
//! 2. Walk the document against the [schema]: a key not in the schema is an
//!    error naming the full dotted key and what its table allows; `[kafka.client]` is free-form,
//!    its nested tables flattened back to dotted librdkafka names (`sasl.password = "x"` inside
//!    `[kafka.client]` is, in TOML, a table `sasl` holding `password`) and scalar values turned
//!    into strings (`session.timeout.ms = 6000` works).
//! 3. Lay the environment ([`env`](mod@super::env)) over the file and the flags over both (SPEC §6
//!    precedence: flags > environment > file > defaults). Two variables that set the same key
//!    (`ECHOFLOW_RED__MAX_P` and `echoflow_red__max_p`) are an error rather than a silent pick.
//! 4. Check each value against its key's type and rule (an integer is accepted for a float).
//!    `autoscaler.behavior.scale_down.stabilization_window_ms`, when not set, takes the value of
//!    `autoscaler.scale_down_stabilization_ms`.
//! 5. Build the typed [`Config`] from the defaults with every valid value put in, then check the
//!    [rules between keys](super::rules), skipping those about keys that already failed.
//!
//! Every error carries its [`Origin`] (file line, variable or flag). Nothing here reads the
//! process environment or panics on any input.
//!
//! ```
//! use echoflow_pipeline::config::ConfigLoader;
//! let config = ConfigLoader::from_text("pipeline.toml", "[pipeline]\nworkers = 2\n[red]\nmax_p = 0.25")
//!     .env([("ECHOFLOW_RED__MAX_P", "0.2")])
//!     .flag("--workers", "pipeline.workers", 4u32)
//!     .load()
//!     .unwrap();
//! assert_eq!(config.red.max_p, 0.2);          // environment beats the file
//! assert_eq!(config.pipeline.workers, 4);     // a flag beats both
//!
//! let err = ConfigLoader::from_text("pipeline.toml", "[red]\nmax_p = 1.5\nmax_pp = 1").load().unwrap_err();
//! assert_eq!(err.lines(), vec![
//!     "pipeline.toml:2: red.max_p = 1.5: must be in (0, 1]",
//!     "pipeline.toml:3: unknown key red.max_pp; [red] allows: enabled, min_th, max_th, max_p, weight, count_spacing, seed",
//! ]);
//! ```

use super::env::{self, Target};
use super::error::{ConfigError, LoadError, Origin};
use super::render::{render_float, render_key, render_value};
use super::rules;
use super::schema::{self, KeySpec, Kind};
use super::types::Config;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

const SCALE_DOWN_WINDOW: &str = "autoscaler.behavior.scale_down.stabilization_window_ms";
const SCALE_DOWN_STABILIZATION: &str = "autoscaler.scale_down_stabilization_ms";
/// `kafka.client` settings that echoflow sets from its own keys.
const CLIENT_RESERVED: [(&str, &str); 2] = [
    ("bootstrap.servers", "kafka.brokers"),
    ("group.id", "kafka.group_id"),
];

/// A value given on the command line, for [`ConfigLoader::flag`].
#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl From<bool> for FlagValue {
    fn from(v: bool) -> Self {
        FlagValue::Bool(v)
    }
}
impl From<i64> for FlagValue {
    fn from(v: i64) -> Self {
        FlagValue::Int(v)
    }
}
impl From<u32> for FlagValue {
    fn from(v: u32) -> Self {
        FlagValue::Int(i64::from(v))
    }
}
impl From<u64> for FlagValue {
    /// Values beyond `i64::MAX` saturate, and then fail the key's range check.
    fn from(v: u64) -> Self {
        FlagValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<usize> for FlagValue {
    fn from(v: usize) -> Self {
        FlagValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<f64> for FlagValue {
    fn from(v: f64) -> Self {
        FlagValue::Float(v)
    }
}
impl From<&str> for FlagValue {
    fn from(v: &str) -> Self {
        FlagValue::Str(v.to_string())
    }
}
impl From<String> for FlagValue {
    fn from(v: String) -> Self {
        FlagValue::Str(v)
    }
}

impl FlagValue {
    fn into_toml(self) -> toml::Value {
        match self {
            FlagValue::Bool(b) => toml::Value::Boolean(b),
            FlagValue::Int(i) => toml::Value::Integer(i),
            FlagValue::Float(f) => toml::Value::Float(f),
            FlagValue::Str(s) => toml::Value::String(s),
        }
    }
}

struct FlagOverride {
    flag: String,
    key: String,
    value: toml::Value,
}

enum Source {
    Path(PathBuf),
    Text { name: String, text: String },
}

/// Builds a [`Config`] from a file (or text), the environment and command-line flags.
pub struct ConfigLoader {
    source: Source,
    env: Vec<(String, String)>,
    flags: Vec<FlagOverride>,
}

/// A loaded configuration and the overrides that went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub config: Config,
    /// The environment variables and flags applied, variables first (sorted), then flags in the
    /// order given.
    pub overrides: Vec<String>,
}

impl ConfigLoader {
    /// Loads the file at `path` (read when [`load`](Self::load) runs).
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        ConfigLoader {
            source: Source::Path(path.into()),
            env: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Loads `text`, named `name` in messages.
    pub fn from_text(name: impl Into<String>, text: impl Into<String>) -> Self {
        ConfigLoader {
            source: Source::Text {
                name: name.into(),
                text: text.into(),
            },
            env: Vec::new(),
            flags: Vec::new(),
        }
    }

    /// Adds environment variables (name, value); only `ECHOFLOW_…__…` ones are read. Pass
    /// `std::env::vars_os()` (converted) in a binary, a literal list in a test.
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env
            .extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets `key` (full dotted path) from command-line flag `flag`, above the environment.
    pub fn flag(
        mut self,
        flag: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<FlagValue>,
    ) -> Self {
        self.flags.push(FlagOverride {
            flag: flag.into(),
            key: key.into(),
            value: value.into().into_toml(),
        });
        self
    }

    /// The name messages use for the file.
    pub fn source_name(&self) -> String {
        match &self.source {
            Source::Path(p) => p.display().to_string(),
            Source::Text { name, .. } => name.clone(),
        }
    }

    /// Loads and validates; see the [module docs](self).
    pub fn load(&self) -> Result<Config, LoadError> {
        self.load_detailed().map(|l| l.config)
    }

    /// Like [`load`](Self::load), also saying which overrides were applied.
    pub fn load_detailed(&self) -> Result<Loaded, LoadError> {
        let owned;
        let text = match &self.source {
            Source::Path(path) => {
                owned = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
                    path: path.clone(),
                    source,
                })?;
                owned.as_str()
            }
            Source::Text { text, .. } => text.as_str(),
        };
        let invalid = |errors| LoadError::Invalid {
            source_name: self.source_name(),
            errors,
        };
        let (table, lines) = parse_document(text).map_err(invalid)?;
        let mut layers = Layers::default();
        layers.walk(&table, &[], &lines);
        layers.read_env(&self.env);
        layers.read_flags(&self.flags);
        layers.finish().map_err(invalid)
    }
}

/// Line numbers of keys in the file, by path.
type Lines = HashMap<Vec<String>, usize>;

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn syntax_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| line_of(text, s.start));
    ConfigError::new(
        Origin::File { line },
        "",
        format!("TOML syntax error: {}", e.message()),
    )
}

fn parse_document(text: &str) -> Result<(toml::Table, Lines), Vec<ConfigError>> {
    let (doc, errors) = toml::de::DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors.iter().map(|e| syntax_error(text, e)).collect());
    }
    let mut lines = Lines::new();
    collect_lines(text, doc.get_ref(), &mut Vec::new(), &mut lines);
    match text.parse::<toml::Table>() {
        Ok(table) => Ok((table, lines)),
        Err(e) => Err(vec![syntax_error(text, &e)]),
    }
}

fn collect_lines(
    text: &str,
    table: &toml::de::DeTable<'_>,
    at: &mut Vec<String>,
    lines: &mut Lines,
) {
    for (key, value) in table.iter() {
        at.push(key.get_ref().to_string());
        lines
            .entry(at.clone())
            .or_insert_with(|| line_of(text, key.span().start));
        if let toml::de::DeValue::Table(inner) = value.get_ref() {
            collect_lines(text, inner, at, lines);
        }
        at.pop();
    }
}

/// A dotted key as TOML would write it: `kafka.client."sasl.password"`.
fn display_key(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| render_key(s))
        .collect::<Vec<_>>()
        .join(".")
}

struct Entry {
    value: toml::Value,
    origin: Origin,
}

#[derive(Default)]
struct Layers {
    values: BTreeMap<&'static str, Entry>,
    client: BTreeMap<String, Entry>,
    errors: Vec<ConfigError>,
    applied: Vec<String>,
}

impl Layers {
    fn error(&mut self, origin: Origin, key: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(origin, key, message));
    }

    fn walk(&mut self, table: &toml::Table, at: &[String], lines: &Lines) {
        for (k, v) in table {
            let mut segs = at.to_vec();
            segs.push(k.clone());
            let origin = Origin::File {
                line: lines.get(&segs).copied(),
            };
            let shown = display_key(&segs);
            // Schema keys are bare words; a quoted key with a dot never matches one.
            let plain = segs.iter().all(|s| !s.contains('.'));
            let path = segs.join(".");
            if plain && path == "kafka.client" {
                match v {
                    toml::Value::Table(t) => self.walk_client(t, &segs, "", lines),
                    other => self.error(
                        origin,
                        path,
                        format!(
                            "{shown} = {}: expected a table of strings, found {}",
                            render_value(other),
                            schema::type_of(other)
                        ),
                    ),
                }
            } else if let Some(spec) = schema::find(&path).filter(|_| plain) {
                self.values.insert(
                    spec.path,
                    Entry {
                        value: v.clone(),
                        origin,
                    },
                );
            } else if plain && schema::is_table(&path) {
                match v {
                    toml::Value::Table(t) => self.walk(t, &segs, lines),
                    other => self.error(
                        origin,
                        path.clone(),
                        format!(
                            "{shown} = {}: expected a table, found {} ([{path}] is a section: {})",
                            render_value(other),
                            schema::type_of(other),
                            schema::children(&path).join(", ")
                        ),
                    ),
                }
            } else {
                let parent = at.join(".");
                let message = if at.is_empty() {
                    format!(
                        "unknown section {shown}; sections: {}",
                        schema::children("").join(", ")
                    )
                } else {
                    format!(
                        "unknown key {shown}; [{parent}] allows: {}",
                        schema::children(&parent).join(", ")
                    )
                };
                self.error(origin, path, message);
            }
        }
    }

    fn walk_client(&mut self, table: &toml::Table, at: &[String], prefix: &str, lines: &Lines) {
        for (k, v) in table {
            let mut segs = at.to_vec();
            segs.push(k.clone());
            let origin = Origin::File {
                line: lines.get(&segs).copied(),
            };
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            let text = match v {
                toml::Value::Table(t) => {
                    self.walk_client(t, &segs, &key, lines);
                    continue;
                }
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => render_float(*f),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    let shown = if super::is_secret(&key) {
                        super::REDACTED.to_string()
                    } else {
                        render_value(other)
                    };
                    self.error(
                        origin,
                        format!("kafka.client.{}", render_key(&key)),
                        format!(
                            "kafka.client.{} = {shown}: expected a string (or a number or boolean), found {}",
                            render_key(&key),
                            schema::type_of(other)
                        ),
                    );
                    continue;
                }
            };
            self.client.insert(
                key,
                Entry {
                    value: toml::Value::String(text),
                    origin,
                },
            );
        }
    }

    fn read_env(&mut self, vars: &[(String, String)]) {
        let mut sorted: Vec<&(String, String)> = vars.iter().collect();
        sorted.sort();
        let mut claimed: BTreeMap<String, String> = BTreeMap::new();
        for (name, raw) in sorted {
            let o = match env::parse_var(name, raw) {
                Ok(None) => continue,
                Ok(Some(o)) => o,
                Err(message) => {
                    self.error(Origin::Env(name.clone()), "", message);
                    continue;
                }
            };
            let key = match &o.target {
                Target::Key(path) => path.to_string(),
                Target::Client(k) => format!("kafka.client.{}", render_key(k)),
            };
            if let Some(first) = claimed.get(&key) {
                let message = format!("{first} and {name} both set {key}; keep one");
                self.error(Origin::Env(name.clone()), key, message);
                continue;
            }
            claimed.insert(key, name.clone());
            let entry = Entry {
                value: o.value,
                origin: Origin::Env(name.clone()),
            };
            match o.target {
                Target::Key(path) => {
                    self.values.insert(path, entry);
                }
                Target::Client(k) => {
                    self.client.insert(k, entry);
                }
            }
            self.applied.push(name.clone());
        }
    }

    fn read_flags(&mut self, flags: &[FlagOverride]) {
        for f in flags {
            match schema::find(&f.key).filter(|s| s.kind != Kind::StringMap) {
                Some(spec) => {
                    self.values.insert(
                        spec.path,
                        Entry {
                            value: f.value.clone(),
                            origin: Origin::Flag(f.flag.clone()),
                        },
                    );
                    self.applied.push(f.flag.clone());
                }
                None => {
                    let levels: Vec<String> = f.key.split('.').map(str::to_string).collect();
                    let message = env::unknown_key_message(&levels);
                    self.error(Origin::Flag(f.flag.clone()), f.key.clone(), message);
                }
            }
        }
    }

    fn origin_of(&self, key: &str) -> Option<Origin> {
        self.values.get(key).map(|e| e.origin.clone())
    }

    fn finish(mut self) -> Result<Loaded, Vec<ConfigError>> {
        let mut accepted: Vec<(&'static KeySpec, toml::Value)> = Vec::new();
        let mut failed: BTreeSet<String> = BTreeSet::new();
        let mut problems = Vec::new();
        for spec in schema::KEYS {
            let Some(entry) = self.values.get(spec.path) else {
                continue;
            };
            match schema::check(spec, &entry.value) {
                Ok(v) => accepted.push((spec, v)),
                Err(ps) => {
                    failed.insert(spec.path.to_string());
                    for p in ps {
                        problems.push(ConfigError::new(entry.origin.clone(), p.key, p.message));
                    }
                }
            }
        }
        self.errors.extend(problems);

        let mut client = toml::Table::new();
        let mut client_errors = Vec::new();
        for (key, entry) in &self.client {
            let shown = format!("kafka.client.{}", render_key(key));
            if key.is_empty() {
                client_errors.push(ConfigError::new(
                    entry.origin.clone(),
                    shown.clone(),
                    format!("{shown}: a librdkafka setting needs a name"),
                ));
            } else if let Some((_, own)) = CLIENT_RESERVED.iter().find(|(k, _)| k == key) {
                client_errors.push(ConfigError::new(
                    entry.origin.clone(),
                    shown.clone(),
                    format!("{shown} is set by echoflow from {own}; set {own} instead"),
                ));
            } else {
                client.insert(key.clone(), entry.value.clone());
            }
        }
        self.errors.extend(client_errors);

        if !self.values.contains_key(SCALE_DOWN_WINDOW) {
            let follow = accepted
                .iter()
                .find(|(s, _)| s.path == SCALE_DOWN_STABILIZATION)
                .map(|(_, v)| v.clone());
            if let (Some(v), Some(spec)) = (follow, schema::find(SCALE_DOWN_WINDOW)) {
                accepted.push((spec, v));
            }
        }

        let config = match build(&accepted, client) {
            Ok(c) => c,
            Err(message) => {
                self.error(Origin::FILE, "", message);
                return Err(self.errors);
            }
        };
        for broken in rules::check(&config, &failed) {
            let origin = broken
                .keys
                .iter()
                .find_map(|k| self.origin_of(k))
                .unwrap_or(Origin::FILE);
            let key = broken.keys.first().cloned().unwrap_or_default();
            self.error(origin, key, broken.message);
        }
        if self.errors.is_empty() {
            return Ok(Loaded {
                config,
                overrides: self.applied,
            });
        }
        // Like a compiler: file lines in order, then the environment, then flags (stable, so
        // errors about one key stay in the order they were found).
        self.errors.sort_by_key(|e| match e.origin {
            Origin::File { line: Some(line) } => (0, line),
            Origin::File { line: None } => (1, 0),
            Origin::Env(_) => (2, 0),
            Origin::Flag(_) => (3, 0),
        });
        Err(self.errors)
    }
}

/// The defaults with every accepted value put in, as the typed configuration.
fn build(
    accepted: &[(&'static KeySpec, toml::Value)],
    client: toml::Table,
) -> Result<Config, String> {
    let mut doc = toml::Table::try_from(Config::default())
        .map_err(|e| format!("internal error: defaults do not serialise: {e}"))?;
    for (spec, value) in accepted {
        set_path(&mut doc, spec.path, value.clone())?;
    }
    set_path(&mut doc, "kafka.client", toml::Value::Table(client))?;
    toml::Value::Table(doc).try_into::<Config>().map_err(|e| {
        format!(
            "internal error: checked values do not fit the types: {}",
            e.message()
        )
    })
}

fn set_path(doc: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let mut table = doc;
    let mut levels = path.split('.').peekable();
    while let Some(level) = levels.next() {
        if levels.peek().is_none() {
            table.insert(level.to_string(), value);
            return Ok(());
        }
        table = table
            .entry(level.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("internal error: {path} crosses a non-table"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match ConfigLoader::from_text("p.toml", text).load() {
            Ok(_) => Vec::new(),
            Err(e) => e.lines(),
        }
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = ConfigLoader::from_text("p.toml", "").load().unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn integers_are_accepted_as_floats() {
        let c = ConfigLoader::from_text("p.toml", "[aimd]\nmax_rate = 5000")
            .load()
            .unwrap();
        assert_eq!(c.aimd.max_rate, 5000.0);
    }

    #[test]
    fn client_tables_flatten_and_scalars_stringify() {
        let c = ConfigLoader::from_text(
            "p.toml",
            "[kafka.client]\nsasl.password = 'pw'\n\"security.protocol\" = 'SASL_SSL'\nsession.timeout.ms = 6000\nenable.idempotence = true",
        )
        .load()
        .unwrap();
        let got: Vec<(&str, &str)> = c.kafka.client.iter().collect();
        assert_eq!(
            got,
            vec![
                ("enable.idempotence", "true"),
                ("sasl.password", "pw"),
                ("security.protocol", "SASL_SSL"),
                ("session.timeout.ms", "6000"),
            ]
        );
    }

    #[test]
    fn reserved_client_settings_point_to_their_key() {
        assert_eq!(
            errors("[kafka.client]\n\"bootstrap.servers\" = 'x:1'"),
            vec![
                "p.toml:2: kafka.client.\"bootstrap.servers\" is set by echoflow from kafka.brokers; set kafka.brokers instead"
            ]
        );
    }

    #[test]
    fn syntax_errors_have_lines() {
        let e = errors("[red]\nmax_p = \n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("p.toml:2: TOML syntax error: "), "{e:?}");
    }

    #[test]
    fn sections_given_as_values_are_rejected() {
        assert_eq!(
            errors("red = 5"),
            vec![
                "p.toml:1: red = 5: expected a table, found an integer ([red] is a section: enabled, min_th, max_th, max_p, weight, count_spacing, seed)"
            ]
        );
    }

    #[test]
    fn quoted_dotted_keys_are_not_schema_keys() {
        let e = errors("\"red.max_p\" = 0.2");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("p.toml:1: unknown section \"red.max_p\"; sections: kafka"),
            "{e:?}"
        );
    }

    #[test]
    fn scale_down_window_follows_stabilization_unless_set() {
        let c = ConfigLoader::from_text(
            "p.toml",
            "[autoscaler]\nscale_down_stabilization_ms = 60000",
        )
        .load()
        .unwrap();
        assert_eq!(
            c.autoscaler.behavior.scale_down.stabilization_window_ms,
            60_000
        );
        let c = ConfigLoader::from_text(
            "p.toml",
            "[autoscaler]\nscale_down_stabilization_ms = 60000\n[autoscaler.behavior.scale_down]\nstabilization_window_ms = 0",
        )
        .load()
        .unwrap();
        assert_eq!(c.autoscaler.behavior.scale_down.stabilization_window_ms, 0);
    }

    #[test]
    fn duplicate_environment_keys_are_an_error() {
        let e = ConfigLoader::from_text("p.toml", "")
            .env([
                ("ECHOFLOW_RED__MAX_P", "0.2"),
                ("echoflow_red__max_p", "0.1"),
            ])
            .load()
            .unwrap_err();
        assert_eq!(
            e.lines(),
            vec![
                "p.toml: echoflow_red__max_p: ECHOFLOW_RED__MAX_P and echoflow_red__max_p both set red.max_p; keep one"
            ]
        );
    }

    #[test]
    fn unknown_flag_keys_name_the_flag() {
        let e = ConfigLoader::from_text("p.toml", "")
            .flag("--workers", "pipeline.worker", 2u32)
            .load()
            .unwrap_err();
        assert_eq!(
            e.lines(),
            vec![
                "p.toml: --workers: unknown key pipeline.worker; [pipeline] allows: workers, logical_shards"
            ]
        );
    }

    #[test]
    fn overrides_applied_are_listed() {
        let l = ConfigLoader::from_text("p.toml", "")
            .env([("ECHOFLOW_RED__MAX_P", "0.2"), ("HOME", "/root")])
            .flag("--workers", "pipeline.workers", 2u32)
            .load_detailed()
            .unwrap();
        assert_eq!(l.overrides, vec!["ECHOFLOW_RED__MAX_P", "--workers"]);
    }
}
