// A module of its own, so that bbolt stays out of etcdrill's go.mod: the
// fixtures it writes are read by etcdrill's own bbolt reader.
module github.com/etcdrill/etcdrill/recovery/testdata/verifyfile/synthetic

go 1.26.8

require (
	go.etcd.io/bbolt v1.5.0
	go.etcd.io/etcd/api/v3 v3.6.16
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
