#!/usr/bin/env bash
# A real Tryton 8.2 accounting server (SQLite) on this machine, for ledgerlink's tests.
#
# usage: tools/tryton/setup.sh
# env:   LEDGERLINK_TRYTON_DIR  work dir (default $HOME/.cache/ledgerlink-tryton)
#        TRYTON_PORT            port on 127.0.0.1 (default 8000)
#        TRYTON_DB              database name (default tryton)
#        PYTHON                 python >= 3.10 (default python3)
#
# Idempotent: a running server is left alone; a stopped one is started on its existing
# database; only a missing or half-built work dir is built (about 30 s, PyPI only). The
# database has fiscal years from last year to next year; once that no longer covers
# yesterday, it is built anew.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"
trap 'fail "set-up failed at line $LINENO (see the output above)"' ERR

take_lock
cd "$WORK"
YEAR=$(date +%Y)
if [[ -f db/$DB.sqlite.template ]] && (( 10#$YEAR > 10#$(cat "db/$DB.year" 2>/dev/null || echo 0) + 1 )); then
    echo "tryton: the database's fiscal years may not reach into $YEAR; building it anew"
    rm -f "db/$DB.sqlite.template"
elif server_is_ours; then
    print_access
    exit 0
fi
STARTED=$(now)

# 1. venv; the marker is written only after a complete install.
T=$(now)
if [[ ! -f venv/.ledgerlink-installed ]]; then
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || fail "$PY is older than 3.10; set PYTHON"
    rm -rf venv
    "$PY" -m venv venv || fail "cannot create a venv (is python3-venv installed?)"
    venv/bin/pip install -q --disable-pip-version-check -r "$HERE/requirements.txt" \
        || fail "pip install from PyPI failed"
    touch venv/.ledgerlink-installed
    lap "pip install" "$T"
fi

# 2. database; the template is written last, so its presence means a complete build.
if [[ ! -f db/$DB.sqlite.template ]]; then
    stop_server
    write_config
    echo admin > passfile
    mkdir -p db
    rm -f "db/$DB.sqlite" "db/$DB.sqlite-wal" "db/$DB.sqlite-shm"
    touch "db/$DB.sqlite"   # the SQLite backend will not create the file
    T=$(now)
    # --email: on a fresh database trytond-admin otherwise prompts for it and dies in CI.
    TRYTONPASSFILE="$WORK/passfile" venv/bin/trytond-admin -c trytond.conf -d "$DB" \
        -u account_invoice account_product --activate-dependencies \
        --email admin@example.com > admin.log 2>&1 \
        || { tail -n 20 admin.log >&2; fail "trytond-admin failed (log: $WORK/admin.log)"; }
    lap "database + modules" "$T"
    T=$(now)
    venv/bin/python "$HERE/setup_company.py" trytond.conf "$DB" \
        || fail "company set-up failed"
    # proteus has exited, so the WAL is checkpointed and the copy is consistent.
    echo "$YEAR" > "db/$DB.year"
    cp "db/$DB.sqlite" "db/$DB.sqlite.tmp"
    mv "db/$DB.sqlite.tmp" "db/$DB.sqlite.template"
    lap "company, chart, taxes" "$T"
fi

# 3. server
T=$(now)
stop_server
start_server
lap "server start" "$T"
lap "total" "$STARTED"
print_access
