#!/usr/bin/env bash
# A 3-master Redis Cluster on free loopback ports, for trying Switchboard (and its fault suite) on a cluster.
#   scripts/redis-cluster.sh start [DIR]    starts it (state in DIR, default a new temp dir); prints
#                                           REDIS_CLUSTER_NODES=… and REDIS_CLUSTER_DIR=…
#   scripts/redis-cluster.sh restart DIR    SIGKILLs the nodes and starts them again, empty (no persistence;
#                                           the topology survives in nodes.conf)
#   scripts/redis-cluster.sh stop DIR       stops the nodes and removes DIR
set -euo pipefail

command=${1:-}
dir=${2:-}

free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

start_node() {
  local port=$1
  mkdir -p "$dir/$port"
  # No RDB or AOF: a restart comes back empty, as in the single-Redis fault case. The cluster bus is port+10000.
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" --cluster-enabled yes \
    --cluster-config-file nodes.conf --cluster-node-timeout 3000 --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/$port/redis.pid" --logfile "$dir/$port/redis.log"
}

wait_ping() {
  local port=$1
  for _ in $(seq 1 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "redis-server on $port did not start (see $dir/$port/redis.log)" >&2
  return 1
}

wait_ok() {
  for _ in $(seq 1 150); do
    local ok=1
    for port in $(cat "$dir/ports"); do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || ok=0
    done
    [ "$ok" = 1 ] && return 0
    sleep 0.2
  done
  echo "the cluster in $dir did not reach cluster_state:ok" >&2
  return 1
}

stop_nodes() {
  local signal=$1
  for port in $(cat "$dir/ports"); do
    local pidfile="$dir/$port/redis.pid"
    if [ -f "$pidfile" ]; then
      local pid
      pid=$(cat "$pidfile")
      kill "-$signal" "$pid" 2>/dev/null || true
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
      rm -f "$pidfile"
    fi
  done
}

case "$command" in
  start)
    dir=${dir:-$(mktemp -d -t switchboard-redis-cluster-XXXXXX)}
    mkdir -p "$dir"
    ports=()
    next=${REDIS_CLUSTER_BASE_PORT:-7100}
    for _ in 1 2 3; do
      port=$(free_port "$next")
      ports+=("$port")
      next=$((port + 1))
    done
    echo "${ports[*]}" >"$dir/ports"
    for port in "${ports[@]}"; do start_node "$port"; done
    for port in "${ports[@]}"; do wait_ping "$port"; done
    redis-cli --cluster create $(printf '127.0.0.1:%s ' "${ports[@]}") --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
      { cat "$dir/create.log" >&2; exit 1; }
    wait_ok
    echo "REDIS_CLUSTER_NODES=$(printf '127.0.0.1:%s,' "${ports[@]}" | sed 's/,$//')"
    echo "REDIS_CLUSTER_DIR=$dir"
    ;;
  restart)
    [ -n "$dir" ] && [ -f "$dir/ports" ] || { echo "usage: $0 restart DIR" >&2; exit 2; }
    stop_nodes KILL
    for port in $(cat "$dir/ports"); do start_node "$port"; done
    for port in $(cat "$dir/ports"); do wait_ping "$port"; done
    wait_ok
    ;;
  kill)
    [ -n "$dir" ] && [ -f "$dir/ports" ] || { echo "usage: $0 kill DIR" >&2; exit 2; }
    stop_nodes KILL
    ;;
  stop)
    [ -n "$dir" ] && [ -f "$dir/ports" ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    stop_nodes TERM
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start [DIR] | restart DIR | kill DIR | stop DIR" >&2
    exit 2
    ;;
esac
