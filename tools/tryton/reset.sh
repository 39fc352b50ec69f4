#!/usr/bin/env bash
# Puts the test database back to its freshly set-up state and restarts the server (~2 s).
# usage: tools/tryton/reset.sh      (same env as setup.sh; run setup.sh once before)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

take_lock
[[ -f $WORK/db/$DB.sqlite.template ]] || fail "no database in $WORK; run $HERE/setup.sh first"
T=$(now)
stop_server
# SQLite runs in WAL mode: a stale -wal would be replayed onto the restored file.
rm -f "$WORK/db/$DB.sqlite-wal" "$WORK/db/$DB.sqlite-shm"
cp "$WORK/db/$DB.sqlite.template" "$WORK/db/$DB.sqlite"
start_server
lap "reset" "$T"
print_access
