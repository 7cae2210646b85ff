"""The server-side commands of `coach`: accounts (`users`), the database (`db upgrade`), and moving a
workspace to another machine (`export`, `import`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.errors import InputError
from coach.runtime import Runtime


def cmd_export(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.transfer import export_zip

    data = export_zip(rt.workspace(args.workspace))
    tmp = Path(args.output).with_suffix(".partial")
    try:
        tmp.write_bytes(data)
        tmp.replace(args.output)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"Cannot write {args.output}: {exc.strerror}.", "Choose a folder you can write to.") from None
    print(f"Exported workspace {args.workspace} to {args.output} ({len(data) / 1024:,.0f} kB).")
    return 0


def cmd_import(rt: Runtime, args: argparse.Namespace) -> int:
    from coach.transfer import import_bundle, read_zip

    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {args.file}: {exc.strerror}.", "Check the path.") from None
    bundle = read_zip(data)

    def progress(fraction: float, detail: str) -> None:
        print(f"\r{detail}", end="", file=sys.stderr, flush=True)

    done = import_bundle(bundle, rt.workspace(args.workspace), progress)
    print(f"\rImported into {args.workspace}: {done['notes']} notes, {done['conversations']} chats, "
          f"{done['rehearsals']} rehearsals{', the profile' if done['profile'] else ''}.", file=sys.stderr)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise InputError("The two passwords differ.", "Type the same password twice.")
    return first


def cmd_users(rt: Runtime, args: argparse.Namespace) -> int:
    accounts = rt.accounts
    if args.action == "add":
        accounts.add(args.username, args.name or args.username, _read_password(args))
        print(f"Added user {args.username}.")
    elif args.action == "passwd":
        accounts.set_password(args.username, _read_password(args))
        print(f"Changed the password of {args.username}.")
    elif args.action == "rm":
        accounts.remove(args.username)
        print(f"Removed user {args.username}. Their workspaces are kept (export them with --user first if they should go), and the name is not given to anyone else.")
    else:
        found = accounts.list()
        for username, name, created in found:
            print(f"{username:<20} {name}")
        if not found:
            print("No users yet: add one with `coach users add NAME`.")
    if rt.settings.auth != "password" and args.action != "list":
        print("note: accounts are used only with COACH_AUTH=password.", file=sys.stderr)
    return 0


def cmd_db(rt: Runtime, args: argparse.Namespace) -> int:
    db = rt.database  # opening it applies pending migrations (under a lock)
    before, after = db.migrated if db.migrated[0] != db.migrated[1] else db.upgrade()
    where = "Postgres" if not rt.database.is_sqlite else str(rt.settings.data_dir / "upward.db")
    if before == after:
        print(f"The database ({where}) is up to date at revision {after}.")
    else:
        print(f"Upgraded the database ({where}) from revision {before or 'none'} to {after}.")
    return 0
