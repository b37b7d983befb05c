#!/bin/bash
# The alarm load of the simulator's mixed ward against one service version:
# a fresh SQLite database, the service on its own port, 12 simulated patients
# for 120 simulated minutes at 10x, then every alarm entry and session saved
# as JSON (and, where the service has it, its alarm-load report).
#
#   bench/alarm_load.sh NAME VENV PORT [SEED]
#
# NAME: the output folder under $OUT (default /tmp/vitalwatch-alarm-load);
# VENV: the virtualenv of the service version to run (its `vitalwatch serve`);
# the simulator is always this checkout's (.venv/bin/vitalwatch simulate), so
# both versions see the same readings. docs/performance.md has the figures.
set -eu
NAME=$1 VENV=$2 PORT=$3 SEED=${4:-1}
HERE=$(cd "$(dirname "$0")/.." && pwd)
DIR=${OUT:-/tmp/vitalwatch-alarm-load}/$NAME
mkdir -p "$DIR"
cd "$DIR"
export VITALWATCH_DATABASE_URL=sqlite+aiosqlite:///$DIR/vw.db VITALWATCH_PORT=$PORT \
       VITALWATCH_ENVIRONMENT=development VITALWATCH_LOG_LEVEL=WARNING
"$VENV/bin/vitalwatch" users create sim-admin --role admin --password sim-password-1 > users.log
"$VENV/bin/vitalwatch" serve > server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$PORT/readyz" > /dev/null && break; sleep 0.5; done
"$HERE/.venv/bin/vitalwatch" simulate --url "http://127.0.0.1:$PORT" --user sim-admin \
    --password sim-password-1 --patients 12 --scenario mixed --speed 10 --seed "$SEED" \
    --duration-min 120 > sim.out 2>&1
TOKEN=$(curl -s -X POST -d username=sim-admin -d password=sim-password-1 \
    "http://127.0.0.1:$PORT/api/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
get() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$1"; }
get "/api/v1/alarms?limit=5000" > alarms.json
get "/api/v1/sessions?limit=1000" > sessions.json
get "/api/v1/reports/alarm-load?group_by=rule" > report.json || rm -f report.json
python3 - <<'EOF'
import collections, json
alarms = [a for a in json.load(open("alarms.json")) if a["session_id"] is not None]
rules = collections.Counter(a["rule"].split(":")[0] for a in alarms)
hours = 12 * 2.0  # simulated patient-hours: 12 patients x 120 simulated min
print(f"{len(alarms)} alarm entries, {len(alarms) / hours:.3f} per simulated patient-hour;",
      dict(sorted(rules.items())))
EOF
