"""Typed schema of every config node; Hydra validates YAML and overrides against it.

These dataclasses are registered in Hydra's ConfigStore (see `tg.config.compose`), so an unknown
key or a wrong type fails composition. Value rules that a type cannot express live in
`tg.config.validate`.
"""

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any


class Node:
    """Base of every config node: `__init__` (keywords only), equality and repr written once here. `@dataclass`
    would generate and compile all three for each of the 17 node classes, ~20 ms of `tg health`'s 80 ms budget;
    each node stays a dataclass (`fields()`, Hydra's structured config) with `init=False, repr=False, eq=False`."""

    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value, as a dataclass with eq=True

    def __init__(self, **values: Any) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            if f.name in values:
                value = values.pop(f.name)
            elif f.default is not MISSING:
                value = f.default
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            else:
                raise TypeError(f"{type(self).__name__}() missing the value of {f.name!r}")
            setattr(self, f.name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() got unexpected keywords {sorted(values)}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(self))  # type: ignore[arg-type]

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({shown})"


class Mode(StrEnum):
    """Operating mode label. Neither mode can trade: execution does not exist in tg."""

    simulation = "simulation"
    live = "live"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@dataclass(init=False, repr=False, eq=False)
class PathsConfig(Node):
    """Runtime directories; relative values are relative to `root` (itself relative to the cwd)."""

    root: str = "."
    data: str = "data_storage"
    models: str = "models_saved"
    logs: str = "logs"
    cache: str = "cache"
    audit: str = "audit"
    backups: str = "backups"


@dataclass(init=False, repr=False, eq=False)
class LoggingConfig(Node):
    level: LogLevel = LogLevel.INFO
    file: str = "trading.log"
    max_bytes: int = 10 * 1024 * 1024
    backup_count: int = 7
    retention_days: int = 30


@dataclass(init=False, repr=False, eq=False)
class AuditConfig(Node):
    enabled: bool = True
    file: str = "audit.jsonl"


@dataclass(init=False, repr=False, eq=False)
class ServeConfig(Node):
    """The `tg serve` metrics/dashboard server. `api_key` is a secret: never printed."""

    # `tg serve` refuses to start while this is false (TRADING_METRICS_ENABLED)
    metrics_enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    # granian (Rust HTTP layer, the faster; see tg/server/run.py) or uvicorn
    http_server: str = "granian"
    # required on /api/v1/* and / when set (header X-API-Key or Authorization: Bearer), and for
    # /metrics from other hosts; binding beyond loopback without it is refused
    api_key: str = ""
    # /api/v1/predict answers are reused for this long (the playbook's 5-second cache)
    predict_cache_s: float = 5.0
    # /metrics is rendered at most once per this many seconds (0: on every scrape)
    metrics_cache_s: float = 1.0
    # connections served at once; more are answered 503
    max_connections: int = 1024
    # requests whose header block is larger are answered 431
    max_header_bytes: int = 16384
    # on SIGTERM/SIGINT, in-flight requests get this long to finish
    graceful_timeout_s: float = 10.0
    # one log line per request in logs/trading.log (off: the metrics count every request)
    access_log: bool = False
    # how often readiness re-examines the model files and the config tree (changed files are
    # re-hashed; unchanged ones are known by size, mtime and ctime)
    readiness_interval_s: float = 1.0
    # predictions kept for the dashboard
    recent_predictions: int = 20


@dataclass(init=False, repr=False, eq=False)
class DeployConfig(Node):
    """Where `tg serve` runs for `tg deploy` and `invoke deploy` (`deploy=local|systemd`)."""

    # the option chosen (deploy=local|systemd), set from Hydra's choice
    target: str = "local"
    # the class that starts, stops and reports the server (`configured(loaded, overrides)`), built by tg.config.parts
    _target_: str = ""
    # local: the pid file of the background tg serve (under paths.cache) and its output (under paths.logs)
    pid_file: str = "tg-serve.pid"
    out_file: str = "serve.out"
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 20.0
    # invoke deploy waits this long for /readyz before rolling back
    ready_timeout_s: float = 60.0
    # systemd: the unit name, the account it runs as (empty: whoever renders it) and its env file
    unit: str = "trading-graph"
    user: str = ""
    env_file: str = ".env"
    # invoke deploy: how the checked-out code is installed ({python}: the running interpreter; empty: skip)
    install: str = "{python} -m pip install -q -e ."


@dataclass(init=False, repr=False, eq=False)
class RecoveryConfig(Node):
    """Recovery metrics (`tg.ops.recovery`): outcomes of fetch, predict, train… under `logs/recovery/`."""

    retention_hours: float = 24.0
    # a long-running process (tg serve) writes at most once per interval; commands write at exit
    flush_interval_s: float = 5.0
    # get_health(): unhealthy when an operation failed more than this many times in a row
    max_consecutive_failures: int = 3
    # get_health(): degraded / unhealthy below these success rates over the retention window
    degraded_below: float = 0.95
    unhealthy_below: float = 0.5


@dataclass(init=False, repr=False, eq=False)
class NetworkConfig(Node):
    """How remote sources are reached (`network=auto|china_direct|vpn`)."""

    mode: str = "auto"  # auto | china_direct | vpn
    # every request goes through this proxy in vpn mode; a secret (credentials are masked)
    proxy_url: str = ""
    timeout_s: float = 5.0
    # one data request (every source, retry and backoff of the failover chain) gives up after this long
    deadline_s: float = 20.0
    # after this long without an answer, stderr says what the command is waiting for
    notice_after_s: float = 2.0
    retries: int = 1
    backoff_s: float = 0.2
    # a source is skipped for `breaker_reset_s` after `breaker_failures` consecutive failures
    breaker_failures: int = 3
    breaker_reset_s: float = 30.0
    # auto mode: probe timeout, and how long the verdict is cached (in cache/network_mode.json)
    probe_timeout_s: float = 2.0
    probe_ttl_s: float = 600.0


@dataclass(init=False, repr=False, eq=False)
class EndpointsConfig(Node):
    tencent_quote: str = "https://qt.gtimg.cn/q="
    tencent_kline: str = "https://web.ifzq.gtimg.cn/appstock/app/fqkline/get"
    sina_quote: str = "https://hq.sinajs.cn/list="
    sina_kline: str = "https://money.finance.sina.com.cn/quotes_service/api/json_v2.php/CN_MarketData.getKLineData"
    eastmoney_quote: str = "https://push2.eastmoney.com/api/qt/stock/get"
    eastmoney_kline: str = "https://push2his.eastmoney.com/api/qt/stock/kline/get"


@dataclass(init=False, repr=False, eq=False)
class SourceConfig(Node):
    """Which sources, in which order (`source=default|local|remote|tencent|sina|eastmoney`)."""

    name: str = "default"
    order: list[str] = field(default_factory=lambda: ["local", "tencent", "eastmoney", "sina"])
    # moved to the front of `order` when set (TRADING_PRIMARY_SOURCE)
    primary: str = ""
    adjustment: str = "qfq"  # none | qfq | hfq
    # Qlib-layout directory of the local source; empty = the embedded subset
    local_root: str = ""
    endpoints: EndpointsConfig = field(default_factory=EndpointsConfig)
    # {name: node}: the sources `order` may name, each a node of source/parts/ (`_target_`: its class under tg.,
    # then the arguments of the class's `configured`), built by tg.config.parts
    parts: dict[str, Any] = field(default_factory=dict)


@dataclass(init=False, repr=False, eq=False)
class CacheConfig(Node):
    """In-process LRU (`cache=memory`) or a Redis server (`cache=redis`)."""

    backend: str = "memory"  # memory | redis
    memory_max_mb: int = 256
    ttl_s: float = 300.0
    redis_url: str = "redis://127.0.0.1:6379/0"


@dataclass(init=False, repr=False, eq=False)
class ProfileConfig(Node):
    """Health gates and readiness controls (`profile=default|strict|quick`)."""

    name: str = "default"
    # degraded health exits 1 when true
    fail_on_degraded: bool = False
    # doctor sections whose failure fails the doctor (exit 1)
    doctor_required: list[str] = field(default_factory=lambda: ["dependencies", "config", "paths"])
    # institutional-readiness controls that must pass for `institutional_readiness.pass`
    readiness_required: list[str] = field(default_factory=list)
    # recompute sha256 of every model artifact (false: presence and manifest shape only)
    verify_checksums: bool = True
    # newest snapshot in backups/ must be younger than this (control recent_snapshot)
    snapshot_max_age_hours: float = 168.0
    # readiness (tg serve /readyz): the data may lag the last closed session by at most this many
    # sessions; 0 = not gated (the lag is still reported)
    max_data_lag_sessions: int = 0
    required_packages: list[str] = field(default_factory=list)
    optional_packages: list[str] = field(default_factory=list)


@dataclass(init=False, repr=False, eq=False)
class UpdateConfig(Node):
    """`tg data update`: newer days of the universe fetched into the extension store."""

    # symbols fetched at once
    concurrency: int = 8
    # requests per second sent to one source, at most (politeness towards the public APIs)
    rate_per_source: float = 20.0
    # a whole run gives up on what is left after this long (each request has network.timeout_s)
    deadline_s: float = 900.0


@dataclass(init=False, repr=False, eq=False)
class DataConfig(Node):
    """What the models train and evaluate on (`data=default`): a Qlib-layout directory and a universe."""

    # Qlib-layout directory; empty = the embedded subset shipped with tg
    root: str = ""
    # read the newer days `tg data update` stored (paths.data/extension) after the directory's own
    extend: bool = True
    # "all" / "csi300" (an instruments file of `root`) or a list of symbols: [600519, 000858]
    universe: Any = "all"
    start: str = "2010-01-01"
    # empty = the last date in the data
    end: str = ""
    # train/evaluate on one part of the universe: shard i of n_shards (sorted symbols, every n-th one);
    # n_shards 1 = the whole universe. `tg sweep train data.shard='range(0,4)' data.n_shards=4`
    shard: int = 0
    n_shards: int = 1


@dataclass(init=False, repr=False, eq=False)
class ModelConfig(Node):
    """The model (`model=ensemble`): members, horizon, label band and member sizes."""

    name: str = "ensemble"
    # {name: node}: each member is a config node of model/members/ (`_target_`: its class under tg., then the
    # class's arguments), chosen with `model/members=[gbm,linear]` and built by tg.config.parts
    members: dict[str, Any] = field(default_factory=dict)
    horizon: int = 5
    # the ranking target is the h-day return starting this many sessions after the forecast date:
    # 1 is the return a portfolio that trades at the next close earns (Qlib's label); 0 starts today.
    # Chosen on the validation years (research/NOTES.md): 1 raised TopK(50,5) excess 20.4 -> 22.6 %/yr
    target_lag: int = 1
    # the ranking target's length in sessions (0: the forecast horizon); the forecast stays `horizon` days
    target_horizon: int = 0
    # how the target is scaled per date: rank (onto [-1, 1]) or zscore (Qlib's CSZScoreNorm: the tails weigh
    # more); zscore raised validation TopK excess and IC (research/NOTES.md)
    target_norm: str = "zscore"
    # flat class: |forward return| < band_k × trailing daily volatility × sqrt(horizon)
    band_k: float = 0.4
    vol_window: int = 20


@dataclass(init=False, repr=False, eq=False)
class TrainConfig(Node):
    """Training run (`train=default`): seed, epochs and the date splits (ends inclusive)."""

    seed: int = 0
    epochs: int = 8
    # training labels end before valid starts (purged by the horizon)
    train_end: str = "2021-12-31"
    # early stopping and ensemble weights
    valid_end: str = "2022-12-31"
    # probability calibration, return scale and forecaster (neither training nor early stopping)
    calib_end: str = "2023-12-31"
    # rows sampled per epoch for the GRU, and at most this many training rows for every member
    rows_per_epoch: int = 200000
    max_train_rows: int = 300000
    # LightGBM threads
    threads: int = 2
    # torch threads for the GRU: with 2, OpenMP spin-waits make training ~10x slower whenever
    # another process holds the other core, for little gain on an idle machine
    torch_threads: int = 1
    # saved model versions kept in paths.models (the current and the previous one are never pruned)
    keep_versions: int = 5


@dataclass(init=False, repr=False, eq=False)
class EvalConfig(Node):
    """`tg evaluate` (`eval=default`): window, top-k backtest and costs, report directory."""

    start: str = "2024-01-02"
    end: str = "2025-10-31"
    # TopkDropout, Qlib's rules (tg.models.backtest): hold `top_k` names (a number, or a fraction of the universe
    # when < 1), replace at most `drop` a day (a number, or a fraction of k when < 1). A universe under 5 x top_k
    # names uses 10 % of it instead, said in the report.
    top_k: float = 50
    drop: float = 5
    risk_degree: float = 0.95  # the share of cash each day's buys use
    limit_threshold: float = 0.095  # a close move this large either way blocks trading the name that day
    annual_days: int = 238  # Qlib's annualisation of daily figures
    buy_cost: float = 0.0005
    sell_cost: float = 0.0015
    # relative to paths.root; each run writes <output>/<model version>_<start>_<end>/
    output: str = "reports"
    # retrain before each calendar year of the window instead of evaluating the current model
    walk_forward: bool = False


@dataclass(init=False, repr=False, eq=False)
class AppConfig(Node):
    """The root node composed from `conf/config.yaml`."""

    mode: Mode = Mode.simulation
    # tg contains no execution engine; setting this true only fails the readiness control
    execution_enabled: bool = False
    paths: PathsConfig = field(default_factory=PathsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    recovery: RecoveryConfig = field(default_factory=RecoveryConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    profile: ProfileConfig = field(default_factory=ProfileConfig)
    data: DataConfig = field(default_factory=DataConfig)
    update: UpdateConfig = field(default_factory=UpdateConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


NETWORK_MODES = ("auto", "china_direct", "vpn")

# Names a profile may list; the checks in `tg.checks` implement exactly these.
DOCTOR_SECTIONS = ("dependencies", "config", "paths", "models", "data", "leftovers", "institutional_readiness")
READINESS_CONTROLS = (
    "execution_disabled",
    "audit_log",
    "model_checksums",
    "log_rotation",
    "metrics_exposure",
    "no_credentials_in_config",
    "recent_snapshot",
)
