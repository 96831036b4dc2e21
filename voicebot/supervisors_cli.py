"""`voicebot supervisors add|list`: manage the supervisor directory, a TOML file."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from voicebot.mqtt import check_topic_level
from voicebot.supervisors import (
    Supervisor,
    SupervisorDirectory,
    check_sip_uri,
    hash_password,
)

DEFAULT_FILE = Path("supervisors.toml")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("the same again: ") != password:
        raise ValueError("the two passwords differ; nothing was changed")
    return password


def supervisors_add(args: argparse.Namespace) -> int:
    # Checked before asking for the password, so a typo does not cost typing it twice.
    check_topic_level(args.name, "supervisor name")
    check_sip_uri(args.sip_uri, args.name)
    path: Path = args.file
    directory = SupervisorDirectory.load(path) if path.exists() else SupervisorDirectory()
    replaced = directory.get(args.name) is not None
    directory.add(Supervisor(args.name, args.sip_uri, hash_password(_read_password(args))))
    directory.save(path)
    print(f"{'replaced' if replaced else 'added'} supervisor {args.name} ({args.sip_uri}) in "
          f"{path}; restart the hotline to apply it")
    return 0


def supervisors_list(args: argparse.Namespace) -> int:
    directory = SupervisorDirectory.load(args.file)
    for supervisor in directory:
        print(f"{supervisor.name:<32} {supervisor.sip_uri}")
    if not directory.names():
        print(f"no supervisors in {args.file}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    supervisors = sub.add_parser("supervisors", help="manage who may supervise calls")
    commands = supervisors.add_subparsers(dest="supervisors_command", required=True)
    p = commands.add_parser("add", help="add a supervisor, or replace one's SIP URI and password")
    p.add_argument("name", help="1-32 of a-z 0-9 _ . - (their login and MQTT user name)")
    p.add_argument("--sip-uri", required=True,
                   help="where the hotline dials them, e.g. sip:alice@10.0.0.5:5060")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin instead of asking")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE,
                   help="the supervisors file (default %(default)s)")
    p.set_defaults(run=supervisors_add)
    p = commands.add_parser("list", help="show the supervisors and their SIP URIs")
    p.add_argument("--file", type=Path, default=DEFAULT_FILE,
                   help="the supervisors file (default %(default)s)")
    p.set_defaults(run=supervisors_list)
