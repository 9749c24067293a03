#!/usr/bin/env bash
# one-pool-servers.sh: request+return cycles on one pool, with the clients
# spread over one or several `licensor serve --db` processes that share one
# PostgreSQL database, as in BENCHMARKS.md ("Three servers on one pool").
#
#   bench/one-pool-servers.sh LICENSOR POSTGRES_URL SERVERS [CLIENTS [GENERATORS]]
#
# SCENARIO=refresh runs GetLicense refreshes instead (each generator its
# own 1,000 instances, checked in once before counting), with the same
# measurements per license; BENCH_ARGS adds flags to every generator
# (--instances 1000000: every call a new instance, no check-in before).
# LICENSOR is a built ./cmd/licensor; POSTGRES_URL names a server on which the
# script creates, and afterwards drops, a database of its own
# (postgres://user@127.0.0.1:5432/postgres?sslmode=disable). GENERATORS
# load generators (default 3) each run CLIENTS closed-loop clients (default
# 21) on one fresh contract; generator i talks to server i mod SERVERS.
# Servers listen on 127.0.0.1:17441 and up (metrics on 17641 and up).
# Everything stays on loopback and ends after a 3 s warm-up and 10 s of
# counting.
#
# It prints the cycles per second of each generator, and per counted cycle:
# the servers' CPU (all, then each), PostgreSQL's CPU (when it runs on this machine, from the
# postmaster named by PGDATA, children included), and the database's
# commits, WAL syncs and WAL bytes; then the servers' lock waits
# (licensor_store_lock_*, since they started). Set SERVER_ENV (for example
# GOMAXPROCS=1) to pass an environment variable to the servers, and
# STATEMENTS=1 to print the statements that took PostgreSQL the most time
# (the pg_stat_statements extension must be loaded and in template1).
# SEPARATE=1 gives each generator a fresh contract of its own, so a pool
# of its own: the same load without a shared hot row, to tell what one
# shared pool costs from what several processes on one machine cost.
# PROFILE=dir writes each server's CPU profile of 9 counted seconds to
# dir/serverN.prof (go tool pprof LICENSOR dir/server1.prof).
set -euo pipefail

bin=$1 url=$2 servers=$3 clients=${4:-21} gens=${5:-3}
admin_url=$url
db=licensor_bench_$$
dburl=$(sed -E "s#/[^/?]*(\?|$)#/$db\1#" <<<"$url")
work=$(mktemp -d)
pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
	rm -rf "$work"
}
trap cleanup EXIT
psql -q "$admin_url" -c "CREATE DATABASE $db"
sql() { psql -qAt "$dburl" -c "$1"; }

serve() { # i, extra flags
	local i=$1
	shift
	mkdir -p "$work/d$i"
	env ${SERVER_ENV:-} "$bin" serve --data "$work/d$i" --db "$dburl" --listen "127.0.0.1:$((17440 + i))" \
		--metrics-listen "127.0.0.1:$((17640 + i))" ${PROFILE:+--pprof "127.0.0.1:$((17540 + i))"} "$@" >"$work/d$i/log" 2>&1 &
	pids+=($!)
}
serve 1 --demo
until [ -s "$work/d1/demo.json" ]; do sleep 0.1; done
"$bin" admin tenant update --demo-file "$work/d1/demo.json" --token "$(cat "$work/d1/operator-token")" \
	--tenant "$(jq -r .tenant_id "$work/d1/demo.json")" --concurrency-limit 1000 >/dev/null
for i in $(seq 2 "$servers"); do
	mkdir -p "$work/d$i"
	cp "$work/d1/master.key" "$work/d$i/"
	serve "$i" --tls-cert "$work/d1/tls-cert.pem" --tls-key "$work/d1/tls-key.pem"
done
for i in $(seq 2 "$servers"); do
	until grep -q "licensor serving" "$work/d$i/log" 2>/dev/null; do sleep 0.1; done
done
for g in $(seq "$gens"); do
	# SEPARATE=1: a fresh contract (and so a pool) per generator, else one for all.
	if [ "$g" = 1 ] || [ -n "${SEPARATE:-}" ]; then
		"$bin" bench capabilities --demo-file "$work/d1/demo.json" --fresh-contract \
			--save-contract "$work/contract$g.json" -n 1 >/dev/null
	else
		cp "$work/contract1.json" "$work/contract$g.json"
	fi
done

ticks() { # user+system ticks of the given processes and of their reaped children
	local t=0 p f
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		read -ra f <<<"$(sed 's/^.*) //' "/proc/$p/stat")"
		t=$((t + f[11] + f[12] + f[13] + f[14]))
	done
	echo "$t"
}
pg=()
if [ -n "${PGDATA:-}" ] && [ -r "$PGDATA/postmaster.pid" ]; then
	pm=$(head -1 "$PGDATA/postmaster.pid")
	pgprocs() { echo "$pm" $(pgrep -P "$pm"); }
else
	pgprocs() { :; }
fi
counters() { sql "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), wal_sync, wal_bytes FROM pg_stat_wal" | tr '|' ' '; }

# route g: the server generator g talks to. ROUTE=contract sends it to the
# server its contract id hashes to, as a balancer with affinity by contract
# (a hash of the Authorization header: a contract token) would; ROUTE=N
# sends every generator to server N; by default generator g talks to
# server g mod SERVERS.
route() {
	if [[ "${ROUTE:-}" =~ ^[0-9]+$ ]]; then
		echo "$ROUTE"
	elif [ "${ROUTE:-}" = contract ]; then
		echo $(($(jq -r .contract_id "$work/contract$1.json" | cksum | cut -d' ' -f1) % servers + 1))
	else
		echo $((($1 - 1) % servers + 1))
	fi
}
if [ "${SCENARIO:-}" = refresh ] && [ -z "${BENCH_ARGS:-}" ]; then
	# Check every generator's instances in once before counting, so that
	# the figures are refreshes, not first check-ins (seats taken).
	for g in $(seq "$gens"); do
		s=$(route "$g")
		"$bin" bench refresh --server "https://127.0.0.1:$((17440 + s))" --ca-cert "$work/d1/tls-cert.pem" \
			--contract-file "$work/contract$g.json" --prefix "g$g-" -c 8 -n 1000 >/dev/null 2>&1
	done
fi
[ -n "${STATEMENTS:-}" ] && sql "SELECT pg_stat_statements_reset()" >/dev/null
read -r c0 s0 b0 <<<"$(counters)"
p0=$(ticks $(pgprocs)) v0=$(ticks "${pids[@]}")
each0=() && for p in "${pids[@]}"; do each0+=("$(ticks "$p")"); done
gp=() routes=""
for g in $(seq "$gens"); do
	s=$(route "$g")
	routes+="$g>$s "
	"$bin" bench "${SCENARIO:-capabilities}" --server "https://127.0.0.1:$((17440 + s))" --ca-cert "$work/d1/tls-cert.pem" \
		--contract-file "$work/contract$g.json" --prefix "g$g-" -c "$clients" --warmup 3s -d 10s -o json ${BENCH_ARGS:-} \
		>"$work/gen$g.json" 2>"$work/gen$g.err" &
	gp+=($!)
done
if [ -n "${PROFILE:-}" ]; then
	mkdir -p "$PROFILE"
	for i in $(seq "$servers"); do
		(sleep 3 && curl -sf -o "$PROFILE/server$i.prof" "http://127.0.0.1:$((17540 + i))/debug/pprof/profile?seconds=9") &
		gp+=($!)
	done
fi
wait "${gp[@]}"
read -r c1 s1 b1 <<<"$(counters)"
p1=$(ticks $(pgprocs)) v1=$(ticks "${pids[@]}")
each1=() && for p in "${pids[@]}"; do each1+=("$(ticks "$p")"); done

n=0 rates=""
for g in $(seq "$gens"); do
	n=$((n + $(jq .successes "$work/gen$g.json")))
	rates+="$(jq '.throughput_per_s | floor' "$work/gen$g.json") "
done
hz=$(getconf CLK_TCK)
each=""
for i in "${!pids[@]}"; do each+="$(((each1[i] - each0[i]) * 1000000 / hz / n)) "; done
echo "servers $servers, $gens generators x $clients clients, ${SCENARIO:-capabilities}: per second ${rates}(counted $n; generator>server ${routes% })"
echo "per call: servers' CPU $(((v1 - v0) * 1000000 / hz / n)) us (${each% }: server 1 first)," \
	"PostgreSQL CPU $([ -n "${PGDATA:-}" ] && echo "$(((p1 - p0) * 1000000 / hz / n)) us" || echo "not measured")," \
	"commits $(bc <<<"scale=2; ($c1 - $c0) / $n"), WAL syncs $(bc <<<"scale=2; ($s1 - $s0) / $n")," \
	"WAL $(((${b1%.*} - ${b0%.*}) / n)) B"
lockwaits() { # kind: transactions and seconds waited, summed over the servers
	for i in $(seq "$servers"); do
		curl -sf "http://127.0.0.1:$((17640 + i))/metrics" | grep "^licensor_store_lock_.*lock=\"$1\"" || true
	done | awk '/transactions/ {n += $2} /wait_seconds/ {w += $2} END {printf "%d transactions, mean wait %d us", n, n ? w * 1e6 / n : 0}'
}
echo "(CPU and database counters include the warm-up: an upper bound)"
echo "lock waits since start: pool $(lockwaits pool); contract $(lockwaits contract)"
if [ -n "${STATEMENTS:-}" ]; then
	echo "calls | total ms | mean us | statement"
	sql "SELECT calls, round(total_exec_time), round(mean_exec_time * 1000), left(regexp_replace(query, '\s+', ' ', 'g'), 100)
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 12"
fi
