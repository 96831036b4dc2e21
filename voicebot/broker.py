"""A loopback Mosquitto this process owns: its config, password file and ACL; start and stop."""

from __future__ import annotations

import os
import pwd
import secrets
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from voicebot.mqtt import check_topic_level
from voicebot.supervisors import check_password_hash, hash_password

MOSQUITTO = Path("/usr/sbin/mosquitto")
LOOPBACK = "127.0.0.1"
_STOP_WAIT_S = 5.0


class BrokerError(RuntimeError):
    """Mosquitto is missing, would not start or did not listen; the message says why."""


@dataclass
class BrokerAccount:
    name: str
    password_hash: str  # mosquitto's $7$ format, see supervisors.hash_password

    def __post_init__(self) -> None:
        check_topic_level(self.name, "broker account name")
        check_password_hash(self.password_hash, self.name)


def service_account(name: str = "voicebot") -> tuple[BrokerAccount, str]:
    """The process's own account: a fresh random password, and its hash for the broker."""
    password = secrets.token_urlsafe(24)
    return BrokerAccount(name, hash_password(password)), password


class Broker:
    """A Mosquitto on 127.0.0.1:`port` for one site, logging to `folder`/mosquitto.log.

    The service account may read and write everything under hotline/<site>/. Any other user U
    may write only hotline/<site>/calls/+/control/U, and read call events and errors.
    """

    def __init__(self, folder: Path, port: int, site: str, service: BrokerAccount,
                 supervisors: Sequence[BrokerAccount]) -> None:
        check_topic_level(site, "site")
        twice = [n for n, k in Counter([service.name, *(s.name for s in supervisors)]).items()
                 if k > 1]
        if twice:
            raise ValueError(f"broker account names must be unique, but {', '.join(twice)} "
                             "is there twice (no supervisor may share the service's name)")
        self.folder = Path(folder)
        self.port = port
        self.site = site
        self.service = service
        self.supervisors = tuple(supervisors)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / "mosquitto.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10) -> None:
        if self.running:
            return
        if not MOSQUITTO.exists():
            raise BrokerError(f"{MOSQUITTO} is missing: install the Debian package mosquitto "
                              "(scripts/setup.sh does)")
        if not _port_free(self.port):
            raise BrokerError(f"cannot start mosquitto: {LOOPBACK}:{self.port} is already in "
                              "use (another broker?); choose another port")
        config = self._write_files()
        # Config errors come on stderr before mosquitto opens its log: keep both in one file.
        with self.log_path.open("ab") as log_file:
            self._process = subprocess.Popen([str(MOSQUITTO), "-c", str(config)],
                                             stdin=subprocess.DEVNULL, stdout=log_file,
                                             stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            status = self._process.poll()
            if status is not None:
                self._process = None
                raise BrokerError(f"mosquitto exited with status {status} at start; "
                                  f"{self.log_path} ends:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"mosquitto did not listen on {LOOPBACK}:{self.port} within "
                                  f"{timeout:g} s; {self.log_path} ends:\n{self._log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _write_files(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        passwords = self.folder / "passwords"
        acl = self.folder / "acl"
        config = self.folder / "mosquitto.conf"
        accounts = [self.service, *self.supervisors]
        _write_private(passwords, "".join(f"{a.name}:{a.password_hash}\n" for a in accounts))
        root = f"hotline/{self.site}"
        acl.write_text(f"# The hotline itself: everything of site {self.site}.\n"
                       f"user {self.service.name}\n"
                       f"topic readwrite {root}/#\n\n"
                       "# Everyone (%u: the user's own name): control calls only as oneself,\n"
                       "# follow call events and errors. Mosquitto warns that two patterns lack\n"
                       "# %u or %c: they are meant for every user alike.\n"
                       f"pattern write {root}/calls/+/control/%u\n"
                       f"pattern read {root}/calls/+/events\n"
                       f"pattern read {root}/errors\n")
        # Run as root, mosquitto switches to the user named here: the one who owns the files.
        user = pwd.getpwuid(os.geteuid()).pw_name
        config.write_text("# Written by voicebot at each start; edits are lost.\n"
                          "per_listener_settings false\n"
                          f"user {user}\n"
                          f"listener {self.port} {LOOPBACK}\n"
                          "allow_anonymous false\n"
                          f"password_file {passwords}\n"
                          f"acl_file {acl}\n"
                          "persistence false\n"
                          f"log_dest file {self.log_path}\n")
        return config

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"(cannot read it: {exc.strerror})"


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # it may have existed with wider permissions
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # Like mosquitto itself: a port in TIME_WAIT after a restart counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def _accepts(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.5).close()
    except OSError:
        return False
    return True
