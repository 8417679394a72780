package harness

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNetemCommands(t *testing.T) {
	for _, tc := range []struct {
		n        Netem
		args, tc string
		str      string
	}{
		{Netem{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}, "etcdrill-agent netem --addr 10.0.0.2 --delay 100ms --jitter 20ms --loss 0%",
			"tc qdisc replace dev eth1 root netem delay 100ms 20ms", "delay 100ms ± 20ms"},
		{Netem{Loss: 25}, "etcdrill-agent netem --addr 10.0.0.2 --delay 0s --jitter 0s --loss 25%", "tc qdisc replace dev eth1 root netem loss 25%", "25% loss"},
		{Netem{}, "etcdrill-agent clear --addr 10.0.0.2", "tc qdisc del dev eth1 root", "no netem"},
	} {
		if got := strings.Join(tc.n.Args("10.0.0.2"), " "); got != tc.args {
			t.Errorf("Args = %q, want %q", got, tc.args)
		}
		if got := tc.n.Tc("eth1"); got != tc.tc {
			t.Errorf("Tc = %q, want %q", got, tc.tc)
		}
		if got := tc.n.String(); got != tc.str {
			t.Errorf("String = %q, want %q", got, tc.str)
		}
	}
}

func TestCurrentLayoutRebuildsOlderImages(t *testing.T) {
	cur := map[string]string{LabelImageLayout: strconv.Itoa(ImageLayout), LabelAgent: agentHash()}
	if !currentLayout(cur) {
		t.Fatal("an image of the current layout would be rebuilt")
	}
	for name, labels := range map[string]map[string]string{
		"layout 1 (no label)": {},
		"older layout":        {LabelImageLayout: strconv.Itoa(ImageLayout - 1), LabelAgent: agentHash()},
		"another agent":       {LabelImageLayout: strconv.Itoa(ImageLayout), LabelAgent: "000000000000"},
	} {
		if currentLayout(labels) {
			t.Errorf("%s: not rebuilt", name)
		}
	}
}

func TestAgentFilesHashIsStable(t *testing.T) {
	f1, h1 := agentFiles()
	_, h2 := agentFiles()
	if h1 != h2 || len(h1) != 12 {
		t.Fatalf("hash %q then %q", h1, h2)
	}
	for _, want := range []string{"go.mod", "main.go", "shape.go"} {
		if len(f1[want]) == 0 {
			t.Errorf("agent module has no %s", want)
		}
	}
}

func TestWithDataVolume(t *testing.T) {
	cfg, _, err := NewConfig(WithDataVolume("m3", 256<<20), WithDataVolume("m1", MinDataVolumeBytes))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataVolumeBytes["m3"] != 256<<20 || cfg.DataVolumeBytes["m1"] != MinDataVolumeBytes {
		t.Fatalf("sizes %v", cfg.DataVolumeBytes)
	}
	if _, _, err := NewConfig(WithDataVolume("m3", 1<<20)); err == nil {
		t.Fatal("a 1 MiB data volume was accepted: etcd cannot start on it")
	}
	if got := tmpfsOptions(256 << 20); got != "size=268435456,mode=0700" {
		t.Fatalf("tmpfs options %q", got)
	}
}
