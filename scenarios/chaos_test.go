package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestChaosConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  ChaosConfig
		want string
	}{
		{ChaosConfig{}, "want a positive duration"},
		{ChaosConfig{Duration: 25 * time.Hour}, "at most"},
		{ChaosConfig{Duration: time.Minute, Faults: []string{"kill-leader", "nope"}}, `unknown fault "nope"`},
	} {
		if _, err := Chaos(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
	s, err := Chaos(ChaosConfig{Duration: time.Minute, Faults: []string{"kill-follower"}})
	if err != nil || len(s.Also) != 1 || s.Also[0].Name() != "kill-follower" {
		t.Fatalf("scenario %+v, err %v", s, err)
	}
}

// The same seed draws the same faults for the same times; another seed
// draws another sequence.
func TestChaosIsReproducible(t *testing.T) {
	menu := chaosMenu()
	seq := func(seed int64) string {
		next := chaosDraws(seed, menu)
		var b strings.Builder
		for range 20 {
			f, hold := next()
			if hold < ChaosMinHold || hold >= ChaosMaxHold {
				t.Fatalf("hold %s out of [%s, %s)", hold, ChaosMinHold, ChaosMaxHold)
			}
			b.WriteString(f.name + "/" + hold.String() + " ")
		}
		return b.String()
	}
	if a, b := seq(42), seq(42); a != b {
		t.Fatalf("seed 42 drew\n%s\nthen\n%s", a, b)
	}
	if seq(42) == seq(43) {
		t.Fatal("seeds 42 and 43 drew the same sequence")
	}
	seen := map[string]bool{}
	next := chaosDraws(1, menu)
	for range 200 {
		f, _ := next()
		seen[f.name] = true
	}
	if len(seen) != len(menu) {
		t.Errorf("200 draws took %d of %d faults", len(seen), len(menu))
	}
}
