#!/usr/bin/env bash
# build-python-tcl9.sh -- build Tcl 9.0, Tk 9.0 and a CPython whose _tkinter
# links to them, on a Debian 12 (bookworm) machine, from Debian's source
# packages (trixie / forky / sid), without touching the system's apt sources.
#
# (pysmtp-tcl: scripts/test-all runs the test suite under the system Python
# (Tcl 8.6) and under the Python this builds (Tcl 9), once per cache key;
# the script also writes $PREFIX_PY/VERSIONS, the source versions it built.)
#
# Why from source: trixie's binary tcl9.0/python3.1x packages need a newer
# glibc than bookworm has.  Everything here is fetched with apt through a
# private apt state (its own sources, lists and cache under $WORK/apt); the
# system's /etc/apt is only used to install bookworm's -dev packages.
#
# Usage (as root for the build-dependency step; or SKIP_APT_DEPS=1):
#   bash build-python-tcl9.sh
#   PREFIX_TCL=$HOME/tcl9 PREFIX_PY=$HOME/py-tcl9 JOBS=4 bash build-python-tcl9.sh
# Then:
#   $PREFIX_PY/bin/python3 -m venv venv && . venv/bin/activate
#   python -c "import tkinter; print(tkinter.Tcl().eval('info patchlevel'))"   # 9.0.x
#
# Knobs (environment):
#   PREFIX_TCL   where Tcl/Tk 9 go            (default ~/.cache/tcl9/tcl)
#   PREFIX_PY    where CPython goes           (default ~/.cache/tcl9/python)
#   WORK         scratch: apt state, sources  (default ~/.cache/tcl9/build)
#   ARCHIVE_URI  the Debian archive to take newer suites' sources from
#                (default: the one this machine's own apt sources use)
#   JOBS         make -j                      (default 2)
#   SUITES       Debian suites to search      (default "sid forky trixie")
#   PY_PKGS      CPython source packages, in order of preference
#                (default "python3.14 python3.13"; 3.14 supports Tcl 9
#                officially, 3.13.15 was verified to build and work)
#   TCL_VERSION / TK_VERSION / PY_VERSION   pin a Debian source version
#                (e.g. TCL_VERSION=9.0.4+dfsg-1); default: the newest one
#                whose files the archive actually serves
#   SKIP_APT_DEPS=1   do not apt-get install the bookworm build dependencies
#
# Measured on a 2-core VM (Debian 12, gcc 12): Tcl 9.0.4 ~35 s, Tk 9.0.4
# ~20 s, CPython 3.13.15 configure ~25 s + make/install ~2.5 min.
set -euo pipefail

BASE=${XDG_CACHE_HOME:-$HOME/.cache}/tcl9
PREFIX_TCL=${PREFIX_TCL:-$BASE/tcl}
PREFIX_PY=${PREFIX_PY:-$BASE/python}
WORK=${WORK:-$BASE/build}
# The archive this machine already uses for bookworm (deb822 first, then one-line format).
ARCHIVE_URI=${ARCHIVE_URI:-$(awk '/^URIs:/{u=$2} /^Suites:/{for(i=2;i<=NF;i++) if($i=="bookworm"){print u; exit}}' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)}
[ -n "$ARCHIVE_URI" ] || ARCHIVE_URI=$(awk '$1=="deb" && $3=="bookworm"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$ARCHIVE_URI" ] || { echo "cannot find the Debian archive in this machine's apt sources; set ARCHIVE_URI" >&2; exit 1; }
JOBS=${JOBS:-2}
SUITES=${SUITES:-"sid forky trixie"}
PY_PKGS=${PY_PKGS:-"python3.14 python3.13"}

log() { printf '\n=== %s: %s\n' "$(date +%H:%M:%S)" "$*"; }

# --- 1. build dependencies from the system's own (bookworm) sources ---------
if [ "${SKIP_APT_DEPS:-0}" != 1 ]; then
    log "installing bookworm build dependencies"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # --no-upgrade: leave already-installed packages at their version
    apt-get install -y -q --no-install-recommends --no-upgrade \
        build-essential pkg-config xz-utils zip ca-certificates debian-archive-keyring \
        zlib1g-dev \
        libx11-dev libxft-dev libxss-dev libxext-dev libfontconfig-dev libfreetype-dev \
        libssl-dev libffi-dev libbz2-dev liblzma-dev libreadline-dev libsqlite3-dev \
        libncurses-dev uuid-dev libgdbm-dev
fi

# --- 2. a private apt state that sees newer suites' *source* packages -------
APTD="$WORK/apt"
mkdir -p "$APTD/parts" "$APTD/lists/partial" "$APTD/cache/archives/partial" "$WORK/dl" "$WORK/src"
for s in $SUITES; do
    cat > "$APTD/parts/$s.sources" <<EOF
Types: deb-src
URIs: $ARCHIVE_URI
Suites: $s
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
done
APT_OPTS=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$APTD/parts"
          -o "Dir::State::Lists=$APTD/lists" -o "Dir::Cache=$APTD/cache"
          -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
log "apt-get update (private state in $APTD; suites: $SUITES)"
apt-get "${APT_OPTS[@]}" update -q

# fetch_source PKG [VERSION]: download PKG's source package into $WORK/dl,
# trying each version the indexes list (newest first) until the archive
# serves all of its files (a mirror may list a version whose files are gone).
# Prints the version fetched.
fetch_source() {
    local pkg=$1 want=${2:-} v
    local versions
    if [ -n "$want" ]; then
        versions=$want
    else
        versions=$(apt-cache "${APT_OPTS[@]}" showsrc "$pkg" 2>/dev/null \
                   | awk '/^Package: /{p=$2} /^Version: /{if (p=="'"$pkg"'") print $2}' \
                   | sort -u | sort -rV)
    fi
    for v in $versions; do
        if (cd "$WORK/dl" && apt-get "${APT_OPTS[@]}" source --download-only -q "$pkg=$v" >/dev/null 2>&1); then
            echo "$v"
            return 0
        fi
        echo "  ($pkg $v: not downloadable, trying the next version)" >&2
    done
    return 1
}

# unpack_orig PKG VERSION DIR: extract PKG's upstream tarball into DIR
unpack_orig() {
    local pkg=$1 ver=$2 dir=$3 upstream tarball
    upstream=${ver#*:}; upstream=${upstream%-*}
    tarball=$(ls "$WORK/dl/${pkg}_${upstream}".orig.tar.* | grep -v '\.asc$' | head -1)
    rm -rf "$dir"; mkdir -p "$dir"
    tar -xf "$tarball" -C "$dir" --strip-components=1
}

log "fetching sources"
TCL_V=$(fetch_source tcl9.0 "${TCL_VERSION:-}")  || { echo "no tcl9.0 source downloadable" >&2; exit 1; }
TK_V=$(fetch_source tk9.0 "${TK_VERSION:-}")     || { echo "no tk9.0 source downloadable" >&2; exit 1; }
PY_PKG=""; PY_V=""
for p in $PY_PKGS; do
    if PY_V=$(fetch_source "$p" "${PY_VERSION:-}"); then PY_PKG=$p; break; fi
done
[ -n "$PY_PKG" ] || { echo "none of $PY_PKGS has a downloadable source" >&2; exit 1; }
echo "tcl9.0 $TCL_V, tk9.0 $TK_V, $PY_PKG $PY_V"

# --- 3. Tcl 9.0 -------------------------------------------------------------
log "building Tcl $TCL_V into $PREFIX_TCL"
unpack_orig tcl9.0 "$TCL_V" "$WORK/src/tcl"
(cd "$WORK/src/tcl/unix" && ./configure --prefix="$PREFIX_TCL" --enable-shared >"$WORK/tcl-configure.log" \
    && make -j"$JOBS" >"$WORK/tcl-make.log" 2>&1 && make install >"$WORK/tcl-install.log" 2>&1)
echo 'puts [info patchlevel]' | "$PREFIX_TCL"/bin/tclsh9.0

# --- 4. Tk 9.0 (_tkinter links libtk even for tkinter.Tcl()) ----------------
log "building Tk $TK_V into $PREFIX_TCL"
unpack_orig tk9.0 "$TK_V" "$WORK/src/tk"
(cd "$WORK/src/tk/unix" && ./configure --prefix="$PREFIX_TCL" --with-tcl="$PREFIX_TCL/lib" --enable-shared \
        >"$WORK/tk-configure.log" \
    && make -j"$JOBS" >"$WORK/tk-make.log" 2>&1 && make install >"$WORK/tk-install.log" 2>&1)

# --- 5. CPython, _tkinter against Tcl/Tk 9 (rpath: no LD_LIBRARY_PATH needed)
log "building $PY_PKG $PY_V into $PREFIX_PY"
unpack_orig "$PY_PKG" "$PY_V" "$WORK/src/python"
# Tk 9's shared library is libtcl9tk9.0.so (the name carries the Tcl major).
TK_LIB=""
for f in "$PREFIX_TCL"/lib/libtcl9tk9*.so "$PREFIX_TCL"/lib/libtk9*.so; do
    if [ -e "$f" ]; then TK_LIB=$(basename "$f" .so); TK_LIB=${TK_LIB#lib}; break; fi
done
[ -n "$TK_LIB" ] || { echo "no Tk 9 shared library in $PREFIX_TCL/lib" >&2; exit 1; }
(cd "$WORK/src/python" \
    && PKG_CONFIG_PATH="$PREFIX_TCL/lib/pkgconfig" ./configure --prefix="$PREFIX_PY" \
        TCLTK_CFLAGS="-I$PREFIX_TCL/include" \
        TCLTK_LIBS="-L$PREFIX_TCL/lib -l$TK_LIB -ltcl9.0 -Wl,-rpath,$PREFIX_TCL/lib" \
        >"$WORK/py-configure.log" \
    && make -j"$JOBS" >"$WORK/py-make.log" 2>&1 && make install >"$WORK/py-install.log" 2>&1)

# --- 6. check ----------------------------------------------------------------
log "check"
PY="$PREFIX_PY/bin/python3"
got=$("$PY" -c "import tkinter; print(tkinter.Tcl().eval('info patchlevel'))")
"$PY" -c "import sys, ssl, sqlite3, ctypes; print(sys.version)"
echo "tkinter.Tcl() patchlevel: $got"
case $got in
    9.0.*) echo "OK: $PY links tkinter to Tcl $got" ;;
    *) echo "FAILED: expected Tcl 9.0.x, got $got" >&2; exit 1 ;;
esac
echo "tcl9.0 $TCL_V tk9.0 $TK_V $PY_PKG $PY_V tcl_patchlevel $got" > "$PREFIX_PY/VERSIONS"
