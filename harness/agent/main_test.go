package main

import "testing"

func TestPercent(t *testing.T) {
	for in, want := range map[string]float32{"5%": 5, "25": 25, "0%": 0, "100%": 100} {
		if got, err := percent(in); err != nil || got != want {
			t.Errorf("percent(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"-1%", "101%", "x"} {
		if _, err := percent(bad); err == nil {
			t.Errorf("percent(%q) accepted", bad)
		}
	}
}

func TestParseIPs(t *testing.T) {
	ips, err := parseIPs("172.18.0.2, 172.18.0.4,")
	if err != nil || len(ips) != 2 || ips[1].String() != "172.18.0.4" {
		t.Fatalf("%v %v", ips, err)
	}
	if _, err := parseIPs("m2"); err == nil {
		t.Fatal("a name was accepted as an IP")
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{nil, {"netem", "--addr", "not-an-ip"}, {"netem", "--addr", "10.0.0.1", "extra"}, {"bogus", "--addr", "127.0.0.1"}} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
