#!/usr/bin/env python3
"""Obtain tcllib releases from Debian: 1.21's source tree, 2.0's library.

* **tcllib 1.21** (the oracle and conformance suite on a Tcl 8.6 host): the
  Debian *source* package ``tcllib 1.21+dfsg-1`` from the machine's own
  suite, because tcllib's ``.test`` files are not in the binary package and
  must never be vendored into this repository.
* **tcllib 2.0** (the oracle on a Tcl 9 host; it supports Tcl 8.5 and 9):
  Debian trixie's ``tcllib 2.0+dfsg-4``.  Its *binary* package is used: the
  archive this machine reaches does not serve the 2.0 source package's files
  (``apt-get source tcllib=2.0+dfsg-4`` gets 404 for every version the
  indexes list), while the ``.deb`` (pure Tcl, architecture ``all``) is
  served.  It gives the library, not the test files.

No host is named anywhere: the archive URIs are taken from the machine's own
apt configuration (each ``deb`` entry is turned into a ``deb-src`` entry;
for another suite, a stanza for that suite on the archive the machine uses
for its own release), and apt runs with private state so the system's
sources, lists, cache and locks are left untouched.

Each release is cached as ``${XDG_CACHE_HOME:-~/.cache}/pysmtp-tcl/
tcllib-<version>/modules/<module>/`` and published atomically (extract to a
temporary directory, then rename).  Failure raises :class:`FetchError` with
apt's message; callers fail, they never skip.

CLI: ``python compat-suite/fetch.py [--release 1.21|2.0] [--force]`` prints
the cached tree's path.
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Modules the suites need: mime.test loads md5; pop3d*.test load md5, mime and,
# through devtools/coserv.tcl, snit and comm; pop3d requires log.  smtpd is
# kept for in-interpreter SMTP peers (it needs logger, which lives in log/).
MODULES = ("mime", "devtools", "md5", "smtpd", "pop3d", "snit", "comm", "log")
TOP_LEVEL_FILES = ("license.terms",)


@dataclass(frozen=True)
class Release:
    """One tcllib release and where Debian has it.

    :ivar version: tcllib's version (``"1.21"``).
    :ivar debian_version: the Debian package version to fetch.
    :ivar kind: ``"source"`` (the orig tarball: test files and modules) or
        ``"binary"`` (the ``tcllib`` .deb: the installed library only).
    :ivar suite: ``None`` for the machine's own apt sources, else the Debian
        suite to add (on the archive the machine's own release comes from).
    :ivar modules: for ``source``, the modules to extract; ``binary``
        releases are extracted whole (smtp needs sasl, base64, md5 …).
    """

    version: str
    debian_version: str
    kind: str
    suite: str | None
    modules: tuple[str, ...] = ()

    @property
    def sentinel(self) -> Path:
        """A file present in every complete cache of this release."""
        name = "mime.test" if self.kind == "source" else "mime.tcl"
        return Path("modules") / "mime" / name


RELEASES = {
    "1.21": Release("1.21", "1.21+dfsg-1", "source", None, MODULES),
    "2.0": Release("2.0", "2.0+dfsg-4", "binary", "trixie"),
}
DEFAULT_RELEASE = "1.21"

# Kept for callers of the single-release API.
TCLLIB_VERSION = DEFAULT_RELEASE
DEBIAN_VERSION = RELEASES[DEFAULT_RELEASE].debian_version


class FetchError(RuntimeError):
    """The tcllib tree could not be obtained; the message says why."""


def cache_dir(version: str = DEFAULT_RELEASE) -> Path:
    """Return the directory where tcllib ``version`` is cached."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
        os.path.expanduser("~"), ".cache"
    )
    return Path(base) / "pysmtp-tcl" / f"tcllib-{version}"


def _sources_files() -> list[Path]:
    return [Path(p) for p in sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))]


def _list_lines() -> list[str]:
    lines: list[str] = []
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.isfile(path):
            lines += Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    return lines


def _deb_src_stanzas() -> list[str]:
    """Return the system's apt sources rewritten as deb-src entries.

    Handles deb822 ``*.sources`` files and one-line ``*.list`` /
    ``sources.list`` files.  Disabled files (other suffixes) are ignored, as
    apt itself ignores them.
    """
    out: list[str] = []
    for path in _sources_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for stanza in re.split(r"\n\s*\n", text):
            if not re.search(r"^Types:.*\bdeb\b", stanza, re.M):
                continue
            # 'Enabled: no' stanzas stay disabled: copy them unchanged.
            stanza = re.sub(r"^Types:.*$", "Types: deb-src", stanza, flags=re.M)
            out.append(stanza.strip() + "\n")
    lines = [re.sub(r"^\s*deb\s", "deb-src ", line, count=1)
             for line in _list_lines() if re.match(r"^\s*deb\s", line)]
    if lines:
        out.append("\n".join(lines) + "\n")
    return out


def _own_release() -> str:
    """The machine's Debian codename (``bookworm``), from os-release."""
    try:
        text = Path("/etc/os-release").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise FetchError(f"cannot read /etc/os-release: {exc}") from exc
    m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.M)
    if not m:
        raise FetchError("no VERSION_CODENAME in /etc/os-release")
    return m.group(1)


def _archive_uri() -> tuple[str, str]:
    """``(uri, signed_by)`` of the archive the machine's own release comes
    from (the stanza listing the bare codename, e.g. ``bookworm``)."""
    codename = _own_release()
    for path in _sources_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for stanza in re.split(r"\n\s*\n", text):
            suites = re.search(r"^Suites:(.*)$", stanza, re.M)
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            if suites and uris and codename in suites.group(1).split():
                signed = re.search(r"^Signed-By:\s*(\S+)", stanza, re.M)
                return uris.group(1), signed.group(1) if signed else ""
    for line in _list_lines():
        words = re.sub(r"\[[^]]*\]", " ", line).split()
        if len(words) >= 3 and words[0] in ("deb", "deb-src") and words[2] == codename:
            return words[1], ""
    raise FetchError(
        f"no apt source for this machine's release ({codename}) in /etc/apt: "
        "cannot tell which Debian archive to take other suites from"
    )


def _suite_stanza(types: str, suite: str) -> str:
    uri, signed_by = _archive_uri()
    if not signed_by and os.path.isfile("/usr/share/keyrings/debian-archive-keyring.gpg"):
        signed_by = "/usr/share/keyrings/debian-archive-keyring.gpg"
    stanza = f"Types: {types}\nURIs: {uri}\nSuites: {suite}\nComponents: main\n"
    if signed_by:
        stanza += f"Signed-By: {signed_by}\n"
    return stanza


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


def _download(release: Release, work: Path) -> Path:
    """Download ``release``'s Debian package into ``work``; return the
    orig tarball (source) or the .deb (binary)."""
    if release.suite is None:
        if release.kind != "source":
            raise FetchError("binary releases come from a named suite")
        stanzas = _deb_src_stanzas()
        if not stanzas:
            raise FetchError(
                "no apt sources found in /etc/apt/sources.list.d/*.sources or "
                "sources.list: cannot derive a deb-src entry"
            )
    else:
        types = "deb-src" if release.kind == "source" else "deb"
        stanzas = [_suite_stanza(types, release.suite)]
    state = work / "apt"
    for sub in ("sources", "lists/partial", "cache/archives/partial"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "sources" / "pysmtp-tcl-src.sources").write_text(
        "\n".join(stanzas), encoding="utf-8"
    )
    dl = work / "download"
    dl.mkdir()
    _apt(["update"], state, dl)
    pkg = f"tcllib={release.debian_version}"
    if release.kind == "source":
        _apt(["source", "--download-only", pkg], state, dl)
        found = sorted(dl.glob("tcllib_*.orig.tar.*"))
    else:
        _apt(["download", pkg], state, dl)
        found = sorted(dl.glob("tcllib_*.deb"))
    if not found:
        raise FetchError(
            f"apt-get fetched {pkg} but left no package file in {dl}: "
            f"{sorted(p.name for p in dl.iterdir())}"
        )
    return found[0]


def _safe_members(tar: tarfile.TarFile, prefix: str, keep) -> list[tarfile.TarInfo]:
    """Members under ``prefix`` that ``keep(rel)`` wants, renamed to ``rel``;
    only files and directories, and no path that leaves the tree."""
    members = []
    for m in tar.getmembers():
        name = m.name[2:] if m.name.startswith("./") else m.name
        if not (m.isfile() or m.isdir()) or not name.startswith(prefix):
            continue
        rel = name[len(prefix):]
        if not rel or not keep(rel):
            continue
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise FetchError(f"unsafe path in the package: {m.name}")
        m.name = rel
        members.append(m)
    return members


def _extract_all(tar: tarfile.TarFile, members: list, dest: Path) -> None:
    # Members were vetted; the 'data' filter (where available) also drops
    # odd permissions and is the future default.
    if hasattr(tarfile, "data_filter"):
        tar.extractall(dest, members=members, filter="data")
    else:
        tar.extractall(dest, members=members)


def _extract_source(release: Release, tarball: Path, dest: Path) -> None:
    """The needed modules and top-level files of an orig tarball."""
    prefix = f"tcllib-{release.version}/"
    wanted_dirs = tuple(f"modules/{m}/" for m in release.modules)

    def keep(rel: str) -> bool:
        return rel.startswith(wanted_dirs) or rel in TOP_LEVEL_FILES

    with tarfile.open(tarball) as tar:
        members = _safe_members(tar, prefix, keep)
        if not members:
            raise FetchError(f"{tarball.name} does not contain {prefix}modules/")
        _extract_all(tar, members, dest)
    for module in release.modules:
        if not (dest / "modules" / module).is_dir():
            raise FetchError(f"{tarball.name} lacks modules/{module}")


def _extract_binary(release: Release, deb: Path, dest: Path) -> None:
    """The library tree of a ``tcllib`` .deb, as ``modules/<module>/``."""
    try:
        proc = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)],
                              capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FetchError(f"dpkg-deb cannot read {deb.name}: {exc}") from exc
    if proc.returncode != 0:
        raise FetchError(f"dpkg-deb --fsys-tarfile {deb.name}: "
                         f"{proc.stderr.decode(errors='replace').strip()}")
    prefix = f"usr/share/tcltk/tcllib{release.version}/"
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        members = _safe_members(tar, prefix, lambda rel: True)
        if not members:
            raise FetchError(f"{deb.name} holds nothing under /{prefix}")
        for m in members:
            m.name = "modules/" + m.name
        _extract_all(tar, members, dest)


def fetch(force: bool = False, release: str = DEFAULT_RELEASE) -> Path:
    """Return the cached tree of tcllib ``release``, downloading it first if
    needed.

    The returned directory contains ``modules/<name>/``: for a source
    release each of its modules (with test files), for a binary release the
    whole installed library.  Raises :class:`FetchError` (never skips) if
    the tree cannot be obtained.
    """
    try:
        rel = RELEASES[release]
    except KeyError:
        raise FetchError(f"unknown tcllib release {release!r}; known: "
                         f"{', '.join(RELEASES)}") from None
    target = cache_dir(rel.version)
    if not force and (target / rel.sentinel).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pysmtp-tcl-fetch-") as tmp:
        work = Path(tmp)
        package = _download(rel, work)
        # Extract next to the target so the final rename stays on one filesystem.
        staging = Path(tempfile.mkdtemp(prefix=".tcllib-staging-", dir=target.parent))
        try:
            if rel.kind == "source":
                _extract_source(rel, package, staging)
            else:
                _extract_binary(rel, package, staging)
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
    if not (target / rel.sentinel).is_file():
        raise FetchError(f"extracted tree at {target} lacks {rel.sentinel}")
    return target


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: fetch (if needed) and print the tree's path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", choices=sorted(RELEASES), default=DEFAULT_RELEASE)
    parser.add_argument("--force", action="store_true", help="re-download even if cached")
    args = parser.parse_args(argv)
    try:
        print(fetch(force=args.force, release=args.release))
    except FetchError as exc:
        print(f"fetch.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
