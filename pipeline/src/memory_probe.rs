//! The process's own memory pressure, in `0..1`, for the AIMD input of `run` (SPEC §3:
//! `aimd.process_memory`). It reads files, so it lives here and not in `echoflow-operators`.
//!
//! # Sources, and which one wins
//!
//! 1. **cgroup v2** — the process's cgroup from `/proc/self/cgroup` (the `0::<path>` line), then
//!    `/sys/fs/cgroup/<path>/memory.current` and the *smallest* `memory.max` of that cgroup and its
//!    ancestors (a limit set on a parent applies too); `max` means unlimited.
//! 2. **cgroup v1** — `/sys/fs/cgroup/memory/memory.usage_in_bytes` and
//!    `memory.limit_in_bytes`; a limit at or above the machine's `MemTotal` (v1 writes a huge
//!    page-rounded `i64::MAX` when unlimited) counts as unlimited.
//! 3. **`/proc/meminfo`** — `1 − MemAvailable / MemTotal` when no cgroup limit applies.
//! 4. **PSI** — `/proc/pressure/memory`, the `some avg10` percentage / 100.
//!
//! The usage ratio comes from the first of 1–3 that has a limit: the cgroup limit is what the
//! OOM killer enforces on this process (as the earlier Go system's "memory detection (cgroup
//! v1/v2, GOMEMLIMIT)" did), and the host-wide `/proc/meminfo` only stands in when the process is
//! not limited. For the cgroups the usage is the **working set**: usage minus `inactive_file`
//! from `memory.stat` (`total_inactive_file` in v1), as the kubelet and cAdvisor compute it,
//! because inactive page cache is reclaimed before an OOM kill. The pressure is then
//! `max(ratio, psi)`: PSI ("pre-OOM detection" in the source document) reports stalls caused by
//! reclaim even when the ratio still looks comfortable, and taking the maximum lets either
//! signal slow the pipeline down. Both are clamped to `[0, 1]`.
//!
//! Every path is relative to an injectable root (`/` in production) so tests use a temporary
//! directory of fake files. This is a wall-clock input, so `replay` never uses it (SPEC §3).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Which file the usage ratio came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatioSource {
    CgroupV2,
    CgroupV1,
    Meminfo,
}

/// One reading of the probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryReading {
    /// `max(ratio, psi)`, in `[0, 1]`: the AIMD input.
    pub pressure: f64,
    /// The working-set (or meminfo) ratio, and where it came from.
    pub ratio: Option<(RatioSource, f64)>,
    /// PSI `some avg10` as a fraction.
    pub psi_some_avg10: Option<f64>,
}

/// Nothing usable was found.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(
        "no memory source readable under {root}: no cgroup limit, /proc/meminfo or /proc/pressure/memory"
    )]
    NoSource { root: PathBuf },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: cannot parse {what}")]
    Parse { path: PathBuf, what: &'static str },
}

/// The probe: a filesystem root under which `/proc` and `/sys/fs/cgroup` are read.
#[derive(Debug, Clone)]
pub struct MemoryProbe {
    root: PathBuf,
}

impl Default for MemoryProbe {
    fn default() -> Self {
        MemoryProbe::new("/")
    }
}

impl MemoryProbe {
    /// A probe reading under `root` (`/` for the real system).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MemoryProbe { root: root.into() }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Reads every source and combines them (see the module documentation).
    pub fn read(&self) -> Result<MemoryReading, ProbeError> {
        let mem_total = self.meminfo()?.map(|(total, _)| total);
        let ratio = match self.cgroup_v2()? {
            Some(r) => Some((RatioSource::CgroupV2, r)),
            None => match self.cgroup_v1(mem_total)? {
                Some(r) => Some((RatioSource::CgroupV1, r)),
                None => self
                    .meminfo()?
                    .filter(|(total, _)| *total > 0)
                    .map(|(total, avail)| {
                        (
                            RatioSource::Meminfo,
                            1.0 - avail.min(total) as f64 / total as f64,
                        )
                    }),
            },
        };
        let psi = self.psi()?;
        if ratio.is_none() && psi.is_none() {
            return Err(ProbeError::NoSource {
                root: self.root.clone(),
            });
        }
        let clamp = |x: f64| x.clamp(0.0, 1.0);
        let ratio = ratio.map(|(s, r)| (s, clamp(r)));
        let psi = psi.map(clamp);
        let pressure = ratio.map(|(_, r)| r).unwrap_or(0.0).max(psi.unwrap_or(0.0));
        Ok(MemoryReading {
            pressure,
            ratio,
            psi_some_avg10: psi,
        })
    }

    /// The working-set ratio of the process's v2 cgroup, if it has a limit.
    fn cgroup_v2(&self) -> Result<Option<f64>, ProbeError> {
        let Some(text) = read_optional(&self.path("proc/self/cgroup"))? else {
            return Ok(None);
        };
        let Some(rel) = text.lines().find_map(|l| l.strip_prefix("0::")) else {
            return Ok(None);
        };
        let base = self.path("sys/fs/cgroup");
        let own = base.join(rel.trim().trim_start_matches('/'));
        let Some(current) = read_u64(&own.join("memory.current"))? else {
            return Ok(None);
        };
        // The smallest limit of this cgroup and its ancestors up to the cgroup root.
        let mut limit: Option<u64> = None;
        let mut dir = own.as_path();
        loop {
            if let Some(text) = read_optional(&dir.join("memory.max"))? {
                let t = text.trim();
                if t != "max" {
                    let v = t.parse::<u64>().map_err(|_| ProbeError::Parse {
                        path: dir.join("memory.max"),
                        what: "a byte count or \"max\"",
                    })?;
                    limit = Some(limit.map_or(v, |l| l.min(v)));
                }
            }
            if dir == base {
                break;
            }
            match dir.parent() {
                Some(p) if p.starts_with(&base) => dir = p,
                _ => break,
            }
        }
        let Some(limit) = limit.filter(|l| *l > 0) else {
            return Ok(None);
        };
        let inactive = stat_field(&own.join("memory.stat"), "inactive_file")?.unwrap_or(0);
        Ok(Some(current.saturating_sub(inactive) as f64 / limit as f64))
    }

    /// The working-set ratio of the v1 memory cgroup, if it has a real limit.
    fn cgroup_v1(&self, mem_total: Option<u64>) -> Result<Option<f64>, ProbeError> {
        let dir = self.path("sys/fs/cgroup/memory");
        let Some(usage) = read_u64(&dir.join("memory.usage_in_bytes"))? else {
            return Ok(None);
        };
        let Some(limit) = read_u64(&dir.join("memory.limit_in_bytes"))? else {
            return Ok(None);
        };
        // v1 reports "unlimited" as a huge number; anything at or above the machine's memory
        // cannot be the binding limit.
        let unlimited =
            limit == 0 || limit >= (1u64 << 62) || mem_total.is_some_and(|t| limit >= t);
        if unlimited {
            return Ok(None);
        }
        let inactive = stat_field(&dir.join("memory.stat"), "total_inactive_file")?.unwrap_or(0);
        Ok(Some(usage.saturating_sub(inactive) as f64 / limit as f64))
    }

    /// `(MemTotal, MemAvailable)` in bytes.
    fn meminfo(&self) -> Result<Option<(u64, u64)>, ProbeError> {
        let path = self.path("proc/meminfo");
        let Some(text) = read_optional(&path)? else {
            return Ok(None);
        };
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kib| kib * 1024)
        };
        match (field("MemTotal"), field("MemAvailable")) {
            (Some(t), Some(a)) => Ok(Some((t, a))),
            _ => Err(ProbeError::Parse {
                path,
                what: "MemTotal and MemAvailable",
            }),
        }
    }

    /// PSI `some avg10` as a fraction.
    fn psi(&self) -> Result<Option<f64>, ProbeError> {
        let path = self.path("proc/pressure/memory");
        let Some(text) = read_optional(&path)? else {
            return Ok(None);
        };
        let avg10 = text
            .lines()
            .find_map(|l| l.strip_prefix("some "))
            .and_then(|rest| {
                rest.split_whitespace()
                    .find_map(|kv| kv.strip_prefix("avg10="))
            })
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| v.is_finite());
        match avg10 {
            Some(v) => Ok(Some(v / 100.0)),
            None => Err(ProbeError::Parse {
                path,
                what: "a \"some avg10=\" field",
            }),
        }
    }
}

/// The file's text, or `None` if it does not exist (or is not readable as a file).
fn read_optional(path: &Path) -> Result<Option<String>, ProbeError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::PermissionDenied
                    | io::ErrorKind::IsADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(ProbeError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

fn read_u64(path: &Path) -> Result<Option<u64>, ProbeError> {
    match read_optional(path)? {
        None => Ok(None),
        Some(t) => t
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ProbeError::Parse {
                path: path.to_path_buf(),
                what: "a byte count",
            }),
    }
}

/// A `name value` line of a `memory.stat` file.
fn stat_field(path: &Path, name: &str) -> Result<Option<u64>, ProbeError> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    Ok(text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(name))
            .then(|| it.next()?.parse::<u64>().ok())
            .flatten()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A temporary directory tree of fake files, removed on drop.
    struct FakeRoot(PathBuf);

    impl FakeRoot {
        fn new() -> Self {
            static N: AtomicU32 = AtomicU32::new(0);
            let dir = std::env::temp_dir().join(format!(
                "echoflow-memprobe-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create temp dir");
            FakeRoot(dir)
        }

        fn file(&self, rel: &str, text: &str) -> &Self {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().expect("has parent")).expect("create dirs");
            fs::write(p, text).expect("write fake file");
            self
        }

        fn probe(&self) -> MemoryProbe {
            MemoryProbe::new(&self.0)
        }
    }

    impl Drop for FakeRoot {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const MEMINFO: &str =
        "MemTotal:       16000000 kB\nMemFree:  1 kB\nMemAvailable:    4000000 kB\n";

    #[test]
    fn cgroup_v2_working_set_over_the_smallest_limit() {
        let root = FakeRoot::new();
        root.file("proc/self/cgroup", "0::/kubepods/pod1/ctr\n")
            .file("proc/meminfo", MEMINFO)
            .file("sys/fs/cgroup/kubepods/pod1/ctr/memory.current", "600\n")
            .file("sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n")
            .file(
                "sys/fs/cgroup/kubepods/pod1/ctr/memory.stat",
                "anon 400\ninactive_file 100\nactive_file 100\n",
            )
            .file("sys/fs/cgroup/kubepods/pod1/memory.max", "1000\n")
            .file("sys/fs/cgroup/kubepods/memory.max", "5000\n");
        let r = root.probe().read().unwrap();
        assert_eq!(r.ratio, Some((RatioSource::CgroupV2, 0.5)));
        assert_eq!(r.pressure, 0.5);
        assert_eq!(r.psi_some_avg10, None);
    }

    #[test]
    fn unlimited_v2_falls_back_to_meminfo_and_psi_can_win() {
        let root = FakeRoot::new();
        root.file("proc/self/cgroup", "0::/\n")
            .file("sys/fs/cgroup/memory.current", "600\n")
            .file("sys/fs/cgroup/memory.max", "max\n")
            .file("proc/meminfo", MEMINFO)
            .file(
                "proc/pressure/memory",
                "some avg10=90.50 avg60=10.00 avg300=1.00 total=123\nfull avg10=1.00 avg60=0.00 avg300=0.00 total=1\n",
            );
        let r = root.probe().read().unwrap();
        assert_eq!(r.ratio, Some((RatioSource::Meminfo, 0.75)));
        assert_eq!(r.psi_some_avg10, Some(0.905));
        assert_eq!(r.pressure, 0.905);
    }

    #[test]
    fn cgroup_v1_limit_and_unlimited() {
        let root = FakeRoot::new();
        root.file("proc/meminfo", MEMINFO)
            .file("sys/fs/cgroup/memory/memory.usage_in_bytes", "3000\n")
            .file("sys/fs/cgroup/memory/memory.limit_in_bytes", "4000\n")
            .file(
                "sys/fs/cgroup/memory/memory.stat",
                "cache 10\ntotal_inactive_file 1000\n",
            );
        assert_eq!(
            root.probe().read().unwrap().ratio,
            Some((RatioSource::CgroupV1, 0.5))
        );
        root.file(
            "sys/fs/cgroup/memory/memory.limit_in_bytes",
            "9223372036854771712\n",
        );
        assert_eq!(
            root.probe().read().unwrap().ratio,
            Some((RatioSource::Meminfo, 0.75))
        );
    }

    #[test]
    fn over_limit_is_clamped_and_nothing_is_an_error() {
        let root = FakeRoot::new();
        root.file("proc/self/cgroup", "0::/\n")
            .file("sys/fs/cgroup/memory.current", "3000\n")
            .file("sys/fs/cgroup/memory.max", "1000\n");
        assert_eq!(root.probe().read().unwrap().pressure, 1.0);
        let empty = FakeRoot::new();
        assert!(matches!(
            empty.probe().read(),
            Err(ProbeError::NoSource { .. })
        ));
    }

    #[test]
    fn malformed_files_name_the_path() {
        let root = FakeRoot::new();
        root.file("proc/self/cgroup", "0::/\n")
            .file("sys/fs/cgroup/memory.current", "lots\n")
            .file("sys/fs/cgroup/memory.max", "1000\n");
        let err = root.probe().read().unwrap_err().to_string();
        assert!(
            err.contains("memory.current") && err.contains("byte count"),
            "{err}"
        );
        let root = FakeRoot::new();
        root.file("proc/pressure/memory", "some avg60=1\n");
        let err = root.probe().read().unwrap_err().to_string();
        assert!(err.contains("avg10"), "{err}");
    }

    #[test]
    fn the_real_system_gives_a_pressure_in_range() {
        // On Linux at least /proc/meminfo exists; elsewhere the probe reports NoSource.
        match MemoryProbe::default().read() {
            Ok(r) => assert!((0.0..=1.0).contains(&r.pressure)),
            Err(ProbeError::NoSource { .. }) => {}
            Err(e) => panic!("unexpected probe error: {e}"),
        }
    }
}
