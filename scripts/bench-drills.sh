#!/usr/bin/env bash
# Times etcdrill against the same steps scripted by hand, alternating
# runs so both see the same machine, and prints the medians and ratios:
#   - quorum-loss (TLS off) against scripts/bare-quorum-loss.sh;
#   - "start a 3-member cluster" (TLS on, read from a leader-kill drill's
#     report.json) against scripts/bare-start.sh (TLS off), each timed up
#     to healthy, without its teardown.
# Needs docker, the etcdrill/etcd image of VERSION, and bin/etcdrill.
#
# usage: scripts/bench-drills.sh [ROUNDS] [VERSION]   (default 5, 3.6.16)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
version=${2:-3.6.16}
img=etcdrill/etcd:v$version
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
: >"$out/drill" ; : >"$out/bare" ; : >"$out/start" ; : >"$out/barestart"
for r in $(seq 1 "$rounds"); do
	t=$(now); bin/etcdrill run quorum-loss --version "$version" --tls off --out "$out/runs-$r" >/dev/null 2>&1
	echo $(( ($(now) - t) / 1000000 )) >>"$out/drill"
	t=$(now); scripts/bare-quorum-loss.sh "$img"
	echo $(( ($(now) - t) / 1000000 )) >>"$out/bare"
	bin/etcdrill run leader-kill --version "$version" --tls on --out "$out/start-$r" >/dev/null 2>&1
	scripts/bare-start.sh "$img" >>"$out/barestart"
	for f in "$out"/start-$r/*/report.json; do
		go run ./scripts/stepms "$f" "start a 3-member cluster" >>"$out/start"
	done
	echo "round $r: quorum-loss $(tail -1 "$out/drill") ms, bare $(tail -1 "$out/bare") ms" >&2
done
d=$(median <"$out/drill"); b=$(median <"$out/bare")
printf 'quorum-loss (TLS off), median of %d: etcdrill %d ms, bare script %d ms, ratio %.2f\n' "$rounds" "$d" "$b" "$(echo "$d / $b" | bc -l)"
s=$(median <"$out/start"); bs=$(median <"$out/barestart")
printf '3-member cluster to healthy, median of %d: etcdrill (TLS on) %d ms, bare docker run (TLS off) %d ms, ratio %.2f\n' "$rounds" "$s" "$bs" "$(echo "$s / $bs" | bc -l)"
