//! Shared helpers for the end-to-end tests: the real broker, unique topics, producing and reading.
#![allow(dead_code)]

use echoflow_connectors::kafka::KafkaClient;
use echoflow_connectors::kafka::admin::ensure_topics;
use echoflow_connectors::kafka::producer::ToolProducer;
use echoflow_connectors::kafka::retry;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::io::Read;
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The broker the tests use: `ECHOFLOW_TEST_BROKERS`, default 127.0.0.1:9092 (the one
/// `deploy/local/kafka.sh up` starts). When it cannot be reached the test fails under CI=true and
/// is skipped (with a message) elsewhere.
pub fn broker() -> Option<String> {
    let addr = std::env::var("ECHOFLOW_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let first = addr.split(',').next().unwrap_or_default().to_string();
    let reachable = first
        .parse()
        .ok()
        .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
        .is_some();
    if reachable {
        return Some(addr);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "Kafka broker {addr} is not reachable and CI=true: start it with deploy/local/kafka.sh up"
        );
    }
    eprintln!("SKIPPED: Kafka broker {addr} not reachable (run deploy/local/kafka.sh up)");
    None
}

/// The longest a test waits for one run (an in-process dataflow or an `echoflow` process) before
/// it fails: a hang then fails its test with a message instead of stalling the whole suite.
/// Not a performance bound: every run here takes seconds.
pub const HANG_LIMIT: Duration = Duration::from_secs(300);

/// Runs `f` on a thread of its own and returns its result; panics naming `what` when it has not
/// finished within [`HANG_LIMIT`] (or panicked: its message is printed above).
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(HANG_LIMIT) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("{what} did not finish within {HANG_LIMIT:?}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// Waits for `child`; kills it and panics naming `what` when it has not exited within
/// [`HANG_LIMIT`].
pub fn wait_within(child: &mut Child, what: &str) -> ExitStatus {
    let deadline = std::time::Instant::now() + HANG_LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{what}: {e}")) {
            return status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not exit within {HANG_LIMIT:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM to `child` (`kill -TERM`, which must succeed) and waits for it to exit
/// ([`wait_within`]); the caller judges the exit status.
pub fn sigterm_within(child: &mut Child, what: &str) -> ExitStatus {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill -TERM {what}: {e}"));
    assert!(kill.success(), "kill -TERM {what}: {kill}");
    wait_within(child, &format!("{what} after SIGTERM"))
}

/// `cmd.output()`, except that a process still running after [`HANG_LIMIT`] is killed and the
/// test panics naming `what` ([`wait_within`]); its output is read on two threads meanwhile, so
/// a full pipe cannot stall it.
pub fn output_within(cmd: &mut Command, what: &str) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    }
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_within(&mut child, what);
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// A topic name no other test run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "test.{prefix}.{}.{}.{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn create(brokers: &str, topics: &[&str], partitions: i32) {
    let list: Vec<(&str, i32)> = topics.iter().map(|t| (*t, partitions)).collect();
    ensure_topics(&KafkaClient::new(brokers), &list).expect("create test topics");
}

/// Produces `(partition, key, payload)` records (idempotently, with the tools' producer) and
/// waits until the broker has acknowledged every one; panics, naming the error, if any was not
/// delivered.
pub fn produce(brokers: &str, topic: &str, records: &[(i32, String, Vec<u8>)]) {
    let producer = ToolProducer::new(&KafkaClient::new(brokers)).expect("test producer");
    for (p, key, payload) in records {
        producer
            .send(topic, Some(*p), key.as_bytes(), payload)
            .unwrap_or_else(|e| panic!("producing to {topic}: {e}"));
    }
    let acked = producer
        .flush(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{} test records to {topic}: {e}", records.len()));
    assert_eq!(
        acked,
        records.len() as u64,
        "acknowledged records of {topic}"
    );
}

/// One record read back.
#[derive(Debug, Clone)]
pub struct ReadBack {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
}

/// Reads every record of `topic` from the beginning to its current end.
pub fn read_all(brokers: &str, topic: &str) -> Vec<ReadBack> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .expect("test consumer");
    let md =
        retry::topic_metadata(consumer.client(), topic, Duration::from_secs(30)).expect("metadata");
    let parts: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
    let mut tpl = TopicPartitionList::new();
    let mut open = 0;
    for &p in &parts {
        let (lo, hi) = retry::watermarks(consumer.client(), topic, p, Duration::from_secs(30))
            .expect("watermarks");
        if hi > lo {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("tpl");
            open += 1;
        }
    }
    let mut out = Vec::new();
    if open == 0 {
        return out;
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while open > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "reading {topic} did not finish in 120 s"
        );
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => open -= 1,
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            Some(Ok(m)) => out.push(ReadBack {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().unwrap_or(&[]).to_vec(),
            }),
        }
    }
    out
}

/// Number of records currently in `topic` (sum over partitions of high − low watermark).
pub fn count(brokers: &str, topic: &str) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("test consumer");
    let md =
        retry::topic_metadata(consumer.client(), topic, Duration::from_secs(30)).expect("metadata");
    md.topics()[0]
        .partitions()
        .iter()
        .map(|p| {
            let (lo, hi) =
                retry::watermarks(consumer.client(), topic, p.id(), Duration::from_secs(30))
                    .expect("watermarks");
            hi - lo
        })
        .sum()
}

/// A valid request of about 200 bytes.
pub fn request(id: &str, ts: u64) -> Vec<u8> {
    format!(
        r#"{{"id":"{id}","ts":{ts},"tenant":"tenant-{t}","feature":"chat","priority":"medium","session":"s-{s}","input":[[0.125,0.5],[0.25,0.75],[0.5,1.0]]}}"#,
        t = ts % 7,
        s = ts % 101
    )
    .into_bytes()
}

/// The seven topics of a pipeline, in [`pipeline_toml`]'s order.
pub const TOPIC_ROLES: [&str; 7] = [
    "requests",
    "telemetry",
    "admitted",
    "rejections",
    "decisions",
    "control",
    "dead",
];

/// A pipeline.toml for `echoflow run` on `brokers` with these topics, in the order requests,
/// telemetry, admitted, rejections, decisions, control, dead letter; the process's memory
/// pressure is left out so runs compare with `replay`.
pub fn pipeline_toml(brokers: &str, group: &str, topics: [&str; 7]) -> String {
    let [req, tel, adm, rej, dec, ctl, dead] = topics;
    format!(
        "[kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"{group}\"\n[topics]\nrequests = \"{req}\"\n\
         telemetry = \"{tel}\"\nadmitted = \"{adm}\"\nrejections = \"{rej}\"\ndecisions = \"{dec}\"\n\
         control = \"{ctl}\"\ndead_letter = \"{dead}\"\n[aimd]\nprocess_memory = false\n"
    )
}

/// The seven topics of a pipeline ([`TOPIC_ROLES`] order), unique names under `prefix`, created
/// with two partitions each.
pub fn pipeline_topics(brokers: &str, prefix: &str) -> Vec<String> {
    let t: Vec<String> = TOPIC_ROLES
        .iter()
        .map(|n| unique(&format!("{prefix}.{n}")))
        .collect();
    create(
        brokers,
        &t.iter().map(String::as_str).collect::<Vec<_>>(),
        2,
    );
    t
}

/// A scenario as records for [`produce`]: requests keyed by id over partitions 0 and 1 in turn,
/// telemetry keyed by membrane on partition 0.
pub type Records = Vec<(i32, String, Vec<u8>)>;
pub fn scenario_records(sc: &echoflow_pipeline::scenario::Scenario) -> (Records, Records) {
    let requests = sc
        .requests_keyed()
        .enumerate()
        .map(|(i, (_, id, l))| ((i % 2) as i32, id, l.into_bytes()))
        .collect();
    let telemetry = sc
        .telemetry_keyed()
        .map(|(_, m, l)| (0, m, l.into_bytes()))
        .collect();
    (requests, telemetry)
}

/// Writes a pipeline.toml for `echoflow run` on `topics` (from [`pipeline_topics`]) with a new
/// consumer group and metrics on a free loopback port, then `extra` TOML, into a fresh temporary
/// folder named after `name`. Returns the file and the metrics port.
pub fn run_config(
    brokers: &str,
    name: &str,
    topics: &[String],
    extra: &str,
) -> (std::path::PathBuf, u16) {
    let dir = std::env::temp_dir().join(format!("echoflow-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let roles: [&str; 7] = std::array::from_fn(|i| topics.get(i).map_or("", String::as_str));
    let toml = pipeline_toml(brokers, &unique("group"), roles)
        + &format!("[metrics]\naddress = \"127.0.0.1:{port}\"\n")
        + extra;
    let config = dir.join("pipeline.toml");
    std::fs::write(&config, toml).expect("config");
    (config, port)
}

/// Starts `echoflow run --config CONFIG --workers 2` (standard output discarded).
pub fn spawn_run(config: &std::path::Path) -> std::process::Child {
    let cfg = config.to_str().expect("UTF-8 path");
    std::process::Command::new(env!("CARGO_BIN_EXE_echoflow"))
        .args(["run", "--config", cfg, "--workers", "2"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start echoflow run")
}
