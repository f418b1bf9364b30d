#!/usr/bin/env bash
# A Debian 13 root with Python 3.13, for the test runs on Django 6.x (which needs
# Python 3.12 or newer) on a machine whose own Python is older.
#
#   tests/debian_root.sh build        create the root (debootstrap), or check it is current
#   tests/debian_root.sh available    exit 0 when the root exists or can be built, else say why
#   tests/debian_root.sh run -- CMD   run CMD inside the root, from the project source
#
# The root lives in $WPS_DEBIAN_ROOT (default: .cache/debian13-root in the project).
# It is built with `debootstrap --variant=minbase` from $DEBIAN_MIRROR (default: the
# first Debian archive in this machine's apt sources, else http://deb.debian.org/debian)
# with python3.13, python3.13-venv, redis-server and memcached (for the shared-cache tests), plus a
# virtualenv /opt/wps-tools with nox. A half-built root is never used: the build
# happens in a temporary directory, renamed when complete.
#
# `run` works in a mount namespace of its own (unshare): /proc, /dev, a fresh /tmp
# and the project source (bind-mounted read-write at /src) are mounted there only,
# and disappear with the namespace when CMD ends, whatever the way it ends. The
# host's DNS configuration and CA bundle are copied in, so pip reaches the package
# index as it does on the host. The command gets a clean environment: PATH, HOME,
# the locale, and the host's CI, WPS_*, PG*, PYTEST_ADDOPTS, proxy and pip index
# variables.
#
# Building and running need root (debootstrap, mount, chroot).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="$(dirname "$HERE")"
ROOT="${WPS_DEBIAN_ROOT:-$PROJECT/.cache/debian13-root}"
SUITE="trixie"
MIRROR="${DEBIAN_MIRROR:-}"
PACKAGES="python3.13,python3.13-venv,redis-server,memcached"
TOOLS="nox>=2024.4"
# Change this line to make every existing root be built again.
RECIPE="2 $SUITE $PACKAGES $TOOLS"
STAMP=".wps-root-recipe"
# Inside the root.
SOURCE_DIR="/src"
CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt"

log() { printf '[debian-root] %s\n' "$*" >&2; }

# The first ".../debian" archive that apt uses here (deb822 or one-line sources).
apt_mirror() {
    local files=(/etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list)
    local file
    for file in "${files[@]}"; do
        [[ -f "$file" ]] || continue
        grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+/debian/?([[:space:]]|$)' \
            "$file" 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | head -n 1 && return
    done
    return 0
}

is_current() {
    [[ -f "$ROOT/$STAMP" ]] && [[ "$(cat "$ROOT/$STAMP")" == "$RECIPE" ]]
}

# Why the root cannot be built or entered here; empty when it can.
obstacle() {
    if [[ "$(id -u)" != 0 ]]; then
        echo "it needs root (debootstrap, mount and chroot)"
        return
    fi
    local tool
    for tool in unshare chroot mount; do
        command -v "$tool" >/dev/null 2>&1 || { echo "'$tool' is missing"; return; }
    done
    if ! is_current && ! command -v debootstrap >/dev/null 2>&1; then
        echo "the root is not built and debootstrap is missing (Debian: apt-get install debootstrap)"
        return
    fi
    if ! unshare --mount true >/dev/null 2>&1; then
        echo "'unshare --mount' is not permitted here"
        return
    fi
}

host_ca_bundle() {
    local candidate
    for candidate in "${PIP_CERT:-}" "${SSL_CERT_FILE:-}" "${REQUESTS_CA_BUNDLE:-}" "$CA_BUNDLE"; do
        if [[ -n "$candidate" && -f "$candidate" ]]; then
            echo "$candidate"
            return
        fi
    done
}

# Run a command in the root $1 inside a private mount namespace (see `run`).
enter() {
    local root="$1"
    shift
    unshare --mount --propagation private -- "$HERE/debian_root.sh" _inside "$root" "$@"
}

# The part of `run` that happens inside the mount namespace.
inside() {
    local root="$1"
    shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o size=4g,mode=1777 tmpfs "$root/tmp"
    mkdir -p "$root$SOURCE_DIR"
    mount --bind "$PROJECT" "$root$SOURCE_DIR"
    cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    local bundle
    bundle="$(host_ca_bundle)"
    if [[ -n "$bundle" ]]; then
        mkdir -p "$root$(dirname "$CA_BUNDLE")"
        cp -L "$bundle" "$root$CA_BUNDLE"
    fi
    local env=(
        "PATH=/opt/wps-tools/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        "HOME=/root"
        "LANG=C.UTF-8"
        "PIP_CERT=$CA_BUNDLE"
        "SSL_CERT_FILE=$CA_BUNDLE"
        "REQUESTS_CA_BUNDLE=$CA_BUNDLE"
        "PIP_DISABLE_PIP_VERSION_CHECK=1"
    )
    local name
    while IFS= read -r name; do
        case "$name" in
            CI | WPS_* | PG* | PYTEST_ADDOPTS | TERM | NO_COLOR | FORCE_COLOR \
                | http_proxy | https_proxy | no_proxy | HTTP_PROXY | HTTPS_PROXY | NO_PROXY)
                env+=("$name=${!name}")
                ;;
            PIP_INDEX_URL | PIP_EXTRA_INDEX_URL | PIP_DEFAULT_TIMEOUT)
                # A local directory of the host does not exist in the root.
                [[ "${!name}" == *file:* ]] || env+=("$name=${!name}")
                ;;
        esac
    done < <(compgen -e)
    exec chroot "$root" /usr/bin/env -i "${env[@]}" \
        /bin/sh -c 'cd "$0" && exec "$@"' "$SOURCE_DIR" "$@"
}

cmd_build() {
    if is_current; then
        log "$ROOT is up to date"
        return 0
    fi
    local why
    why="$(obstacle)"
    if [[ -n "$why" ]]; then
        log "cannot build the root: $why"
        return 1
    fi
    [[ -n "$MIRROR" ]] || MIRROR="$(apt_mirror)"
    [[ -n "$MIRROR" ]] || MIRROR="http://deb.debian.org/debian"
    local started=$SECONDS
    local temporary="$ROOT.building"
    rm -rf "$temporary"
    mkdir -p "$(dirname "$ROOT")"
    log "debootstrap $SUITE ($PACKAGES) from $MIRROR into $temporary"
    if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$temporary" "$MIRROR" \
        >"$temporary.log" 2>&1; then
        tail -n 30 "$temporary.log" >&2
        log "debootstrap failed; its log is $temporary.log"
        return 1
    fi
    rm -f "$temporary.log"
    log "installing $TOOLS into /opt/wps-tools"
    enter "$temporary" sh -c \
        "python3.13 -m venv /opt/wps-tools && /opt/wps-tools/bin/pip install --quiet '$TOOLS'"
    # Nothing that the package manager or pip cached is needed again.
    rm -rf "$temporary"/var/cache/apt/archives/*.deb "$temporary"/var/lib/apt/lists/*
    echo "$RECIPE" >"$temporary/$STAMP"
    rm -rf "$ROOT"
    mv "$temporary" "$ROOT"
    log "built $ROOT in $((SECONDS - started)) s"
}

cmd_available() {
    local why
    why="$(obstacle)"
    if [[ -n "$why" ]]; then
        echo "The Debian 13 root for Python 3.13 is not available: $why."
        return 1
    fi
    if is_current; then
        echo "The Debian 13 root for Python 3.13 is ready in $ROOT."
    else
        echo "The Debian 13 root for Python 3.13 can be built ('make py313-root')."
    fi
}

cmd_run() {
    [[ "${1:-}" == "--" ]] && shift
    if (($# == 0)); then
        log "nothing to run: give the command after '--'"
        return 2
    fi
    if ! is_current; then
        log "the root $ROOT is missing or out of date; build it with 'make py313-root'"
        return 1
    fi
    enter "$ROOT" "$@"
}

case "${1:-}" in
    build) cmd_build ;;
    available) cmd_available ;;
    run) shift; cmd_run "$@" ;;
    _inside) shift; inside "$@" ;;
    *)
        echo "usage: $0 build | available | run -- COMMAND [ARGS...]" >&2
        exit 2
        ;;
esac
