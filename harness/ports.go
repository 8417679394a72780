package harness

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// portLeaseTries bounds how many free ports the kernel is asked for before
// hostPorts gives up: each try fails only when another etcdrill process
// holds the port it got.
const portLeaseTries = 64

// errPortLeased says another holder has the port.
var errPortLeased = errors.New("port leased by another etcdrill cluster")

// A portLease reserves a host port for one cluster across every etcdrill
// process of this user on this machine, for as long as the cluster lives.
//
// The kernel's free port is free only until something binds it, and a
// member's port is bound by Docker only once its container starts: in
// between (seconds, with concurrent members and certificates to copy), and
// whenever a member is stopped, the kernel can hand the same port to
// another cluster, and Docker then refuses the second start with "port is
// already allocated" (seen with two parallel suite processes). The lease
// is an flock on a file named after the port, so it dies with its process.
type portLease struct {
	f    *os.File
	path string
}

// leasePort takes the lease on port in dir, or returns errPortLeased.
func leasePort(dir string, port int) (*portLease, error) {
	path := filepath.Join(dir, strconv.Itoa(port))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("port lease %s: %w", path, err)
	}
	l, err := lockLease(f, path)
	if err != nil {
		f.Close()
	}
	return l, err
}

// lockLease locks f, opened at path, as the lease on its port.
func lockLease(f *os.File, path string) (*portLease, error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errPortLeased
		}
		return nil, fmt.Errorf("port lease %s: %w", path, err)
	}
	// A holder releasing removes the file before it unlocks, so a lock
	// taken on a file no longer at path reserves nothing: someone else may
	// hold the file now there.
	held, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("port lease %s: %w", path, err)
	}
	if now, err := os.Stat(path); err != nil || !os.SameFile(held, now) {
		return nil, errPortLeased
	}
	return &portLease{f: f, path: path}, nil
}

// release gives the port back.
func (l *portLease) release() error {
	err := os.Remove(l.path)
	return errors.Join(err, l.f.Close())
}

// leaseFreePort asks the kernel for a free port on addr until it gets one
// no other etcdrill cluster holds, and leases it.
func leaseFreePort(dir string, addr netip.Addr) (int, *portLease, error) {
	for range portLeaseTries {
		p, err := freePort(addr)
		if err != nil {
			return 0, nil, fmt.Errorf("host port on %s: %w", addr, err)
		}
		l, err := leasePort(dir, p)
		if errors.Is(err, errPortLeased) {
			continue
		}
		if err != nil {
			return 0, nil, err
		}
		return p, l, nil
	}
	return 0, nil, fmt.Errorf("host port on %s: %d free ports in a row were leased by other etcdrill clusters", addr, portLeaseTries)
}

// portLeaseDir is the directory the leases of every etcdrill process of
// this user meet in.
func portLeaseDir() (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "ports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("port leases: %w", err)
	}
	return dir, nil
}
