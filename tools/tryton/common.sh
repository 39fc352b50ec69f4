# Shared by setup.sh and reset.sh (sourced, not run).
# env: LEDGERLINK_TRYTON_DIR, TRYTON_PORT, TRYTON_DB, PYTHON

TOOLS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${LEDGERLINK_TRYTON_DIR:-$HOME/.cache/ledgerlink-tryton}
PORT=${TRYTON_PORT:-8000}
DB=${TRYTON_DB:-tryton}
PY=${PYTHON:-python3}
URL="http://127.0.0.1:$PORT"
API_USER=connector
API_PASSWORD=connector-Secret-42

fail() {
    echo "tryton: $*" >&2
    exit 1
}

# Parallel test processes call these scripts at once: one at a time per work dir.
# fd 9 must not leak into trytond, or the server would hold the lock forever.
take_lock() {
    mkdir -p "$WORK" || fail "cannot create $WORK"
    exec 9>"$WORK/.lock"
    flock -w 900 9 || fail "timed out waiting for another set-up in $WORK"
}

now() { date +%s.%N; }
lap() { awk -v label="$1" -v from="$2" -v to="$(now)" 'BEGIN { printf "  %-26s %6.2f s\n", label, to - from }'; }

for tool in curl flock awk setsid; do
    command -v "$tool" > /dev/null || fail "needs '$tool' on the PATH"
done

# The databases the server on $PORT offers; fails when nothing answers there.
served_databases() {
    curl -sf --max-time 5 -H 'Content-Type: application/json' \
        -d '{"id":0,"method":"common.db.list","params":[]}' "$URL/rpc/"
}

server_is_ours() {
    local answer
    answer=$(served_databases) || return 1
    [[ $answer == *"\"$DB\""* ]]
}

write_config() {
    cat > "$WORK/trytond.conf" <<CONF
[database]
uri = sqlite://
path = $WORK/db
list = True
[web]
listen = 127.0.0.1:$PORT
[session]
# defaults: 300 s of inactivity, 5 failed logins -> HTTP 429
timeout = 3600
max_attempt = 1000
[password]
length = 8
CONF
}

stop_server() {
    local pid
    [[ -f $WORK/trytond.pid ]] || return 0
    pid=$(cat "$WORK/trytond.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 200); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && fail "trytond (pid $pid) does not stop"
    fi
    rm -f "$WORK/trytond.pid"
}

start_server() {
    if (: < "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null; then
        fail "port $PORT is taken by another program (not this work dir's Tryton); stop it or set TRYTON_PORT"
    fi
    write_config
    # One request at a time (see serve.py). setsid: the server outlives the shell or the
    # test that started it.
    setsid "$WORK/venv/bin/python" "$TOOLS/serve.py" "$WORK/trytond.conf" "$DB" \
        127.0.0.1 "$PORT" "$WORK/trytond.pid" < /dev/null > "$WORK/trytond.log" 2>&1 9>&- &
    local pid=$!
    for _ in $(seq 1 600); do
        server_is_ours && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    tail -n 20 "$WORK/trytond.log" >&2
    fail "trytond did not come up on $URL (log: $WORK/trytond.log)"
}

print_access() {
    cat <<INFO
Tryton 8.2 is running:
  url       $URL  (JSON-RPC: $URL/$DB/rpc/)
  database  $DB
  user      $API_USER
  password  $API_PASSWORD
  admin     admin / admin
  work dir  $WORK  (log trytond.log, pid trytond.pid)
INFO
}
