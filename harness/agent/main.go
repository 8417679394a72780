// Command etcdrill-agent is the helper etcdrill builds into every member
// image. It sets netem (delay, jitter, loss) on the network interface
// that holds a given IP address, through netlink, as `tc qdisc replace
// dev <if> root netem ...` does, and holds it until it is stopped
// (SIGTERM), when it clears it again. It runs in a sidecar container that
// shares the member's network namespace and alone has NET_ADMIN, so etcd
// itself never gets the capability. On a kernel without sch_netem it
// shapes the egress to --peers in user space instead (see shape.go).
//
//	etcdrill-agent netem --addr 172.18.0.3 --delay 100ms --jitter 20ms --loss 5% --peers 172.18.0.2,172.18.0.4
//	etcdrill-agent clear --addr 172.18.0.3
//	etcdrill-agent show  --addr 172.18.0.3
//
// The harness compiles this file into a module of its own (it is embedded
// in the harness package), so it imports nothing from etcdrill.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "etcdrill-agent:", err)
		os.Exit(1)
	}
}

const usage = "usage: etcdrill-agent netem|clear|show --addr IP [--delay D] [--jitter D] [--loss P%]"

func run(args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	addr := fs.String("addr", "", "IP address of the interface to shape")
	delay := fs.Duration("delay", 0, "added one-way delay on egress")
	jitter := fs.Duration("jitter", 0, "random variation of the delay")
	loss := fs.String("loss", "0%", "share of egress packets dropped, in percent")
	peers := fs.String("peers", "", "comma-separated peer IPs, shaped in user space when the kernel has no sch_netem")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q; %s", fs.Arg(0), usage)
	}
	link, err := linkByAddr(*addr)
	if err != nil {
		return err
	}
	switch args[0] {
	case "netem":
		pct, err := percent(*loss)
		if err != nil {
			return err
		}
		ips, err := parseIPs(*peers)
		if err != nil {
			return err
		}
		return hold(link, net.ParseIP(*addr), ips, *delay, *jitter, pct)
	case "clear":
		return clearNetem(link)
	case "show":
		return show(link)
	default:
		return fmt.Errorf("unknown command %q; %s", args[0], usage)
	}
}

// linkByAddr finds the interface that holds ip in this network namespace.
func linkByAddr(s string) (netlink.Link, error) {
	ip := net.ParseIP(s)
	if ip == nil {
		return nil, fmt.Errorf("--addr %q: not an IP address", s)
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if a.IP.Equal(ip) {
			l, err := netlink.LinkByIndex(a.LinkIndex)
			if err != nil {
				return nil, fmt.Errorf("interface of %s: %w", ip, err)
			}
			return l, nil
		}
	}
	return nil, fmt.Errorf("no interface holds %s", ip)
}

func parseIPs(s string) ([]net.IP, error) {
	var out []net.IP
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		ip := net.ParseIP(f).To4()
		if ip == nil {
			return nil, fmt.Errorf("--peers: %q is not an IPv4 address", f)
		}
		out = append(out, ip)
	}
	return out, nil
}

// hold applies the shaping, says so on stdout (the harness waits for that
// line), and keeps it until SIGTERM or SIGINT, then removes it.
func hold(link netlink.Link, src net.IP, peers []net.IP, delay, jitter time.Duration, loss float32) error {
	if delay < 0 || jitter < 0 || jitter > delay && delay > 0 {
		return fmt.Errorf("delay %s, jitter %s: want 0 <= jitter <= delay", delay, jitter)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	err := setNetem(link, delay, jitter, loss)
	if err == nil {
		<-sig
		return clearNetem(link)
	}
	if !errors.Is(err, unix.ENOENT) {
		return err
	}
	s, serr := startShaper(link, src, peers, delay, jitter, loss)
	if serr != nil {
		return fmt.Errorf("%w; user-space shaping: %w", err, serr)
	}
	fmt.Printf("shaping on %s (this kernel has no sch_netem; egress to %d peers in user space via %s): delay %s jitter %s loss %g%%\n",
		link.Attrs().Name, len(peers), tunName, delay, jitter, loss)
	<-sig
	fmt.Printf("shaping on %s removed: %s\n", link.Attrs().Name, s.close())
	return nil
}

// percent parses "5%" or "5" into 5.
func percent(s string) (float32, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 32)
	if err != nil || f < 0 || f > 100 {
		return 0, fmt.Errorf("--loss %q: want a percentage from 0 to 100", s)
	}
	return float32(f), nil
}

func root(link netlink.Link) netlink.QdiscAttrs {
	return netlink.QdiscAttrs{LinkIndex: link.Attrs().Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT}
}

// setNetem replaces the root qdisc of link with netem: idempotent, and a
// second call changes the figures in place.
func setNetem(link netlink.Link, delay, jitter time.Duration, loss float32) error {
	q := netlink.NewNetem(root(link), netlink.NetemQdiscAttrs{
		Latency: uint32(delay.Microseconds()), Jitter: uint32(jitter.Microseconds()), Loss: loss,
	})
	if err := netlink.QdiscReplace(q); err != nil {
		return fmt.Errorf("netem qdisc on %s: %w", link.Attrs().Name, err)
	}
	fmt.Printf("netem on %s: delay %s jitter %s loss %g%%\n", link.Attrs().Name, delay, jitter, loss)
	return nil
}

// clearNetem deletes the root qdisc, so the kernel's default comes back.
// Clearing an interface without netem is not an error.
func clearNetem(link netlink.Link) error {
	q := &netlink.GenericQdisc{QdiscAttrs: root(link), QdiscType: "netem"}
	err := netlink.QdiscDel(q)
	if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear netem on %s: %w", link.Attrs().Name, err)
	}
	fmt.Printf("netem on %s cleared\n", link.Attrs().Name)
	return nil
}

func show(link netlink.Link) error {
	qs, err := netlink.QdiscList(link)
	if err != nil {
		return fmt.Errorf("qdiscs of %s: %w", link.Attrs().Name, err)
	}
	for _, q := range qs {
		if n, ok := q.(*netlink.Netem); ok {
			fmt.Printf("%s: netem delay %dus jitter %dus loss %.2f%%\n", link.Attrs().Name, n.Latency, n.Jitter, float64(n.Loss)*100/(1<<32-1))
			continue
		}
		fmt.Printf("%s: %s\n", link.Attrs().Name, q.Type())
	}
	return nil
}
