#!/usr/bin/env python3
"""Obtain tcllib 1.21's source tree (its test files and assets) from Debian.

tcllib's ``.test`` files are not shipped in the binary ``tcllib`` package and
must never be vendored into this repository, so we fetch the Debian *source*
package with ``apt-get source``.  No host is named anywhere: the archive URIs
are taken from the machine's own apt configuration (each ``deb`` entry is
turned into a ``deb-src`` entry), and apt runs with private state so the
system's lists, cache and locks are left untouched.

The extracted subset is cached under
``${XDG_CACHE_HOME:-~/.cache}/pysmtp-tcl/tcllib-1.21/`` and published
atomically (extract to a temporary directory, then rename).

CLI: ``python compat-suite/fetch.py [--force]`` prints the cached tree's path.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

TCLLIB_VERSION = "1.21"
DEBIAN_VERSION = "1.21+dfsg-1"

# Modules the suites need: mime.test loads md5; pop3d*.test load md5, mime and,
# through devtools/coserv.tcl, snit and comm; pop3d requires log.  smtpd is
# kept for in-interpreter SMTP peers (it needs logger, which lives in log/).
MODULES = ("mime", "devtools", "md5", "smtpd", "pop3d", "snit", "comm", "log")
TOP_LEVEL_FILES = ("license.terms",)

# A file present in every complete cache; checked before trusting the cache.
_SENTINEL = Path("modules") / "mime" / "mime.test"


class FetchError(RuntimeError):
    """The tcllib source tree could not be obtained; the message says why."""


def cache_dir() -> Path:
    """Return the directory where the extracted tcllib tree is cached."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "pysmtp-tcl" / f"tcllib-{TCLLIB_VERSION}"


def _deb_src_stanzas() -> list[str]:
    """Return the system's apt sources rewritten as deb-src entries.

    Handles deb822 ``*.sources`` files and one-line ``*.list`` /
    ``sources.list`` files.  Disabled files (other suffixes) are ignored, as
    apt itself ignores them.
    """
    out: list[str] = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        for stanza in re.split(r"\n\s*\n", text):
            if not re.search(r"^Types:.*\bdeb\b", stanza, re.M):
                continue
            # 'Enabled: no' stanzas stay disabled: copy them unchanged.
            stanza = re.sub(r"^Types:.*$", "Types: deb-src", stanza, flags=re.M)
            out.append(stanza.strip() + "\n")
    list_files = ["/etc/apt/sources.list"] + sorted(
        glob.glob("/etc/apt/sources.list.d/*.list")
    )
    lines: list[str] = []
    for path in list_files:
        if not os.path.isfile(path):
            continue
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            if re.match(r"^\s*deb\s", line):
                lines.append(re.sub(r"^\s*deb\s", "deb-src ", line, count=1))
    if lines:
        out.append("\n".join(lines) + "\n")
    return out


def _apt(args: list[str], state: Path, cwd: Path) -> None:
    """Run apt-get with private state; raise FetchError with apt's output."""
    cmd = [
        "apt-get",
        "-q",
        "-o", "Dir::Etc::SourceList=/dev/null",
        "-o", f"Dir::Etc::SourceParts={state / 'sources'}",
        "-o", f"Dir::State::Lists={state / 'lists'}",
        "-o", f"Dir::Cache={state / 'cache'}",
        "-o", "Debug::NoLocking=1",
        # As root apt drops to the _apt user for downloads; that user cannot
        # write into our private (0700) temp dir.
        "-o", "APT::Sandbox::User=root",
        *args,
    ]
    try:
        proc = subprocess.run(
            cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise FetchError(f"apt-get not found: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"apt-get {' '.join(args)} timed out after 600 s") from exc
    if proc.returncode != 0:
        raise FetchError(
            f"apt-get {' '.join(args)} failed with status {proc.returncode}:\n"
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )


def _download_orig_tarball(work: Path) -> Path:
    """Download tcllib's Debian source package into ``work``; return the orig tarball."""
    stanzas = _deb_src_stanzas()
    if not stanzas:
        raise FetchError(
            "no apt sources found in /etc/apt/sources.list.d/*.sources or "
            "sources.list: cannot derive a deb-src entry"
        )
    state = work / "apt"
    for sub in ("sources", "lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "sources" / "pysmtp-tcl-src.sources").write_text(
        "\n".join(stanzas), encoding="utf-8"
    )
    dl = work / "download"
    dl.mkdir()
    _apt(["update"], state, dl)
    _apt(["source", "--download-only", f"tcllib={DEBIAN_VERSION}"], state, dl)
    tarballs = sorted(dl.glob("tcllib_*.orig.tar.*"))
    if not tarballs:
        raise FetchError(
            f"apt-get source succeeded but no orig tarball in {dl}: "
            f"{sorted(p.name for p in dl.iterdir())}"
        )
    return tarballs[0]


def _extract(tarball: Path, dest: Path) -> None:
    """Extract the needed modules and top-level files from ``tarball`` into ``dest``."""
    prefix = f"tcllib-{TCLLIB_VERSION}/"
    wanted_dirs = tuple(f"{prefix}modules/{m}/" for m in MODULES)
    wanted_files = {prefix + f for f in TOP_LEVEL_FILES}
    with tarfile.open(tarball) as tar:
        members = []
        for m in tar.getmembers():
            if not (m.isfile() or m.isdir()):
                continue  # no links or devices: nothing in these modules needs them
            if not (m.name.startswith(wanted_dirs) or m.name in wanted_files):
                continue
            rel = m.name[len(prefix):]
            if rel.startswith("/") or ".." in Path(rel).parts:
                raise FetchError(f"unsafe path in {tarball.name}: {m.name}")
            m.name = rel
            members.append(m)
        if not members:
            raise FetchError(f"{tarball.name} does not contain {prefix}modules/")
        # Members were vetted above; the 'data' filter (where available) also
        # drops odd permissions and is the future default.
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:
            tar.extractall(dest, members=members)
    for module in MODULES:
        if not (dest / "modules" / module).is_dir():
            raise FetchError(f"{tarball.name} lacks modules/{module}")


def fetch(force: bool = False) -> Path:
    """Return the cached tcllib source tree, downloading it first if needed.

    The returned directory contains ``modules/<name>/`` for each of
    :data:`MODULES`.  Raises :class:`FetchError` (never skips) if the tree
    cannot be obtained.
    """
    target = cache_dir()
    if not force and (target / _SENTINEL).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pysmtp-tcl-fetch-") as tmp:
        work = Path(tmp)
        tarball = _download_orig_tarball(work)
        # Extract next to the target so the final rename stays on one filesystem.
        staging = Path(tempfile.mkdtemp(prefix=".tcllib-staging-", dir=target.parent))
        try:
            _extract(tarball, staging)
            if target.exists():
                # Replace a stale/partial cache: move it aside first so the
                # rename below is atomic.
                old = Path(tempfile.mkdtemp(prefix=".tcllib-old-", dir=target.parent))
                os.rename(target, old / "tree")
                shutil.rmtree(old, ignore_errors=True)
            os.rename(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    if not (target / _SENTINEL).is_file():
        raise FetchError(f"extracted tree at {target} lacks {_SENTINEL}")
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: fetch (if needed) and print the tree's path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="re-download even if cached")
    args = parser.parse_args(argv)
    try:
        print(fetch(force=args.force))
    except FetchError as exc:
        print(f"fetch.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
