"""The `tg` Typer app: parse, compose config, call one command (`tg.main` is the console script, which runs a
plain `tg health` without Typer).

Trailing arguments of every command are Hydra overrides (`tg health profile=strict`). Exceptions become exit
codes in `tg.invocation` (Typer's parser errors here), nowhere else (see `tg.errors`).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from tg.errors import EXIT_INTERRUPTED, EXIT_USAGE, TgError
from tg.invocation import emit, exit_with, fail, load, load_for_diagnosis

log = logging.getLogger("tg")
F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="tg",
    help="Operations toolkit of Trading Graph (analysis only: no trading execution exists).\n\n"
    "Trailing KEY=VALUE arguments of every command are Hydra config overrides.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Inspect the composed configuration.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only, hash-chained audit log.", no_args_is_help=True)
app.add_typer(config_app, name="config")
data_app = typer.Typer(help="Market data: daily bars and quotes through the source chain.", no_args_is_help=True)
snapshot_app = typer.Typer(help="Backups: create, list, verify, prune and restore snapshots.", no_args_is_help=True)
metrics_app = typer.Typer(help="Recovery metrics: outcomes of fetch, predict, train…", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(data_app, name="data")
app.add_typer(metrics_app, name="metrics")
app.add_typer(snapshot_app, name="snapshot")


def _show_version(value: bool) -> None:
    if value:
        from tg.version import version_text

        sys.stdout.write(version_text())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_show_version, help="Show tg's version, commit and libraries."
        ),
    ] = False,
) -> None:
    """Operations toolkit of Trading Graph (analysis only: no trading execution exists)."""


Overrides = Annotated[list[str] | None, typer.Argument(help="Hydra overrides, e.g. profile=strict", show_default=False)]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")]


def _mapped(func: F) -> F:
    """Turn expected failures (`TgError`) into one stderr line and their exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TgError as exc:
            log.debug("%s failed", func.__name__, exc_info=True)
            fail(str(exc), exc)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _done(result: Any, as_json: bool) -> NoReturn:
    """Print the result, then exit with its `exit_code` (the end of every command with a verdict)."""
    raise typer.Exit(emit(result, as_json))


@app.command()
@_mapped
def health(overrides: Overrides = None, as_json: JsonFlag = False) -> None:
    """Fast health verdict: exit 0 healthy (or degraded), 1 unhealthy (degraded too under profile=strict)."""
    from tg.main import health_code

    raise typer.Exit(health_code(overrides or [], as_json))


@app.command()
@_mapped
def doctor(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    fix: Annotated[bool, typer.Option("--fix", help="Create missing directories (and say so).")] = False,
) -> None:
    """Full diagnostics; the profile decides which sections fail the run (profile=strict: all)."""
    from tg.commands.doctor import run_doctor

    loaded, error = load_for_diagnosis(overrides, "doctor")
    report = run_doctor(loaded, error, fix=fix)
    _done(report, as_json)


@config_app.command("show")
@_mapped
def config_show(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    resolve: Annotated[bool, typer.Option("--resolve", help="Resolve ${...} interpolations.")] = False,
) -> None:
    """Print the composed configuration (YAML, or JSON with --json); secrets are masked."""
    from tg.commands.config_show import run_config_show

    loaded = load(overrides, command="config show")
    emit(run_config_show(loaded, overrides or [], resolve), as_json)


@audit_app.command("verify")
@_mapped
def audit_verify(overrides: Overrides = None, as_json: JsonFlag = False) -> None:
    """Verify the hash chain; exit 1 naming the first broken line."""
    from tg.commands.audit import run_audit_verify

    verdict = run_audit_verify(load(overrides, command="audit verify"))
    _done(verdict, as_json)


@data_app.command("fetch")
@_mapped
def data_fetch(
    symbol: Annotated[str, typer.Argument(help="600519, sh600519, 600519.SH, 1.600519, SH000300 …")],
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    start: Annotated[str | None, typer.Option("--start", help="first date, YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option("--end", help="last date, YYYY-MM-DD")] = None,
) -> None:
    """Daily bars of SYMBOL from the first source that has them (validated; exit 1 if none can)."""
    from tg.commands.data import run_fetch

    emit(run_fetch(load(overrides, command="data fetch", creates_dirs=True, records=True), symbol, start, end), as_json)


@data_app.command("update")
@_mapped
def data_update(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    universe: Annotated[
        str | None,
        typer.Option(
            "--universe", help="model (default: the current model's), all, an instruments file, or 600519,000858"
        ),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="re-fetch the days after this date, YYYY-MM-DD")] = None,
    through: Annotated[
        str | None, typer.Option("--through", help="last day to fetch (default: the last closed session)")
    ] = None,
) -> None:
    """Fetch the days each symbol of the universe is missing and stitch them onto the data (exit 1 if some failed)."""
    from tg.commands.data_update import run_update

    loaded = load(overrides, command="data update", creates_dirs=True, records=True)
    result = run_update(loaded, universe, since, through, sys.stderr.isatty())
    _done(result, as_json)


@data_app.command("quote")
@_mapped
def data_quote(
    symbol: Annotated[str, typer.Argument(help="600519, sh600519, 600519.SH …")],
    overrides: Overrides = None,
    as_json: JsonFlag = False,
) -> None:
    """Latest quote of SYMBOL (the local source answers with its last bar)."""
    from tg.commands.data import run_quote

    emit(run_quote(load(overrides, command="data quote", creates_dirs=True), symbol), as_json)


@app.command()
@_mapped
def diagnose(overrides: Overrides = None, as_json: JsonFlag = False) -> None:
    """Network diagnostics: DNS, connect, HTTP per endpoint, proxy; exit 1 if no remote source answers."""
    from tg.commands.diagnose import run_diagnose

    result = run_diagnose(load(overrides, command="diagnose"))
    _done(result, as_json)


@app.command()
@_mapped
def train(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")] = True,
) -> None:
    """Train the ensemble (data.*, model.*, train.* overrides), evaluate the held-out dates, switch to it."""
    from tg.commands.train import run_train

    loaded = load(overrides, command="train", creates_dirs=True, records=True)
    emit(run_train(loaded, progress and sys.stderr.isatty()), as_json)


@app.command()
@_mapped
def predict(
    symbol: Annotated[str, typer.Argument(help="600519, sh600519, 600519.SH …")],
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="predict as of this date (YYYY-MM-DD)")] = None,
) -> None:
    """Calibrated up/flat/down probabilities and a q10/q50/q90 forecast band for SYMBOL (analysis only)."""
    from tg.commands.predict import run_predict

    emit(run_predict(load(overrides, command="predict", records=True), symbol, as_of), as_json)


@app.command()
@_mapped
def evaluate(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    model_dir: Annotated[
        str | None, typer.Option("--model-dir", help="models directory to evaluate (default paths.models)")
    ] = None,
) -> None:
    """Evaluate the model (or eval.walk_forward=true folds) on eval.start..eval.end beside baselines."""
    from tg.commands.evaluate import run_evaluate

    loaded = load(overrides, command="evaluate", creates_dirs=True, records=True)
    emit(run_evaluate(loaded, model_dir, show_progress=sys.stderr.isatty()), as_json)


class SweptCommand(StrEnum):
    train = "train"
    evaluate = "evaluate"


class SweepLauncher(StrEnum):
    basic = "basic"
    joblib = "joblib"
    ray = "ray"


@app.command()
@_mapped
def sweep(
    command: Annotated[SweptCommand, typer.Argument(help="train | evaluate")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Hydra overrides and sweeps: train.seed=0,1,2 model=ensemble,fast", show_default=False),
    ] = None,
    as_json: JsonFlag = False,
    launcher: Annotated[
        SweepLauncher | None,
        typer.Option("--launcher", help="basic (one job after another), joblib (local processes), ray (Ray tasks)"),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="join this Ray cluster (auto, HOST:PORT); implies --launcher ray")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="compose and validate every job, run none")] = False,
) -> None:
    """Run `tg train` / `tg evaluate` once per point of a Hydra sweep; exit 1 if a job failed."""
    from functools import partial

    from tg.commands.evaluate import run_evaluate
    from tg.commands.sweep import run_sweep, shared_overrides
    from tg.commands.train import run_train

    loaded = load(shared_overrides(overrides or []), command="sweep", creates_dirs=True)
    # each job runs what the command itself runs
    jobs: dict[str, Callable[..., Any]] = {"train": run_train, "evaluate": partial(run_evaluate, model_dir=None)}
    name = launcher.value if launcher else None
    _done(run_sweep(loaded, command.value, jobs[command.value], overrides or [], name, address, dry_run), as_json)


@app.command()
@_mapped
def serve(overrides: Overrides = None) -> None:
    """Serve /healthz, /readyz, /metrics, the API and the dashboard in the foreground (SIGTERM stops it)."""
    from tg.commands.serve import run_serve

    raise typer.Exit(run_serve(load(overrides, command="serve", creates_dirs=True), overrides or []))


@app.command()
@_mapped
def deploy(
    action: Annotated[str, typer.Argument(help="start | stop | restart | status | unit")],
    overrides: Overrides = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the server where `deploy=local|systemd` says: start/stop/restart/status, or print the systemd unit."""
    from tg.commands.deploy import run_deploy

    result = run_deploy(load(overrides, command="deploy", creates_dirs=True), action, overrides or [])
    _done(result, as_json)


SnapshotDir = Annotated[str | None, typer.Option("--snapshot-dir", help="default: paths.backups (backups/)")]


@snapshot_app.command("create")
@_mapped
def snapshot_create(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    directory: SnapshotDir = None,
    tag: Annotated[str | None, typer.Option("--tag", help="default: UTC time + short commit")] = None,
    configs: Annotated[bool, typer.Option("--include-configs", help="conf/ and .env (secrets masked)")] = False,
    models: Annotated[bool, typer.Option("--include-models", help="the saved models")] = False,
    data: Annotated[bool, typer.Option("--include-data", help="data_storage/ (bar stores, extension)")] = False,
) -> None:
    """Archive the audit log (and configs, models, data on request) as backups/snapshot_<tag>.tar.gz."""
    from tg.commands.snapshot import run_create

    loaded = load(overrides, command="snapshot create", creates_dirs=True)
    emit(run_create(loaded, directory, tag, configs, models, data), as_json)


@snapshot_app.command("list")
@_mapped
def snapshot_list(overrides: Overrides = None, as_json: JsonFlag = False, directory: SnapshotDir = None) -> None:
    """Every snapshot, newest first: tag, created, size, contents, verified."""
    from tg.commands.snapshot import run_list

    emit(run_list(load(overrides, command="snapshot list"), directory), as_json)


@snapshot_app.command("verify")
@_mapped
def snapshot_verify(
    archive: Annotated[str, typer.Argument(help="backups/snapshot_<tag>.tar.gz")],
    overrides: Overrides = None,
    as_json: JsonFlag = False,
) -> None:
    """Check an archive completely (every member's sha256, nothing hostile); exit 1 naming the problem."""
    from tg.commands.snapshot import run_verify

    emit(run_verify(load(overrides, command="snapshot verify"), archive), as_json)


@snapshot_app.command("prune")
@_mapped
def snapshot_prune(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    directory: SnapshotDir = None,
    keep: Annotated[int, typer.Option("--keep", help="how many of the newest to keep")] = 10,
) -> None:
    """Delete all but the newest --keep snapshots."""
    from tg.commands.snapshot import run_prune

    emit(run_prune(load(overrides, command="snapshot prune"), directory, keep), as_json)


@snapshot_app.command("restore")
@_mapped
def snapshot_restore(
    archive: Annotated[str, typer.Option("--archive", help="backups/snapshot_<tag>.tar.gz")],
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be added, changed, removed")] = False,
    confirm: Annotated[bool, typer.Option("--confirm", help="verify, keep a pre-restore snapshot, then swap")] = False,
) -> None:
    """Restore an archive (--dry-run shows the changes and writes nothing; --confirm applies them)."""
    from tg.commands.snapshot import run_restore

    loaded = load(overrides, command="snapshot restore", creates_dirs=confirm)
    emit(run_restore(loaded, archive, dry_run, confirm), as_json)


@metrics_app.command("export")
@_mapped
def metrics_export(
    overrides: Overrides = None,
    as_json: JsonFlag = False,
    output: Annotated[
        str | None, typer.Option("--output", help="file to write (default logs/recovery/export.json)")
    ] = None,
) -> None:
    """Write the recovery metrics (summary, health, hourly trend, top failures) to a JSON file."""
    from tg.commands.metrics import run_metrics_export

    emit(run_metrics_export(load(overrides, command="metrics export"), output), as_json)


def main(argv: list[str] | None = None) -> None:
    """Run the Typer app (`tg.main` is the console script) and translate every outcome into an exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    command = typer.main.get_command(app)

    def body() -> int:
        try:
            code = command.main(args=args, prog_name="tg", standalone_mode=False)
        except typer.Exit as exc:
            code = exc.exit_code
        except typer.TyperException as exc:  # usage errors of the parser (typer's vendored click)
            show = getattr(exc, "show", None)
            if show is not None:
                show()
            else:
                sys.stderr.write(f"tg: error: {exc}\n")
            code = getattr(exc, "exit_code", EXIT_USAGE) or EXIT_USAGE
        except typer.Abort:  # typer turns KeyboardInterrupt into Exit(130) or Abort itself
            code = EXIT_INTERRUPTED
        return code if isinstance(code, int) else 0

    exit_with(body, args)


if __name__ == "__main__":
    main()
