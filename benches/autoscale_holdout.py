#!/usr/bin/env python3
"""Held-out check of the autoscaling goal (issue #6): `predictive` against `hpa` on traces
that were not used to design the policy.

For every `timestamp,value` CSV it runs `echoflow simulate` once per policy (SPEC §6
defaults, like the table in BENCHMARKS.md) and prints, per trace and in total, the three
ratios predictive / hpa of the goal — SLO-violation minutes, replica-minutes above the floor,
reversals — and whether predictive Pareto-dominates hpa there: no more violation minutes, no
more replica-minutes above the floor, strictly fewer of one of them, and at most 1.25× hpa's
reversals.

Traces: `--traces DIR` (every *.csv in it), `--web DIR` (the session-6 held-out set from
outside NAB, see WEB_SOURCES below), or `--nab DIR` with DIR a checkout of
https://github.com/numenta/NAB (MIT licence), which reads a named set from DIR/data:
`--set held_out` (HELD_OUT, the default: 24 series used since session 4) or `--set fresh`
(FRESH: the 28 further series first used in session 5). The NAB files are not in this
repository (licence, size). With git only:

    git clone --depth 1 https://github.com/numenta/NAB /tmp/NAB
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --nab /tmp/NAB
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --nab /tmp/NAB --set fresh

The session-6 set from outside NAB: DIR is a checkout of
https://github.com/reconfigurable-ml-pipeline/web-service-datasets (commit 7404ad6), whose
`dataset/nasa/workload.tbz2` (NASA Kennedy Space Center WWW server, every HTTP request of
July and August 1995, counted per second) and `dataset/twitter_trace/workload.tbz2` (the
Archive Team Twitter stream of August 2021, tweets and deletions counted per second) hold
one request count per second. The rule, fixed before any policy ran on them: sum each to
counts per minute, cut it into consecutive 7-day windows from its first second, keep every
complete window (NASA: 8 weeks, Twitter: 3 weeks; 11 series of 10,080 one-minute rows), write
each as `timestamp,value` CSV (timestamps from the source's first day, 60 s apart; only the
spacing matters to `simulate`). Nothing else is dropped or smoothed: the NASA server's
outage of 1-3 August 1995 (zeros) stays in its week.

    git clone https://github.com/reconfigurable-ml-pipeline/web-service-datasets /tmp/wsd
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --web /tmp/wsd

The session-10 held-out set (`--azure-llm DIR`): DIR is a checkout of
https://github.com/Azure/AzurePublicDataset (commit b469a11), whose
`data/AzureLLMInferenceTrace_code.csv` and `data/AzureLLMInferenceTrace_conv.csv` hold one
row per request to two LLM inference services in Azure (one hour, 16 Nov 2023; CC-BY). The
rule, fixed before any policy ran on them: count the requests per second (the TIMESTAMP
column, truncated to the second) from the first request's second to the last request's,
seconds without a request included as 0, and write each as a `timestamp,value` CSV of
one-second rows (≈ 3,600 rows each). Nothing else is dropped or smoothed. These are
continuous, Poisson-like arrivals at the finest resolution — no step structure above one
second — and of the very workload echoflow fronts (model serving).

    git clone https://github.com/Azure/AzurePublicDataset /tmp/apd
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --azure-llm /tmp/apd

The session-12 held-out set (`--mooncake DIR`): DIR is a checkout of
https://github.com/kvcache-ai/Mooncake (commit 3b5a594), whose
`FAST25-release/traces/conversation_trace.jsonl` holds one row per request to the Kimi
conversation service (Moonshot AI; about one hour; the FAST'25 Mooncake paper's trace,
Apache-2.0): `timestamp` in milliseconds from the first request, recorded on a 3-second grid
(every timestamp is within 3 ms of a multiple of 3,000). The rule, fixed before any policy
ran on it: bin each request at round(timestamp / 3,000), count the requests per bin from bin
0 to the last, bins without a request included as 0, and write one `timestamp,value` row per
3 seconds (≈ 1,180 rows; the source's resolution, so no artificial empty seconds between its
grid points). Nothing else is dropped or smoothed. Its toolagent and arxiv traces are not in
the mirror this was taken from.

    git clone https://github.com/kvcache-ai/Mooncake /tmp/mooncake
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --mooncake /tmp/mooncake

The session-15 held-out set (`--worldcup DIR`): DIR is a checkout of
https://github.com/nimamahmoudi/worldcup98-dataset (commit 8246021), whose
`invocation_count.csv` holds the requests to the 1998 FIFA World Cup web site (30 April -
26 July 1998; the ITA trace's access logs) counted per minute (`period,count`; the count of
a minute split between two log files appears in two rows). The rule, fixed before any policy
ran on it, is the `--web` set's: sum the rows per minute, from the first minute to the last,
minutes without a row included as 0 (10 of 125,310), cut into consecutive 7-day windows
from the first minute, keep every complete window (12 series of 10,080 one-minute rows).
Nothing else is dropped or smoothed: the quiet weeks before the tournament and the match-day
flash crowds (a hundred times the early weeks' rate) stay as they are.

    git clone https://github.com/nimamahmoudi/worldcup98-dataset /tmp/wc98
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --worldcup /tmp/wc98

The session-17 held-out sets, fixed before any policy ran on them (rules written down first,
by a helper that ran nothing; the flap budget of session 16 is the newest policy change they
judge):

`--servegen DIR`: DIR is a checkout of https://github.com/alibaba/ServeGen (commit f891d11,
Apache-2.0), whose `data/language/{m-large,m-mid,m-small}/chunk-*-trace.csv` hold, per client of
three LLMs served by Alibaba Cloud Model Studio (Bailian; the ServeGen paper, arXiv 2505.09999),
one row per 600 s window over 14 days: the window's start (seconds from the trace's midnight)
and the client's mean request rate, so rate × 600 is the client's request count in the window
(a whole number in every row). The rule: per model, the count per window is the sum over all
its chunk files of round(rate × 600); windows absent from every file are 0; cut into
consecutive 7-day blocks (1,008 windows) from the first window, keep every complete block (6
series of 1,008 ten-minute rows). The source publishes no dates: timestamps start at
2000-01-01 plus the first window's offset (only the spacing matters to `simulate`). Runs of
empty windows (m-mid: 21 in week 1, 63 in week 2; m-small: 37 in week 2, mostly whole hours)
look like gaps in the release rather than idle hours; they stay as 0, like the NASA outage.

    git clone https://github.com/alibaba/ServeGen /tmp/servegen
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --servegen /tmp/servegen

`--azure-lmm DIR`: DIR is a checkout of https://github.com/Azure/realtimevideogen at commit
3026616 (MIT; the data file CC-BY, from Azure/AzurePublicDataset), whose
`paper/data/azure_lmm_trace_2024_per_minute.csv` holds the Azure LMM Inference Trace 2025 (a
sample of requests to an Azure multimodal model-serving cluster, 15-22 October 2024; the
ModServe paper, SoCC'25) counted per UTC minute: 10,080 minutes, 1,000,000 requests. The rule:
one row per minute, minutes missing from the file as 0 (none are), cut into consecutive
1-day windows (1,440 minutes) from the first minute, keep every complete window (7 series).
That commit was not in the repository snapshot this project could fetch; the file was
rebuilt from the search index's stored text of it and checked against the repository's own
test (10,080 rows summing to exactly 1,000,000).

    git clone https://github.com/Azure/realtimevideogen /tmp/rtvg
    git -C /tmp/rtvg checkout 3026616
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --azure-lmm /tmp/rtvg

The session-18 held-out set, fixed before any policy ran on it (rule written down first, by a
helper that ran nothing; the policy it judges is session 16's, unchanged since):

`--sdsc DIR`: DIR is a checkout of https://github.com/ryankemper/HTTPParser (commit 40cb704),
whose `resources/sdsc-http.txt` (3,563,194 bytes, sha256 564bbc83…fa34db) is the Internet
Traffic Archive's SDSC-HTTP log: every HTTP request to the San Diego Supercomputer Center's web
server on Tuesday 22 August 1995, 00:00:00-23:59:41 PDT, one line per request, 1-second
timestamps, 28,338 requests, "no known losses" (ita.ee.lbl.gov; published for research, no
licence text found; not redistributed here). None of the model-serving or serverless traces
tried (BurstGPT, Azure's week-long LLM and Functions traces, Alibaba's Bailian and PAI traces,
Huawei and IBM serverless traces) was reachable through this project's tools: they are Git LFS
objects, release assets or external blobs. The rule: every non-empty line is one arrival,
whatever its operation (failed requests too; nothing de-duplicated); its time is the line's
first `Dow Mon DD HH:MM:SS YYYY`, read as PDT (UTC-07:00); count per 10-second bin aligned to
the day's midnight PDT (the day ITA documents, not one read from the data), bins without a
request as 0; cut into the day's four 6-hour quarters (4 series of 2,160 ten-second rows), all
written. A line without a timestamp, or one outside the day, would be dropped (none is: the
four sums are 28,338). The file is not in time order; binning does not need it to be.

    git clone https://github.com/ryankemper/HTTPParser /tmp/sdsc
    python3 benches/autoscale_holdout.py --bin target/release/echoflow --sdsc /tmp/sdsc

The session-19 held-out set, fixed before any policy ran on it (rule written down first; the
policy it judges is session 19's, with the overshoot cap, which the SDSC, Azure LMM and Azure
LLM sets informed):

`--servegen-day DIR`: DIR is the same ServeGen checkout as `--servegen`; its other two
categories, `data/reason/deepseek-r1/` (73 chunk files: a reasoning model) and
`data/multimodal/mm-image/` (35: image-and-text requests), hold the same per-client rows of
600 s windows, but over one day (144 windows) each, too short for `--servegen`'s 7-day blocks.
The rule: per model, the count per window exactly as for `--servegen` (the sum over its chunk
files of round(rate × 600); windows absent from every file 0); the whole span is one series (2
series of 144 ten-minute rows, `servegen_deepseek-r1_day` and `servegen_mm-image_day`). Looked at
before the rule was written: each model's span, that every rate is a whole count per window,
and the first three rows of one chunk file; no count, no plot.

    python3 benches/autoscale_holdout.py --bin target/release/echoflow --servegen-day /tmp/servegen

Several sources at once (any of `--traces`, `--nab`, `--web`, `--azure-llm`, `--mooncake`,
`--worldcup`, `--servegen`, `--azure-lmm`, `--sdsc`, `--servegen-day`; `--set` takes a
comma-separated list) print each set's table, then one line per set and the total — every set
of BENCHMARKS.md's held-out rounds in one command (about three minutes):

    python3 benches/autoscale_holdout.py --bin target/release/echoflow \
        --traces ../shared/traces --nab /tmp/NAB --set held_out,fresh --web /tmp/wsd \
        --azure-llm /tmp/apd --mooncake /tmp/mooncake --worldcup /tmp/wc98 \
        --servegen /tmp/servegen --azure-lmm /tmp/rtvg --sdsc /tmp/sdsc \
        --servegen-day /tmp/servegen

`--config FILE` runs both policies with a pipeline.toml, e.g. `[autoscaler]
early_scale_down = false` (predictive without the early release; BENCHMARKS.md "Fifth round").
Repeated, it runs one setting after another and ends with a table of the traces dominated per
setting and set. `benches/autoscale_settings/` holds the fleet settings of BENCHMARKS.md's
rounds since the twelfth (20 and 50 replicas, 120 s and 30 s start-up, peak at 60 % and 100 %
of the fleet, target 0.5 and 0.8, SLO 5 s, rows played as 1 minute and as 15 s):

    python3 benches/autoscale_holdout.py --bin target/release/echoflow \
        --traces ../shared/traces --nab /tmp/NAB --set held_out,fresh --worldcup /tmp/wc98 \
        $(for f in benches/autoscale_settings/*.toml; do echo --config $f; done) --out DIR

`--json FILE` also writes every setting's per-trace figures and verdicts;
`benches/autoscale_compare.py BEFORE.json AFTER.json` lists what a policy change moved.
`--jobs N` runs N simulations at once (default: the CPUs; each is single-threaded and
deterministic, and the tables come out in trace order, so the output does not depend on N).

Standard library only. Exit status 0 whatever the outcome (it is a measurement, not a test).
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

# 24 NAB series of varied shape that are NOT the three in ../shared/traces
# (Twitter_volume_AMZN, elb_request_count_8c0756, nyc_taxi): tweet volumes (bursty, 5 min),
# AWS CloudWatch network/disk/cpu series (noisy, spiky, level shifts, 5 min), known-cause cpu
# and latency series, freeway occupancy (5 min, daily), and four synthetic NAB series (daily
# cycle, a level jump, load-balancer spikes, growing spike density).
HELD_OUT = [
    "realTweets/Twitter_volume_AAPL.csv",
    "realTweets/Twitter_volume_CRM.csv",
    "realTweets/Twitter_volume_CVS.csv",
    "realTweets/Twitter_volume_FB.csv",
    "realTweets/Twitter_volume_GOOG.csv",
    "realTweets/Twitter_volume_IBM.csv",
    "realTweets/Twitter_volume_KO.csv",
    "realTweets/Twitter_volume_PFE.csv",
    "realTweets/Twitter_volume_UPS.csv",
    "realAWSCloudwatch/ec2_network_in_257a54.csv",
    "realAWSCloudwatch/ec2_network_in_5abac7.csv",
    "realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
    "realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv",
    "realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv",
    "realAWSCloudwatch/grok_asg_anomaly.csv",
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "realTraffic/occupancy_6005.csv",
    "realTraffic/occupancy_t4013.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
    "artificialWithAnomaly/art_load_balancer_spikes.csv",
    "artificialWithAnomaly/art_increase_spike_density.csv",
    "artificialNoAnomaly/art_daily_small_noise.csv",
]

# Every other NAB series (numenta/NAB commit ea702d7) except art_flatline (a constant: no
# policy can be strictly better), art_daily_flatmiddle (negative values, which are not a
# demand) and machine_temperature_system_failure (rows out of time order); `simulate` rejects
# the last two. The ad-exchange series (hourly), the remaining AWS
# CloudWatch cpu series, known-cause, traffic speed/travel-time and synthetic series. Chosen by
# that rule before any policy was run on them (session 5).
FRESH = [
    "realTraffic/TravelTime_387.csv",
    "realTraffic/TravelTime_451.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "artificialWithAnomaly/art_daily_jumpsdown.csv",
    "artificialNoAnomaly/art_daily_no_noise.csv",
    "artificialWithAnomaly/art_daily_nojump.csv",
    "artificialNoAnomaly/art_daily_perfect_square_wave.csv",
    "artificialNoAnomaly/art_noisy.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv",
    "realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv",
    "realAdExchange/exchange-2_cpc_results.csv",
    "realAdExchange/exchange-2_cpm_results.csv",
    "realAdExchange/exchange-3_cpc_results.csv",
    "realAdExchange/exchange-3_cpm_results.csv",
    "realAdExchange/exchange-4_cpc_results.csv",
    "realAdExchange/exchange-4_cpm_results.csv",
    "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv",
    "realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv",
    "realKnownCause/rogue_agent_key_hold.csv",
    "realKnownCause/rogue_agent_key_updown.csv",
    "realTraffic/speed_6005.csv",
    "realTraffic/speed_7578.csv",
    "realTraffic/speed_t4013.csv",
]

SETS = {"held_out": HELD_OUT, "fresh": FRESH}

# The session-6 held-out set (`--web`): (name, archive in the checkout, first day).
WEB_SOURCES = [
    ("nasa_http", "dataset/nasa/workload.tbz2", "1995-07-01"),
    ("twitter_stream", "dataset/twitter_trace/workload.tbz2", "2021-08-01"),
]
WEB_BIN_S = 60
WEB_WINDOW_BINS = 7 * 24 * 60


def write_trace(path, t0, spacing_s, values):
    """Writes `values` as a `timestamp,value` CSV, row i at t0 + i * spacing_s seconds."""
    import datetime

    with open(path, "w", encoding="utf-8") as out:
        out.write("timestamp,value\n")
        for i, v in enumerate(values):
            t = t0 + datetime.timedelta(seconds=i * spacing_s)
            out.write(f"{t:%Y-%m-%d %H:%M:%S},{v}\n")


def write_weeks(folder, name, start, per_minute):
    """Writes every complete 7-day window of `per_minute` (counts from `start`, one per minute)
    as `{name}_week{n}.csv` in `folder`; returns the paths."""
    import datetime

    paths = []
    for w in range(len(per_minute) // WEB_WINDOW_BINS):
        rows = per_minute[w * WEB_WINDOW_BINS : (w + 1) * WEB_WINDOW_BINS]
        t0 = start + datetime.timedelta(seconds=w * WEB_WINDOW_BINS * WEB_BIN_S)
        path = os.path.join(folder, f"{name}_week{w + 1}.csv")
        write_trace(path, t0, WEB_BIN_S, rows)
        paths.append(path)
    return paths


def count_per_bin(bins):
    """Requests per bin from bin 0 to the highest one, empty bins included as 0."""
    bins = list(bins)
    counts = [0] * (max(bins) + 1)
    for b in bins:
        counts[b] += 1
    return counts


def web_traces(checkout, folder):
    """Writes the `--web` set's CSVs into `folder` (rule in the module docs); returns paths."""
    import bz2
    import datetime
    import io
    import tarfile

    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, archive, first_day in WEB_SOURCES:
        with open(os.path.join(checkout, archive), "rb") as f:
            with tarfile.open(fileobj=io.BytesIO(bz2.decompress(f.read()))) as tar:
                member = next(m for m in tar.getmembers() if m.name.endswith("workload.txt"))
                per_second = [int(x) for x in tar.extractfile(member).read().split()]
        per_bin = [
            sum(per_second[i : i + WEB_BIN_S]) for i in range(0, len(per_second), WEB_BIN_S)
        ]
        if len(per_second) % WEB_BIN_S:
            per_bin.pop()  # an incomplete last minute
        start = datetime.datetime.fromisoformat(first_day)
        paths += write_weeks(folder, name, start, per_bin)
    return paths

# The session-10 held-out set (`--azure-llm`): (name, file in the checkout).
AZURE_LLM_SOURCES = [
    ("azure_llm_code", "data/AzureLLMInferenceTrace_code.csv"),
    ("azure_llm_conv", "data/AzureLLMInferenceTrace_conv.csv"),
]


def azure_llm_traces(checkout, folder):
    """Writes the `--azure-llm` set's CSVs into `folder` (rule in the module docs)."""
    import csv
    import datetime

    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, source in AZURE_LLM_SOURCES:
        with open(os.path.join(checkout, source), encoding="utf-8", newline="") as f:
            seconds = [
                datetime.datetime.fromisoformat(row["TIMESTAMP"][:19])
                for row in csv.DictReader(f)
            ]
        first = min(seconds)
        counts = count_per_bin(int((t - first).total_seconds()) for t in seconds)
        path = os.path.join(folder, f"{name}.csv")
        write_trace(path, first, 1, counts)
        paths.append(path)
    return paths


# The session-12 held-out set (`--mooncake`): (name, file in the checkout).
MOONCAKE_SOURCES = [
    ("mooncake_conversation", "FAST25-release/traces/conversation_trace.jsonl"),
]
MOONCAKE_GRID_MS = 3000


def mooncake_traces(checkout, folder):
    """Writes the `--mooncake` set's CSVs into `folder` (rule in the module docs)."""
    import datetime

    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, source in MOONCAKE_SOURCES:
        with open(os.path.join(checkout, source), encoding="utf-8") as f:
            bins = [
                round(json.loads(line)["timestamp"] / MOONCAKE_GRID_MS)
                for line in f
                if line.strip()
            ]
        counts = count_per_bin(bins)
        path = os.path.join(folder, f"{name}.csv")
        # The source's times are relative; the day is arbitrary (only the spacing matters).
        write_trace(path, datetime.datetime(2024, 1, 1), MOONCAKE_GRID_MS // 1000, counts)
        paths.append(path)
    return paths


# The session-15 held-out set (`--worldcup`): (name, file in the checkout).
WORLDCUP_SOURCES = [("worldcup98", "invocation_count.csv")]


def worldcup_traces(checkout, folder):
    """Writes the `--worldcup` set's CSVs into `folder` (rule in the module docs)."""
    import csv
    import datetime

    os.makedirs(folder, exist_ok=True)
    paths = []
    for name, source in WORLDCUP_SOURCES:
        per_minute = {}
        with open(os.path.join(checkout, source), encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                t = datetime.datetime.fromisoformat(row["period"])
                per_minute[t] = per_minute.get(t, 0) + int(row["count"])
        first = min(per_minute)
        bins = {int((t - first).total_seconds()) // WEB_BIN_S: c for t, c in per_minute.items()}
        counts = [bins.get(b, 0) for b in range(max(bins) + 1)]
        paths += write_weeks(folder, name, first, counts)
    return paths


# The session-17 held-out sets.
SERVEGEN_MODELS = ["m-large", "m-mid", "m-small"]
SERVEGEN_WINDOW_S = 600
SERVEGEN_BLOCK = 7 * 24 * 3600 // SERVEGEN_WINDOW_S
# The session-19 held-out set.
SERVEGEN_DAY_MODELS = [("reason", "deepseek-r1"), ("multimodal", "mm-image")]
AZURE_LMM_SOURCE = "paper/data/azure_lmm_trace_2024_per_minute.csv"
AZURE_LMM_DAY = 24 * 60


def servegen_counts(checkout, flag, category, model):
    """One ServeGen model's request count per 600 s window, from its first window to its last
    (the `--servegen` rule's counting; absent windows 0): (first window's offset, counts)."""
    import glob

    files = glob.glob(os.path.join(checkout, "data", category, model, "chunk-*-trace.csv"))
    if not files:
        sys.exit(f"{flag} {checkout}: no data/{category}/{model}/chunk-*-trace.csv")
    per_window = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                start, rate = line.split(",")[:2]
                count = float(rate) * SERVEGEN_WINDOW_S
                if abs(count - round(count)) > 1e-6:
                    sys.exit(f"{path}: rate {rate} at {start} is not a whole count per window")
                per_window[int(start)] = per_window.get(int(start), 0) + round(count)
    first, last = min(per_window), max(per_window)
    return first, [per_window.get(t, 0) for t in range(first, last + 1, SERVEGEN_WINDOW_S)]


def servegen_start(offset_s):
    """The timestamp of a ServeGen window (the source publishes no dates)."""
    import datetime

    return datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=offset_s)


def servegen_traces(checkout, folder):
    """Writes the `--servegen` set's CSVs into `folder` (rule in the module docs)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for model in SERVEGEN_MODELS:
        first, counts = servegen_counts(checkout, "--servegen", "language", model)
        for b in range(len(counts) // SERVEGEN_BLOCK):
            t0 = servegen_start(first + b * SERVEGEN_BLOCK * SERVEGEN_WINDOW_S)
            path = os.path.join(folder, f"servegen_{model}_week{b + 1}.csv")
            rows = counts[b * SERVEGEN_BLOCK : (b + 1) * SERVEGEN_BLOCK]
            write_trace(path, t0, SERVEGEN_WINDOW_S, rows)
            paths.append(path)
    return paths


def servegen_day_traces(checkout, folder):
    """Writes the `--servegen-day` set's CSVs into `folder` (rule in the module docs)."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for category, model in SERVEGEN_DAY_MODELS:
        first, counts = servegen_counts(checkout, "--servegen-day", category, model)
        path = os.path.join(folder, f"servegen_{model}_day.csv")
        write_trace(path, servegen_start(first), SERVEGEN_WINDOW_S, counts)
        paths.append(path)
    return paths


def azure_lmm_traces(checkout, folder):
    """Writes the `--azure-lmm` set's CSVs into `folder` (rule in the module docs)."""
    import csv
    import datetime

    os.makedirs(folder, exist_ok=True)
    per_minute = {}
    with open(os.path.join(checkout, AZURE_LMM_SOURCE), encoding="utf-8", newline="") as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            t = datetime.datetime.strptime(row["timestamp"], "%Y-%m-%dT%H:%MZ")
            per_minute[t] = per_minute.get(t, 0) + int(row["requests"])
    first = min(per_minute)
    bins = {int((t - first).total_seconds()) // 60: c for t, c in per_minute.items()}
    counts = [bins.get(b, 0) for b in range(max(bins) + 1)]
    paths = []
    for d in range(len(counts) // AZURE_LMM_DAY):
        t0 = first + datetime.timedelta(minutes=d * AZURE_LMM_DAY)
        path = os.path.join(folder, f"azure_lmm_day{d + 1}.csv")
        write_trace(path, t0, 60, counts[d * AZURE_LMM_DAY : (d + 1) * AZURE_LMM_DAY])
        paths.append(path)
    return paths


# The session-18 held-out set (`--sdsc`).
SDSC_SOURCE = "resources/sdsc-http.txt"
SDSC_BIN_S = 10
SDSC_QUARTER_BINS = 6 * 3600 // SDSC_BIN_S
SDSC_TIME = (
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +"
    r"(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})"
)


def sdsc_traces(checkout, folder):
    """Writes the `--sdsc` set's CSVs into `folder` (rule in the module docs)."""
    import datetime
    import re

    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    pdt = datetime.timezone(datetime.timedelta(hours=-7))
    day = datetime.datetime(1995, 8, 22, tzinfo=pdt)
    counts = [0] * (4 * SDSC_QUARTER_BINS)
    dropped = 0
    pattern = re.compile(SDSC_TIME)
    with open(os.path.join(checkout, SDSC_SOURCE), encoding="latin-1") as f:
        for line in f:
            if not line.strip():
                continue
            m = pattern.search(line)
            if m is None:
                dropped += 1
                continue
            _, mon, dd, hh, mi, ss, yyyy = m.groups()
            t = datetime.datetime(
                int(yyyy), months.index(mon) + 1, int(dd), int(hh), int(mi), int(ss), tzinfo=pdt
            )
            b = int((t - day).total_seconds()) // SDSC_BIN_S
            if 0 <= b < len(counts):
                counts[b] += 1
            else:
                dropped += 1
    if dropped:
        print(f"--sdsc: {dropped} lines without a timestamp on the day dropped", file=sys.stderr)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for q in range(4):
        t0 = (day + datetime.timedelta(hours=6 * q)).astimezone(datetime.timezone.utc)
        path = os.path.join(folder, f"sdsc_http_h{6 * q:02d}.csv")
        rows = counts[q * SDSC_QUARTER_BINS : (q + 1) * SDSC_QUARTER_BINS]
        write_trace(path, t0.replace(tzinfo=None), SDSC_BIN_S, rows)
        paths.append(path)
    return paths


# The sets converted from a checkout: (label, --flag's attribute, converter), in table order.
CONVERTED = [
    ("web", "web", web_traces),
    ("Azure LLM", "azure_llm", azure_llm_traces),
    ("Mooncake", "mooncake", mooncake_traces),
    ("World Cup 98", "worldcup", worldcup_traces),
    ("ServeGen (Bailian)", "servegen", servegen_traces),
    ("Azure LMM 2024", "azure_lmm", azure_lmm_traces),
    ("SDSC-HTTP", "sdsc", sdsc_traces),
    ("ServeGen reasoning and multimodal", "servegen_day", servegen_day_traces),
]

REVERSAL_BOUND = 1.25
POLICIES = ("hpa", "predictive")


def simulate(binary, trace, policy, out, config=None):
    """Runs one simulation (with `--config config` if given) and returns its summary.json."""
    folder = os.path.join(out, f"{os.path.splitext(os.path.basename(trace))[0]}-{policy}")
    extra = ["--config", config] if config else []
    done = subprocess.run(
        [binary, "simulate", "--trace", trace, "--policy", policy, "--out", folder, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"echoflow simulate failed on {trace} ({policy}):\n{done.stderr}")
    with open(os.path.join(folder, "summary.json"), encoding="utf-8") as f:
        return json.load(f)


def ratio(a, b):
    """a / b, with 0 / 0 = 1 and x / 0 = inf."""
    if b == 0:
        return 1.0 if a == 0 else float("inf")
    return a / b


def dominates(p, h):
    """The goal's test on totals p (predictive) and h (hpa)."""
    v, hv = p["slo_violation_minutes"], h["slo_violation_minutes"]
    r, hr = p["replica_minutes_above_min"], h["replica_minutes_above_min"]
    no_worse = v <= hv and r <= hr
    strictly = v < hv or r < hr
    return no_worse and strictly and p["reversals"] <= REVERSAL_BOUND * h["reversals"]


def groups(args):
    """The trace sets asked for, in a fixed order: (label, trace paths)."""
    out = []
    if args.traces:
        out.append(
            (
                f"traces {args.traces}",
                sorted(
                    os.path.join(args.traces, f)
                    for f in os.listdir(args.traces)
                    if f.endswith(".csv")
                ),
            )
        )
    if args.nab:
        for name in args.set.split(","):
            if name not in SETS:
                sys.exit(f"--set {name!r}: allowed are {', '.join(sorted(SETS))}")
            out.append((f"NAB {name}", [os.path.join(args.nab, "data", p) for p in SETS[name]]))
    for label, attr, convert in CONVERTED:
        checkout = getattr(args, attr)
        if checkout:
            out.append((label, convert(checkout, os.path.join(args.out, "traces"))))
    return out


def run_group(pool, binary, traces, out, config):
    """Prints one set's table; returns (traces dominated, sums per policy, per-trace records).
    The simulations run on `pool`; the table comes out in trace order whatever finishes first."""
    keys = ["slo_violation_minutes", "replica_minutes_above_min", "reversals"]
    total = {pol: dict.fromkeys(keys, 0.0) for pol in POLICIES}
    wins = 0
    records = []
    print("| trace | violation min p / h | replica-min above floor p / h | reversals p / h | dominates |")
    print("|---|---:|---:|---:|---|")
    runs = [
        (t, {pol: pool.submit(simulate, binary, t, pol, out, config) for pol in POLICIES})
        for t in traces
    ]
    for t, futures in runs:
        s = {pol: f.result() for pol, f in futures.items()}
        for pol in s:
            for k in keys:
                total[pol][k] += s[pol][k]
        p, h = s["predictive"], s["hpa"]
        d = dominates(p, h)
        wins += d
        name = os.path.splitext(os.path.basename(t))[0]
        records.append(
            {
                "trace": name,
                "predictive": {k: p[k] for k in keys},
                "hpa": {k: h[k] for k in keys},
                "dominates": d,
            }
        )
        print(
            f"| {name} | {p['slo_violation_minutes']} / {h['slo_violation_minutes']} "
            f"= {ratio(p['slo_violation_minutes'], h['slo_violation_minutes']):.3f} "
            f"| {p['replica_minutes_above_min']:.0f} / {h['replica_minutes_above_min']:.0f} "
            f"= {ratio(p['replica_minutes_above_min'], h['replica_minutes_above_min']):.3f} "
            f"| {p['reversals']} / {h['reversals']} = {ratio(p['reversals'], h['reversals']):.2f} "
            f"| {'yes' if d else '**no**'} |",
            flush=True,
        )
    p, h = total["predictive"], total["hpa"]
    sums = " / ".join(f"{ratio(p[k], h[k]):.3f}" for k in keys)
    print(
        f"| **sum over {len(traces)} traces** "
        + "".join(f"| {ratio(p[k], h[k]):.3f} " for k in keys)
        + f"| {wins} of {len(traces)} |"
    )
    return wins, sums, records


def run_setting(pool, args, sets, config, out):
    """Runs every set with one `--config` (or none); prints the tables and returns the
    setting's record: per set, the traces dominated and each trace's figures."""
    if config:
        print(f"\n## setting {config}\n")
    summary = []
    for label, traces in sets:
        if len(sets) > 1:
            print(f"\n### {label} ({len(traces)} traces)\n")
        wins, sums, records = run_group(pool, args.bin, traces, out, config)
        summary.append({"set": label, "dominated": wins, "traces": records, "sums": sums})
    if len(sets) > 1:
        print("\n| set | dominated | sums: violation / replica-min above floor / reversals, p ÷ h |")
        print("|---|---:|---|")
        for g in summary:
            print(f"| {g['set']} | {g['dominated']} of {len(g['traces'])} | {g['sums']} |")
        total_wins = sum(g["dominated"] for g in summary)
        total_n = sum(len(g["traces"]) for g in summary)
        print(f"| **all** | **{total_wins} of {total_n}** | |")
    return {"config": config, "sets": summary}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default="target/release/echoflow", help="the echoflow binary")
    ap.add_argument("--traces", help="a directory of timestamp,value CSV traces")
    ap.add_argument("--nab", help="a checkout of numenta/NAB; reads the set(s) named by --set")
    ap.add_argument("--web", help="a checkout of web-service-datasets; the session-6 set")
    ap.add_argument("--azure-llm", help="a checkout of Azure/AzurePublicDataset; the session-10 set")
    ap.add_argument("--mooncake", help="a checkout of kvcache-ai/Mooncake; the session-12 set")
    ap.add_argument("--worldcup", help="a checkout of worldcup98-dataset; the session-15 set")
    ap.add_argument("--servegen", help="a checkout of alibaba/ServeGen; a session-17 set")
    ap.add_argument("--azure-lmm", help="a checkout of Azure/realtimevideogen; a session-17 set")
    ap.add_argument("--sdsc", help="a checkout of ryankemper/HTTPParser; the session-18 set")
    ap.add_argument("--servegen-day", help="a checkout of alibaba/ServeGen; the session-19 set")
    ap.add_argument(
        "--set",
        default="held_out",
        help=f"the NAB set(s) for --nab, comma-separated: {', '.join(sorted(SETS))}",
    )
    ap.add_argument("--out", default="sim-holdout", help="where the simulate outputs go")
    ap.add_argument(
        "--config",
        action="append",
        help="a pipeline.toml for both policies (e.g. autoscaler.early_scale_down = false); "
        "repeat it to run several settings one after another (benches/autoscale_settings/), "
        "each into its own folder under --out, with a table of all of them at the end",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="simulations run at once (default: the CPUs); the figures do not depend on it",
    )
    ap.add_argument(
        "--json",
        help="also write every setting's per-trace figures and verdicts to this file "
        "(compare two with benches/autoscale_compare.py)",
    )
    args = ap.parse_args()
    sources = ["traces", "nab"] + [attr for _, attr, _ in CONVERTED]
    if not any(getattr(args, s) for s in sources):
        flags = ", ".join("--" + s.replace("_", "-") for s in sources)
        ap.error(f"give at least one of {flags}")
    if not (os.path.isfile(args.bin) and os.access(args.bin, os.X_OK)):
        sys.exit(f"{args.bin} is not an executable: build it with cargo build --release")
    configs = args.config or [None]
    unreadable = [c for c in configs if c and not os.path.isfile(c)]
    if unreadable:
        sys.exit(f"--config: no such file: {unreadable}")
    sets = groups(args)
    missing = [t for _, traces in sets for t in traces if not os.path.isfile(t)]
    if missing:
        sys.exit(f"missing traces: {missing}")

    if args.jobs < 1:
        sys.exit(f"--jobs {args.jobs}: at least 1")
    settings = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for config in configs:
            out = args.out
            if len(configs) > 1:
                out = os.path.join(args.out, os.path.splitext(os.path.basename(config))[0])
            settings.append(run_setting(pool, args, sets, config, out))
    if len(configs) > 1:
        labels = [label for label, _ in sets]
        print("\n| setting | " + " | ".join(labels) + " | all |")
        print("|---|" + "---:|" * (len(labels) + 1))
        for st in settings:
            cells = [f"{g['dominated']} of {len(g['traces'])}" for g in st["sets"]]
            total = sum(g["dominated"] for g in st["sets"])
            n = sum(len(g["traces"]) for g in st["sets"])
            name = os.path.splitext(os.path.basename(st["config"]))[0]
            print(f"| {name} | " + " | ".join(cells) + f" | **{total} of {n}** |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"binary": args.bin, "settings": settings}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
