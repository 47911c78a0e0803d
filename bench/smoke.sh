#!/usr/bin/env bash
# Every script under bench/ in its --smoke mode (tiny N, the same functions and patches as the
# full run), on a PostgreSQL database created fresh, migrated and seeded small here; fails if
# any script fails (a script without --smoke fails too). Run by .ci/run; by hand:
#
#     BENCH_SMOKE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_mine \
#         BENCH_SMOKE_REDIS_DB=9 bench/smoke.sh
#
# The database (default crm_bench_smoke) is DROPPED and created again; the Redis database
# (default 5) is flushed and serves as broker and cache. No worker is shared: triage_throughput
# starts and stops its own worker on that database and broker (it is what it measures);
# intake_throughput enqueues triage without a worker and purges the queues at the end; the
# others need none. Logs: $BENCH_SMOKE_LOG_DIR (default var/bench-smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
URL=${BENCH_SMOKE_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm_bench_smoke}
REDIS_DB=${BENCH_SMOKE_REDIS_DB:-5}
LOG_DIR=${BENCH_SMOKE_LOG_DIR:-var/bench-smoke}
LIMIT=${BENCH_SMOKE_TIMEOUT:-120} # seconds per script
mkdir -p "$LOG_DIR"
began=$(date +%s)

name=${URL##*/}
psql "${URL%/*}/postgres" -q -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS \"$name\"" -c "CREATE DATABASE \"$name\""
redis-cli -n "$REDIS_DB" flushdb >/dev/null
export DATABASE_URL=$URL BENCH_DATABASE_URL=$URL
export CELERY_BROKER_URL=redis://127.0.0.1:6379/$REDIS_DB REDIS_URL=redis://127.0.0.1:6379/$REDIS_DB
export BENCH_BROKER_URL=$CELERY_BROKER_URL BENCH_REDIS_DB=$REDIS_DB
export LOG_LEVEL=WARNING OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
$PY manage.py migrate --noinput -v0
$PY manage.py seed_demo --viewers 300 --tickets 1000 --years 1 >"$LOG_DIR/seed.log" 2>&1 \
  || { tail -30 "$LOG_DIR/seed.log"; exit 1; }
echo "database $name migrated and seeded in $(($(date +%s) - began)) s"

failed=""
for script in bench/*.py; do
  log="$LOG_DIR/$(basename "$script" .py).log"
  started=$(date +%s)
  status=0
  timeout "$LIMIT" "$PY" "$script" --smoke >"$log" 2>&1 || status=$?
  took=$(($(date +%s) - started))
  if [ "$status" -eq 0 ]; then
    echo "ok    $script ($took s)"
  else
    echo "FAIL  $script ($took s; exit $status, 124 = over ${LIMIT} s; $log):"
    tail -25 "$log" | sed 's/^/      /'
    failed="$failed $script"
  fi
done
echo "bench smoke: $(($(date +%s) - began)) s in all"
if [ -n "$failed" ]; then
  echo "FAIL: bench scripts broken in --smoke mode:$failed"
  exit 1
fi
