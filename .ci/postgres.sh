#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the PostgreSQL store's tests.
#
# Sourced by .ci/run:
#     source .ci/postgres.sh
#     postgres_start              # exports IDR_POSTGRES
#     trap postgres_stop EXIT     # stops the cluster and deletes its folder, even on failure
#
# Or run directly to wrap one command, for example to run the PostgreSQL tests locally:
#     .ci/postgres.sh dotnet test tests/IdentityReconciliation.PostgreSql.Tests -c Release
#
# It installs the Debian `postgresql` package when initdb/pg_ctl are missing (root, or password-less sudo), creates a
# cluster in a new temporary folder (owned by the `postgres` user when running as root, since the server refuses to
# run as root), listens only on 127.0.0.1 on a free port with its unix socket inside that folder, uses password
# authentication with a random password, and exports IDR_POSTGRES as an Npgsql connection string to the `postgres`
# database of the `postgres` superuser. The cluster favours speed over durability (fsync off): it is for tests only.
# With IDR_PG_DURABLE=1 the cluster is durable instead (fsync=on, synchronous_commit=on, full_page_writes=on), as a real
# deployment runs, for benchmark figures; anything else (the default, and what CI uses) keeps the fast settings:
#     IDR_PG_DURABLE=1 .ci/postgres.sh dotnet run --project bench/IdentityReconciliation.Benchmarks -c Release -- --store postgres
# Any default cluster the Debian package may have created is left alone; this one never uses its port or files.

_idr_pg_dir=""
_idr_pg_bin=""

_idr_pg_log() { echo "postgres.sh: $*" >&2; }

# Finds initdb and pg_ctl: on PATH, else in the newest /usr/lib/postgresql/*/bin, else installs the Debian package.
_idr_pg_find_bin() {
    local candidate
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        _idr_pg_bin="$(dirname "$(command -v pg_ctl)")"
        return 0
    fi

    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$candidate" && -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
        _idr_pg_bin="$candidate"
        return 0
    fi

    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            _idr_pg_log "initdb/pg_ctl not found, and installing the 'postgresql' package needs root: install it, or set IDR_POSTGRES to an existing server"
            return 1
        fi
    fi

    _idr_pg_log "installing the Debian 'postgresql' package"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql </dev/null >/dev/null

    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$candidate" || ! -x "$candidate/initdb" ]]; then
        _idr_pg_log "the 'postgresql' package is installed but initdb was not found under /usr/lib/postgresql/*/bin"
        return 1
    fi

    _idr_pg_bin="$candidate"
}

# Prints a TCP port that nothing listens on at 127.0.0.1.
_idr_pg_free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' && return 0
    fi

    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done

    return 1
}

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
_idr_pg_as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

postgres_start() {
    if [[ -n "$_idr_pg_dir" ]]; then
        _idr_pg_log "already started ($_idr_pg_dir)"
        return 0
    fi

    _idr_pg_find_bin || return 1

    if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi

    _idr_pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/idr-postgres.XXXXXXXX")"
    chmod 700 "$_idr_pg_dir"
    mkdir -p "$_idr_pg_dir/socket"
    local password
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" >"$_idr_pg_dir/pwfile"
    if [[ "$(id -u)" == 0 ]]; then
        chown -R postgres:postgres "$_idr_pg_dir"
    fi

    _idr_pg_as_owner "$_idr_pg_bin/initdb" -D "$_idr_pg_dir/data" -U postgres --pwfile="$_idr_pg_dir/pwfile" \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$_idr_pg_dir/initdb.log" 2>&1 \
        || { cat "$_idr_pg_dir/initdb.log" >&2; postgres_stop; return 1; }
    rm -f "$_idr_pg_dir/pwfile"

    # Fast by default (tests, CI); durable only when asked for, for benchmark figures of a real deployment.
    local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if [[ "${IDR_PG_DURABLE:-}" == 1 ]]; then
        durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    fi

    # A port is free when picked but may be taken before the server binds it: try a few.
    local port attempt
    for attempt in 1 2 3 4 5; do
        port="$(_idr_pg_free_port)" || { _idr_pg_log "no free port found"; postgres_stop; return 1; }
        if _idr_pg_as_owner "$_idr_pg_bin/pg_ctl" -D "$_idr_pg_dir/data" -l "$_idr_pg_dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $_idr_pg_dir/socket $durability -c max_connections=300" \
            start >/dev/null; then
            export IDR_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Password=$password;Database=postgres"
            _idr_pg_log "PostgreSQL $("$_idr_pg_bin/pg_ctl" --version | awk '{print $3}') listening on 127.0.0.1:$port, data in $_idr_pg_dir, $([[ "${IDR_PG_DURABLE:-}" == 1 ]] && echo durable || echo "fsync off") (IDR_POSTGRES exported)"
            return 0
        fi

        _idr_pg_log "start on port $port failed (attempt $attempt):"
        tail -n 5 "$_idr_pg_dir/server.log" >&2 || true
    done

    postgres_stop
    return 1
}

postgres_stop() {
    if [[ -z "$_idr_pg_dir" ]]; then
        return 0
    fi

    if [[ -f "$_idr_pg_dir/data/postmaster.pid" ]]; then
        _idr_pg_as_owner "$_idr_pg_bin/pg_ctl" -D "$_idr_pg_dir/data" -m immediate -w -t 60 stop >/dev/null 2>&1 \
            || _idr_pg_log "pg_ctl stop failed; see $_idr_pg_dir/server.log"
    fi

    rm -rf "$_idr_pg_dir"
    _idr_pg_dir=""
    unset IDR_POSTGRES
}

# Run directly: start, run the given command with IDR_POSTGRES set, stop whatever happens, and exit with its status.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    if [[ $# -eq 0 ]]; then
        echo "usage: $0 COMMAND [ARGS...]   (runs COMMAND with IDR_POSTGRES pointing at a throw-away cluster)" >&2
        echo "   or: source $0 && postgres_start && trap postgres_stop EXIT" >&2
        exit 2
    fi

    trap postgres_stop EXIT
    postgres_start
    status=0
    "$@" || status=$?
    exit "$status"
fi
