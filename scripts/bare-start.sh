#!/usr/bin/env bash
# A 3-member etcd cluster from nothing to healthy, by hand: a network,
# three `docker run -d` (TLS off), `etcdctl endpoint health` until every
# member answers. The baseline for etcdrill's "start a 3-member cluster".
# It prints the milliseconds from the start to healthy: the teardown is not
# timed, as etcdrill's step does not include it.
#
# usage: scripts/bare-start.sh [IMAGE]   (default etcdrill/etcd:v3.6.16)
set -euo pipefail
img=${1:-etcdrill/etcd:v3.6.16}
run=bare-$$-$RANDOM
t0=$(date +%s%N)
cleanup() {
	docker rm -f $run-m1 $run-m2 $run-m3 >/dev/null 2>&1 || true
	docker volume rm -f $run-m1 $run-m2 $run-m3 >/dev/null 2>&1 || true
	docker network rm $run-net >/dev/null 2>&1 || true
}
trap cleanup EXIT
docker network create $run-net >/dev/null
for m in m1 m2 m3; do
	docker run -d --name $run-$m --network $run-net --network-alias $m --hostname $m -v $run-$m:/var/lib/etcd "$img" \
		--name $m --data-dir /var/lib/etcd --listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://$m:2379 \
		--listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls http://$m:2380 \
		--initial-cluster m1=http://m1:2380,m2=http://m2:2380,m3=http://m3:2380 --initial-cluster-state new >/dev/null &
done; wait
until docker exec $run-m1 etcdctl --endpoints=http://m1:2379,http://m2:2379,http://m3:2379 endpoint health >/dev/null 2>&1; do :; done
echo $(( ($(date +%s%N) - t0) / 1000000 ))
