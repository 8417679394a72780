package harness

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func TestPortLeaseExcludesOtherHolders(t *testing.T) {
	dir := t.TempDir()
	a, err := leasePort(dir, 40001)
	if err != nil {
		t.Fatal(err)
	}
	// A second open file description is what another process has.
	if _, err := leasePort(dir, 40001); !errors.Is(err, errPortLeased) {
		t.Fatalf("second lease of a held port: err = %v, want errPortLeased", err)
	}
	other, err := leasePort(dir, 40002)
	if err != nil {
		t.Fatalf("lease of another port: %v", err)
	}
	if err := a.release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "40001")); !os.IsNotExist(err) {
		t.Errorf("released lease left its file: %v", err)
	}
	b, err := leasePort(dir, 40001)
	if err != nil {
		t.Fatalf("lease after release: %v", err)
	}
	for _, l := range []*portLease{b, other} {
		if err := l.release(); err != nil {
			t.Fatal(err)
		}
	}
}

// A process that opened the lease file just before its holder released
// it must not take its lock as the lease: the file at the path may be
// another holder's by then.
func TestPortLeaseOnARemovedFileReservesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "40003")
	a, err := leasePort(dir, 40003)
	if err != nil {
		t.Fatal(err)
	}
	late, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := a.release(); err != nil {
		t.Fatal(err)
	}
	c, err := leasePort(dir, 40003)
	if err != nil {
		t.Fatalf("lease after release: %v", err)
	}
	defer c.release()
	if _, err := lockLease(late, path); !errors.Is(err, errPortLeased) {
		t.Fatalf("lock on the removed file: err = %v, want errPortLeased", err)
	}
}

func TestLeasedFreePortsAreDistinct(t *testing.T) {
	dir := t.TempDir()
	seen := map[int]bool{}
	var leases []*portLease
	defer func() {
		for _, l := range leases {
			l.release()
		}
	}()
	for range 200 {
		p, l, err := leaseFreePort(dir, netip.MustParseAddr("127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, l)
		if seen[p] {
			t.Fatalf("port %d leased twice", p)
		}
		seen[p] = true
	}
}
