# Sourced by .ci/run: makes sure PostgreSQL and Redis run on loopback,
# starting them if they are down, creates a fresh database for this run and
# exports the variables the PostgreSQL and Redis suites read. Where a service
# cannot be had, the suites skip with one line saying how to enable them —
# but in CI (CI=true) a missing service fails the run.

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if command -v pg_isready >/dev/null 2>&1; then
  if ! pg_up && command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
fi
if command -v pg_isready >/dev/null 2>&1 && pg_up; then
  db="licensor_ci_$$_$(date +%s)"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  export LICENSOR_TEST_POSTGRES="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
  trap 'psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true' EXIT
  echo "PostgreSQL: $LICENSOR_TEST_POSTGRES"
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started"; exit 1
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
if command -v redis-server >/dev/null 2>&1 && ! redis_up; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi
if redis_up; then
  export LICENSOR_TEST_REDIS="redis://127.0.0.1:6379/15"
  echo "Redis: $LICENSOR_TEST_REDIS"
elif [ "${CI:-}" = "true" ]; then
  echo "Redis is not running on 127.0.0.1:6379 and could not be started"; exit 1
fi
