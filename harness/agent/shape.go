package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A kernel built without sch_netem (some microVM kernels) cannot delay
// packets at all: no other qdisc it may have adds latency. The shaper
// then does netem's work in user space, for egress to the given peers
// only: a route per peer sends their packets to a TUN device; the agent
// reads each packet, drops it with the loss probability or holds it for
// delay ± jitter, and writes it out of the real interface with a packet
// socket, addressed to the peer's MAC. Replies come back directly, as
// they do with netem on egress. When the agent exits, for whatever
// reason, the TUN device and its routes vanish with it and traffic takes
// the direct path again, so removing the sidecar always heals the link.

const tunName = "etcdrill0"

type shaper struct {
	link          netlink.Link
	tun           *os.File
	pkt           int
	macs          map[[4]byte]net.HardwareAddr
	delay, jitter time.Duration
	loss          float64 // 0..1
	routes        []netlink.Route

	mu                     sync.Mutex
	last                   time.Time // due time of the last packet queued: order is kept
	q                      chan queued
	sent, dropped, unknown int
}

type queued struct {
	due time.Time
	dst [4]byte
	b   []byte
}

// startShaper sets the TUN device and routes up and starts forwarding.
func startShaper(link netlink.Link, src net.IP, peers []net.IP, delay, jitter time.Duration, lossPct float32) (*shaper, error) {
	if len(peers) == 0 {
		return nil, fmt.Errorf("no sch_netem in this kernel, and no --peers to shape in user space")
	}
	s := &shaper{link: link, delay: delay, jitter: jitter, loss: float64(lossPct) / 100, macs: map[[4]byte]net.HardwareAddr{}, q: make(chan queued, 4096)}
	if err := s.resolve(peers); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(tunName)
	if err != nil {
		return nil, err
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create %s: %w", tunName, err)
	}
	s.tun = os.NewFile(uintptr(fd), "/dev/net/tun")
	tun, err := netlink.LinkByName(tunName)
	if err != nil {
		s.close()
		return nil, err
	}
	if err := netlink.LinkSetMTU(tun, link.Attrs().MTU); err != nil {
		s.close()
		return nil, fmt.Errorf("mtu of %s: %w", tunName, err)
	}
	if err := netlink.LinkSetUp(tun); err != nil {
		s.close()
		return nil, fmt.Errorf("up %s: %w", tunName, err)
	}
	if s.pkt, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP))); err != nil {
		s.close()
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	for _, p := range peers {
		r := netlink.Route{LinkIndex: tun.Attrs().Index, Dst: &net.IPNet{IP: p.To4(), Mask: net.CIDRMask(32, 32)}, Src: src, Scope: netlink.SCOPE_LINK}
		if err := netlink.RouteReplace(&r); err != nil {
			s.close()
			return nil, fmt.Errorf("route %s via %s: %w", p, tunName, err)
		}
		s.routes = append(s.routes, r)
	}
	go s.read()
	go s.write()
	return s, nil
}

// resolveTimeout bounds learning the peers' MAC addresses.
const resolveTimeout = 5 * time.Second

// resolve learns each peer's MAC from the neighbour table, prodding the
// kernel to resolve the ones it does not know yet with a UDP datagram,
// and polls the table until every peer is known or resolveTimeout ends.
func (s *shaper) resolve(peers []net.IP) error {
	deadline := time.NewTimer(resolveTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		missing, err := s.learn(peers)
		if err != nil || len(missing) == 0 {
			return err
		}
		for _, p := range missing {
			if c, err := net.Dial("udp4", net.JoinHostPort(p.String(), "9")); err == nil {
				c.Write([]byte{0})
				c.Close()
			}
		}
		select {
		case <-deadline.C:
			return fmt.Errorf("no MAC address for %v within %s", missing, resolveTimeout)
		case <-tick.C:
		}
	}
}

// learn reads the neighbour table and returns the peers still unknown.
func (s *shaper) learn(peers []net.IP) ([]net.IP, error) {
	ns, err := netlink.NeighList(s.link.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("neighbours: %w", err)
	}
	for _, n := range ns {
		if ip4 := n.IP.To4(); ip4 != nil && len(n.HardwareAddr) == 6 && n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			s.macs[[4]byte(ip4)] = n.HardwareAddr
		}
	}
	var missing []net.IP
	for _, p := range peers {
		if _, ok := s.macs[[4]byte(p.To4())]; !ok {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

func (s *shaper) read() {
	buf := make([]byte, 65536)
	for {
		n, err := s.tun.Read(buf)
		if err != nil {
			return
		}
		if n < 20 || buf[0]>>4 != 4 {
			continue
		}
		var dst [4]byte
		copy(dst[:], buf[16:20])
		if s.loss > 0 && rand.Float64() < s.loss {
			s.count(&s.dropped)
			continue
		}
		d := s.delay
		if s.jitter > 0 {
			d += time.Duration(rand.Int64N(int64(2*s.jitter)+1)) - s.jitter
		}
		s.mu.Lock()
		due := time.Now().Add(d)
		if due.Before(s.last) {
			due = s.last
		}
		s.last = due
		s.mu.Unlock()
		select {
		case s.q <- queued{due: due, dst: dst, b: append([]byte(nil), buf[:n]...)}:
		default:
			s.count(&s.dropped) // the queue is full: a real link drops too
		}
	}
}

// write sends each packet when it is due; the queue is in due order.
func (s *shaper) write() {
	t := time.NewTimer(time.Hour)
	for p := range s.q {
		if wait := time.Until(p.due); wait > 0 {
			t.Reset(wait)
			<-t.C
		}
		mac, ok := s.macs[p.dst]
		if !ok {
			s.count(&s.unknown)
			continue
		}
		sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_IP), Ifindex: s.link.Attrs().Index, Halen: 6}
		copy(sa.Addr[:], mac)
		if err := unix.Sendto(s.pkt, p.b, 0, sa); err == nil {
			s.count(&s.sent)
		}
	}
}

func (s *shaper) count(n *int) {
	s.mu.Lock()
	*n++
	s.mu.Unlock()
}

// close removes the routes and the TUN device.
func (s *shaper) close() string {
	for _, r := range s.routes {
		netlink.RouteDel(&r)
	}
	if s.tun != nil {
		s.tun.Close()
	}
	if s.pkt > 0 {
		unix.Close(s.pkt)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d packets forwarded, %d dropped", s.sent, s.dropped)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
