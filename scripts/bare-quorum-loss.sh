#!/usr/bin/env bash
# The quorum-loss drill's steps as an operator would script them by hand,
# with nothing but docker, etcdctl and etcdutl (TLS off): start 3 members,
# write 100 keys, save a snapshot on m1 and copy it off, lose m2 and m3
# with their disks, see a put refused, restore all 3 members from the
# snapshot with a new token, start them, count the keys. It is the
# baseline `scripts/bench-drills.sh` times etcdrill against.
#
# usage: scripts/bare-quorum-loss.sh [IMAGE]   (default etcdrill/etcd:v3.6.16)
set -euo pipefail
img=${1:-etcdrill/etcd:v3.6.16}
run=bare-$$-$RANDOM
net=$run-net
work=$(mktemp -d)
cleanup() {
	docker rm -f $run-m1 $run-m2 $run-m3 >/dev/null 2>&1 || true
	docker volume rm -f $run-m1 $run-m2 $run-m3 >/dev/null 2>&1 || true
	docker network rm $net >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
cluster="m1=http://m1:2380,m2=http://m2:2380,m3=http://m3:2380"
member() { # name token
	docker run -d --name $run-$1 --network $net --network-alias $1 --hostname $1 \
		-v $run-$1:/var/lib/etcd "$img" --name $1 --data-dir /var/lib/etcd \
		--listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://$1:2379 \
		--listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls http://$1:2380 \
		--initial-cluster $cluster --initial-cluster-token $2 --initial-cluster-state new >/dev/null
}
ctl() { docker exec $run-m1 etcdctl --endpoints=http://m1:2379,http://m2:2379,http://m3:2379 "$@"; }
healthy() { until ctl endpoint health >/dev/null 2>&1; do :; done; }

docker network create $net >/dev/null
for m in m1 m2 m3; do member $m $run & done; wait
healthy
# 100 puts in one transaction (etcdctl txn reads compares, then success
# ops, then failure ops, each ended by a blank line).
{ echo; for i in $(seq 1 100); do echo "put /bare/$i value-$i"; done; echo; echo; } |
	docker exec -i $run-m1 etcdctl --endpoints=http://m1:2379 txn >/dev/null
docker exec $run-m1 etcdctl --endpoints=http://m1:2379 snapshot save /tmp/snapshot.db >/dev/null 2>&1
docker cp $run-m1:/tmp/snapshot.db "$work/snapshot.db" >/dev/null
docker rm -f $run-m2 $run-m3 >/dev/null && docker volume rm $run-m2 $run-m3 >/dev/null
if docker exec $run-m1 etcdctl --endpoints=http://m1:2379 --command-timeout=2s put /bare/refused x >/dev/null 2>&1; then
	echo "a put was accepted without quorum" >&2; exit 1
fi
docker rm -f $run-m1 >/dev/null && docker volume rm $run-m1 >/dev/null
token=$run-restored
for m in m1 m2 m3; do
	docker run --rm -v $run-$m:/var/lib/etcd -v "$work":/backup:ro --entrypoint /usr/local/bin/etcdutl "$img" \
		snapshot restore /backup/snapshot.db --name $m --initial-cluster $cluster --initial-cluster-token $token \
		--initial-advertise-peer-urls http://$m:2380 --data-dir /var/lib/etcd/restored >/dev/null 2>&1 &
done; wait
for m in m1 m2 m3; do
	docker run -d --name $run-$m --network $net --network-alias $m --hostname $m \
		-v $run-$m:/var/lib/etcd "$img" --name $m --data-dir /var/lib/etcd/restored \
		--listen-client-urls http://0.0.0.0:2379 --advertise-client-urls http://$m:2379 \
		--listen-peer-urls http://0.0.0.0:2380 --initial-advertise-peer-urls http://$m:2380 >/dev/null &
done; wait
healthy
n=$(ctl get /bare/ --prefix --count-only --write-out=fields | sed -n 's/^"Count" : //p')
[ "$n" = 100 ] || { echo "want 100 keys after the restore, got $n" >&2; exit 1; }
