package scenarios

import (
	"strings"
	"testing"
)

func TestMatrix(t *testing.T) {
	a := &Scenario{Name: "a", AlsoWithAuth: true}
	b := &Scenario{Name: "b"}
	runs := Matrix([]*Scenario{a, b}, []string{"3.5.35", "3.6.16"}, true)
	var got []string
	for _, r := range runs {
		got = append(got, r.Version+":"+r.Name())
	}
	want := "3.5.35:a 3.5.35:a+auth 3.5.35:b 3.6.16:a 3.6.16:a+auth 3.6.16:b"
	if strings.Join(got, " ") != want {
		t.Fatalf("matrix = %v, want %s", got, want)
	}
	if n := len(Matrix([]*Scenario{a, b}, []string{"3.6.16"}, false)); n != 2 {
		t.Fatalf("without variants: %d runs, want 2", n)
	}
}

func TestApplies(t *testing.T) {
	s := &Scenario{Name: "v2", MinMinor: 5, MaxMinor: 5, VersionNote: "v2 is gone"}
	if ok, _ := s.Applies("3.5.35"); !ok {
		t.Fatal("3.5 should apply")
	}
	ok, why := s.Applies("3.6.16")
	if ok || !strings.Contains(why, "v2 is gone") || !strings.Contains(why, "3.6.16") {
		t.Fatalf("3.6: ok=%v why=%q", ok, why)
	}
	if ok, _ := s.Applies("nonsense"); ok {
		t.Fatal("a bad version must not apply")
	}
}

func TestLookupNamesKnownScenarios(t *testing.T) {
	_, err := Lookup("no-such-drill")
	if err == nil || !strings.Contains(err.Error(), "leader-kill") {
		t.Fatalf("Lookup error %v should list the known scenarios", err)
	}
}
