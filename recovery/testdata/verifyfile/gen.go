//go:build ignore

// gen writes the snapshot fixtures of verifyfile_test.go, from real etcd
// clusters: for each version a one-member cluster in a container gets puts,
// overwrites, deletes and one value larger than a page; then
//
//	v<version>/snapshot.db   etcdctl snapshot save (with its sha256)
//	v<version>/db            member/snap/db of the stopped member, cut to
//	                         the pages its meta page says are in use
//	v<version>/status.json   etcdutl 3.7.3 snapshot status of both
//
// Run from the module root (needs Docker and the etcdrill/etcd images):
//
//	go run recovery/testdata/verifyfile/gen.go
//
// genKeyspace in verifyfile_test.go applies the same history to a map to
// know the keyspace digest each file must give: change both together.
// Histories a real cluster is not needed for (a key deleted and
// re-created, several changes in one txn) are in synthetic/.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/etcdrill/etcdrill/harness"
	"github.com/etcdrill/etcdrill/recovery"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

const dir = "recovery/testdata/verifyfile"

// keys per version: the 3.6 fixture is big enough for branch pages.
var keys = map[string]int{"3.5.35": 12, "3.6.16": 400, "3.7.3": 12}

func main() {
	status := map[string]map[string]json.RawMessage{}
	for _, v := range []string{"3.5.35", "3.6.16", "3.7.3"} {
		snap, db := build(v)
		out := filepath.Join(dir, "v"+v)
		must(os.MkdirAll(out, 0o755))
		must(os.WriteFile(filepath.Join(out, "snapshot.db"), snap, 0o644))
		must(os.WriteFile(filepath.Join(out, "db"), db, 0o644))
		status[v] = map[string]json.RawMessage{"snapshot.db": etcdutlStatus(snap), "db": etcdutlStatus(db)}
		b, _ := json.MarshalIndent(status[v], "", "  ")
		must(os.WriteFile(filepath.Join(out, "status.json"), append(b, '\n'), 0o644))
	}
}

func build(v string) (snap, db []byte) {
	name := "svfix-" + v
	docker("rm", "-f", name)
	defer docker("rm", "-f", name)
	docker("run", "-d", "--name", name, "-p", "127.0.0.1::2379", "--entrypoint", "/usr/local/bin/etcd", "etcdrill/etcd:v"+v,
		"--data-dir=/var/lib/etcd", "--listen-client-urls=http://0.0.0.0:2379", "--advertise-client-urls=http://127.0.0.1:2379")
	port := strings.TrimSpace(strings.Split(docker("port", name, "2379/tcp"), "\n")[0])
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + port}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	must(err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n := keys[v]
	for i := range n {
		put(ctx, cli, fmt.Sprintf("/fixture/key-%04d", i), fmt.Sprintf("%064x", i*7919))
	}
	for i := 0; i < n; i += 4 { // overwrite a quarter: older revisions stay
		put(ctx, cli, fmt.Sprintf("/fixture/key-%04d", i), fmt.Sprintf("overwritten-%d", i))
	}
	for i := 1; i < n; i += 6 { // tombstones
		_, err := cli.Delete(ctx, fmt.Sprintf("/fixture/key-%04d", i))
		must(err)
	}
	put(ctx, cli, "/fixture/large", strings.Repeat("L", 10000)) // overflow pages
	put(ctx, cli, "/fixture/deleted-again", "x")
	_, err = cli.Delete(ctx, "/fixture/deleted-again")
	must(err)
	docker("exec", name, "/usr/local/bin/etcdctl", "snapshot", "save", "/var/lib/etcd-backup/snapshot.db")
	snap = copyOut(name, "/var/lib/etcd-backup/snapshot.db")
	docker("stop", name)
	db = copyOut(name, "/var/lib/etcd/member/snap/db")
	in, _ := recovery.CheckSnapshot(db)
	return snap, db[:in.Need()]
}

// put retries while the member is still starting.
func put(ctx context.Context, cli *clientv3.Client, k, v string) {
	must(harness.Poll(ctx, 100*time.Millisecond, func(ctx context.Context) error {
		_, err := cli.Put(ctx, k, v)
		return err
	}))
}

// etcdutlStatus runs etcdutl 3.7.3 snapshot status on data.
func etcdutlStatus(data []byte) json.RawMessage {
	name := "svfix-status"
	docker("rm", "-f", name)
	defer docker("rm", "-f", name)
	docker("create", "--name", name, "--entrypoint", "/usr/local/bin/etcdutl", "etcdrill/etcd:v3.7.3",
		"snapshot", "status", "/tmp/s.db", "--write-out=json")
	f, err := os.CreateTemp("", "svfix-*")
	must(err)
	defer os.Remove(f.Name())
	f.Write(data)
	f.Close()
	docker("cp", f.Name(), name+":/tmp/s.db")
	out := docker("start", "-a", name)
	st, err := recovery.ParseSnapshotStatus(out)
	must(err)
	b, _ := json.Marshal(st)
	return b
}

func copyOut(name, path string) []byte {
	f, err := os.CreateTemp("", "svfix-*")
	must(err)
	f.Close()
	defer os.Remove(f.Name())
	docker("cp", name+":"+path, f.Name())
	b, err := os.ReadFile(f.Name())
	must(err)
	return b
}

func docker(args ...string) string {
	var out bytes.Buffer
	cmd := exec.Command("docker", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil && args[0] != "rm" {
		log.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
