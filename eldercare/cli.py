"""The `eldercare` command (API.md "Command line and configuration")."""

from __future__ import annotations

import os
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from .audit import Actor, set_actor
from .extensions import db


def _create_app():
    from . import create_app

    return create_app()


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False
)
def cli():
    """eldercare: elder care for Youxian District."""
    set_actor(Actor(None, "cli:" + " ".join(sys.argv[1:3])))


def main() -> None:
    os.environ.setdefault("FLASK_DEBUG", "0")
    from .jobs import follow_parent

    follow_parent()  # a scheduler started by `serve --scheduler` goes when its server goes
    cli(prog_name="eldercare")


@cli.command("init-db")
def init_db() -> None:
    """Create the database or bring it to the newest schema, then load reference data."""
    from .bootstrap import init_database

    init_database()
    click.echo("database ready: " + db.engine.url.render_as_string(hide_password=True))


@cli.command("demo")
@click.option("--scale", default=1, type=click.IntRange(1, 100), show_default=True)
@click.option("--seed", default=2026, type=int, show_default=True)
def demo(scale: int, seed: int) -> None:
    """Fill an empty database with the demo district."""
    from .demo import DemoError, load_demo

    try:
        report = load_demo(scale=scale, seed=seed, echo=click.echo)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report)


@cli.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "manager", "provider", "worker", "auditor", "township"]),
)
@click.option("--facility", "facility_id", type=int)
@click.option("--provider", "provider_id", type=int)
@click.option("--township", "township_code", help="a township clerk's township code")
@click.option("--display-name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_cmd(
    username, role, facility_id, provider_id, township_code, display_name, password
) -> None:
    """Create an account (the first admin comes from here: init-db creates none)."""
    from .auth.services import create_user
    from .errors import DomainError

    try:
        user = create_user(
            username,
            password,
            role,
            facility_id=facility_id,
            provider_id=provider_id,
            township_code=township_code,
            display_name=display_name,
        )
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"created {user.username} ({user.role.value})")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--workers", default=2, type=int, show_default=True)
@click.option(
    "--scheduler/--no-scheduler",
    default=None,
    help="also run the job scheduler here (default: ELDERCARE_SCHEDULER=1)",
)
def serve(host: str, port: int, workers: int, scheduler: bool | None) -> None:
    """The production server (gunicorn)."""
    env = dict(os.environ)
    if scheduler is None:
        scheduler = env.get("ELDERCARE_SCHEDULER") == "1"
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        # gunicorn's default line has the query string and the referrer: a search by ID
        # number (?q=…) would put the number in the log. Path only, no referrer.
        "--access-logformat",
        '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"',
        "--timeout",
        "120",
        "--graceful-timeout",
        "10",
        "--no-control-socket",
        "eldercare.wsgi:app",
    ]
    if scheduler:
        # One scheduler process beside the web workers (never one per worker: APScheduler
        # does not coordinate processes). It watches this process, which the exec below
        # turns into gunicorn's master: when the server stops, or is killed outright, the
        # scheduler stops too, and nothing is left running.
        import subprocess

        from .jobs import PARENT_ENV

        # our own interpreter and argument list: no shell, no user input
        subprocess.Popen(
            [sys.executable, "-m", "eldercare.cli", "scheduler"],  # nosec B603
            env=dict(env, **{PARENT_ENV: str(os.getpid())}),
        )
    os.execve(sys.executable, args, env)  # noqa: S606  # nosec B606 # our interpreter and args


@cli.command("scheduler")
def scheduler_cmd() -> None:
    """Run the job scheduler in this process (one per deployment)."""
    from flask import current_app

    from .jobs import start_scheduler

    click.echo("scheduler: catching up missed periods, then on calendar (Asia/Shanghai)")
    start_scheduler(current_app._get_current_object(), blocking=True)  # type: ignore[attr-defined]


@cli.command("backup")
@click.option(
    "--to",
    "target",
    type=click.Path(dir_okay=False),
    default=None,
    help="file to write (default: instance/backups/eldercare-<time>.backup)",
)
def backup_cmd(target: str | None) -> None:
    """Back up the database (mode 0600; no key in it or beside it: keep the keys apart)."""
    from pathlib import Path

    from flask import current_app

    from .backup import BackupError, backup, default_name

    instance = Path(current_app.instance_path)
    try:
        written = backup(Path(target) if target else default_name(instance))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"backup written: {written} (no keys inside: restoring it needs this "
        "instance's keys, see `eldercare crypto show-derived`)"
    )


@cli.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask")
def restore_cmd(source: str, yes: bool) -> None:
    """Replace the database with a backup (stop the servers first)."""
    from pathlib import Path

    from .backup import BackupError, check_keys, key_warnings, read_meta, restore

    try:
        meta = read_meta(Path(source))
        if meta is not None:
            check_keys(meta)  # before asking: a restore this instance cannot read is refused
        if not yes:
            click.confirm("This replaces everything in the database. Go on?", abort=True)
        restore(Path(source))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in key_warnings(meta) if meta else []:
        click.echo(f"warning: {warning}", err=True)
    from .crypto import unreadable

    why = unreadable()
    if why:
        # A bare dump from an older release carries no fingerprints to check first.
        raise click.ClickException(
            f"restored, but its encrypted values do not open with this instance's keys ({why}). "
            "Start it with the keys the backup was made with (that instance's "
            "ELDERCARE_DATA_KEY and ELDERCARE_INDEX_KEY, or the ELDERCARE_SECRET_KEY they "
            "derive from); a backup from a release before encryption needs "
            "`eldercare init-db` first."
        )
    click.echo("restored; run `eldercare init-db` if the backup is from an older release")


@cli.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("head")
def audit_head() -> None:
    """Print the chain's head (newest id and hash, signed with the audit key) to keep
    outside the system: `eldercare audit head > /elsewhere/audit-head-$(date +%F).json`."""
    import json

    from .audit import head_record
    from .crypto import audit_key

    click.echo(json.dumps(head_record(audit_key()), indent=2))


@audit_group.command("verify")
@click.option(
    "--head",
    "head_file",
    type=click.File("r"),
    default=None,
    help="a head printed by `eldercare audit head`: fail unless the log still reaches it",
)
def audit_verify(head_file) -> None:
    """Recompute the audit log's hash chain; exits 1 at the first entry that was changed,
    or when the log no longer reaches the kept head (entries cut off, or the whole chain
    rewritten and rehashed)."""
    import json

    from .audit import HeadMismatch, check_head, verify_chain
    from .crypto import audit_key

    checked, broken = verify_chain()
    if broken is not None:
        click.echo(f"audit chain BROKEN at entry {broken} (after {checked} good entries)")
        raise SystemExit(1)
    if head_file is None:
        click.echo(f"audit chain intact: {checked} entries")
        return
    try:
        try:
            record = json.load(head_file)
        except ValueError:
            raise HeadMismatch("not an audit head (JSON)") from None
        reached = check_head(record, audit_key())
    except HeadMismatch as exc:
        click.echo(f"audit chain BROKEN: {exc}")
        raise SystemExit(1) from None
    click.echo(
        f"audit chain intact: {checked} entries, and it reaches the kept head (entry {reached})"
    )


@cli.group("crypto")
def crypto_group() -> None:
    """The keys of the personal data encrypted at rest (ID numbers, health notes)."""


@crypto_group.command("check")
def crypto_check() -> None:
    """Exit 1 unless this instance's keys open the encrypted values in the database."""
    from .crypto import keyring, unreadable

    why = unreadable()
    if why:
        raise click.ClickException(why)
    keys = keyring()
    source = "derived from the secret key" if keys.derived else "ELDERCARE_DATA_KEY"
    click.echo(f"encrypted values open: data key version {keys.current} ({source})")


@crypto_group.command("reencrypt")
def crypto_reencrypt() -> None:
    """Rewrite every value under the current (first) data key, after a key rotation."""
    from .audit import record
    from .crypto import reencrypt

    done = reencrypt()
    record("crypto_reencrypt", "database", None, {"rows": done})  # Core updates: by hand
    db.session.commit()
    for table, count in done.items():
        click.echo(f"{table}: {count} rows re-encrypted")


@crypto_group.command("show-derived")
def crypto_show_derived() -> None:
    """Print the keys in use as environment lines: pin them before the secret key changes,
    and keep them apart from the backups (which hold none)."""
    from .crypto import audit_key, environment_lines, keyring

    for line in environment_lines(keyring(), audit_key()):
        click.echo(line)


@cli.group("jobs")
def jobs() -> None:
    """The scheduled jobs, by hand."""


@jobs.command("list")
def jobs_list() -> None:
    from .registry import registry

    for job in registry().jobs.values():
        click.echo(f"{job.name:22} {job.period_kind:6} {job.description}")


@jobs.command("run")
@click.argument("name")
@click.option("--period", default=None, help="YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH")
def jobs_run(name: str, period: str | None) -> None:
    from .jobs import JobError, run_job

    try:
        result = run_job(name, period, trigger="cli")
    except JobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.summary_line())


@cli.group("figures")
def figures_group() -> None:
    """The figures kept as rows are written (tallies)."""


@figures_group.command("recount")
@click.option("--repair", is_flag=True, help="set every tally that differs to the count")
def figures_recount(repair: bool) -> None:
    """Count the rows again and compare with the tallies; exit 1 if any differed and
    --repair was not given."""
    from . import audit
    from .extensions import db
    from .registry import registry

    differed = 0
    for name, recount in registry().tallies.items():
        for table, n in recount(repair).items():
            differed += n
            done = ", repaired" if n and repair else ""
            click.echo(f"{name}: {table}: {n} row(s) differ{done}")
    if repair and differed:
        audit.record("tallies_repaired", "tallies", None, {"rows": differed})
        db.session.commit()
    if differed and not repair:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Nothing to attach here: the commands live on `cli`; features add theirs to app.cli."""


if __name__ == "__main__":
    main()
