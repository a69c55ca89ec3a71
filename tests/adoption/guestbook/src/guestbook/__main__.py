"""Run the service: ``python -m guestbook`` (or the console script): check the settings and the
data folder, migrate the database, then serve with gunicorn, its workers forked."""

import logging
import os
import signal
import stat
import sys
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication

from .config import LOG_FORMAT, InvalidSetting, Settings, logging_config

log = logging.getLogger(__package__)
# In-flight requests end within this many seconds of SIGTERM (gunicorn's graceful_timeout); an
# idle server stops at once.
GRACEFUL_SHUTDOWN_SECONDS = 5
# Forked after the app is loaded: one worker's request never waits for another's.
WORKERS = 2
# Each worker's threads: requests it serves at once (a slow body holds one until its deadline).
THREADS = 4
# What the master sends its workers to stop them (gracefully, quickly; Ctrl-C): held from each
# fork until the worker has its own handlers (hold_signals_across_forks).
WORKER_SIGNALS = {signal.SIGTERM, signal.SIGQUIT, signal.SIGINT}
# The workers' heartbeat files: in memory, where a read-only root leaves a writable folder.
WORKER_TMP_DIR = "/dev/shm"  # noqa: S108 (gunicorn makes its own files there, 0600)


def main() -> int:
    logging.basicConfig(format=LOG_FORMAT, level="INFO")
    try:
        settings = Settings.from_environment()
    except InvalidSetting as error:
        log.error("invalid settings: %s", error)
        return 2
    logging.getLogger().setLevel(settings.log_level.upper())
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=settings.data_dir).close()
    except OSError as error:
        log.error("the data folder %s is not writable: %s", settings.data_dir, error.strerror)
        return 1
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", f"{__package__}.settings")
    if not migrate(settings):
        return 1
    from .wsgi import application

    hold_signals_across_forks()
    try:
        Server(application, options(settings)).run()
    except SystemExit as exited:
        end_now(exited.code)
    return 0


def end_now(code: int | str | None) -> None:
    """End this process (gunicorn's master or one of its workers) as gunicorn ends it, with
    SystemExit's code (0 once stopped by SIGTERM), but without the interpreter's teardown: in a
    process holding Django it took 0.4 to 0.9 s on a busy 2-core machine (a forked worker
    touches every page it shares with the master again), most of the 2 s a stop may take.
    Nothing is left to it: requests are done, connections closed; the logs are flushed here."""
    logging.shutdown()
    if isinstance(code, str):
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


def migrate(settings: Settings) -> bool:
    """Apply the migrations the database lacks; False, said in one ERROR line, if it cannot."""
    import django
    from django.core.management import call_command
    from django.db import DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    try:
        executor = MigrationExecutor(connections["default"])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        call_command("migrate", interactive=False, verbosity=0)
    except DatabaseError as error:
        log.error("cannot migrate the database %s: %s", settings.database, error)
        return False
    finally:
        # No connection crosses the fork: each worker opens its own.
        connections.close_all()
    group_writable(settings.database)
    applied = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan) or "none to apply"
    log.info("database %s migrated: %s", settings.database, applied)
    return True


def group_writable(path: Path) -> None:
    """Let ``path``'s group write it, where this uid owns it: a later start may run as another
    uid of the same group on the same volume (OpenShift), and SQLite creates a database 0644
    whatever the umask (its -journal and -wal files take the database's mode)."""
    status = path.stat()
    if status.st_uid == os.getuid():
        path.chmod(stat.S_IMODE(status.st_mode) | stat.S_IRGRP | stat.S_IWGRP)


def hold_signals_across_forks() -> None:
    """gunicorn installs a worker's signal handlers a while after forking it; a SIGTERM the
    master sends in between (a stop as the second worker boots) reaches the master's handlers
    copied into the child and is lost: the worker serves on until graceful_timeout's SIGKILL
    (measured: 5.2 s for such a stop, 0.3 s otherwise). Blocked across each fork, the signal
    waits, pending, until the worker has its handlers (post_worker_init unblocks it)."""
    os.register_at_fork(
        before=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, WORKER_SIGNALS),
        after_in_parent=lambda: signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS),
    )


def handle_held_signals(worker: object) -> None:
    """gunicorn's post_worker_init: the worker's handlers are installed, the signals held since
    its fork are delivered to them."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, WORKER_SIGNALS)


def options(settings: Settings) -> dict[str, object]:
    """gunicorn's settings for the service's."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return {
        "bind": [f"{host}:{settings.port}"],
        "workers": WORKERS,
        # Keeps a connection alive between requests (sync closes each): a proxy's pool reuses it.
        "worker_class": "gthread",
        "threads": THREADS,
        # Longer than a load balancer's idle timeout (60 s): it closes first, never us.
        "keepalive": 75,
        "preload_app": True,
        "graceful_timeout": GRACEFUL_SHUTDOWN_SECONDS,
        "post_worker_init": handle_held_signals,
        "worker_tmp_dir": WORKER_TMP_DIR if os.path.isdir(WORKER_TMP_DIR) else None,
        # The access log to stdout, the rest to stderr, in the service's format.
        "loglevel": settings.log_level,
        "logconfig_dict": logging_config(settings.log_level),
        "proc_name": __package__,
        # No runtime control socket: nothing in a container needs one, nor a folder to keep it.
        "control_socket_disable": True,
    }


class Server(BaseApplication):
    """gunicorn, given its settings and the loaded app here rather than by its command line."""

    def __init__(self, application: object, settings: dict[str, object]) -> None:
        self.application, self.settings = application, settings
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.settings.items():
            self.cfg.set(name, value)

    def load(self) -> object:
        return self.application


if __name__ == "__main__":
    sys.exit(main())
