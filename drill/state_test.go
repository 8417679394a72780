package drill

import "testing"

func TestStateIsPerTypeAndPerDrill(t *testing.T) {
	type a struct{ n int }
	type b struct{ n int }
	d1, d2 := &Drill{}, &Drill{}
	State[a](d1).n = 1
	State[b](d1).n = 2
	if State[a](d1).n != 1 || State[b](d1).n != 2 {
		t.Fatal("state of one type overwrote another")
	}
	if State[a](d2).n != 0 {
		t.Fatal("state leaked between drills")
	}
}
