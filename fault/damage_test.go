package fault

import (
	"bytes"
	"strings"
	"testing"
)

func TestFlipNearMiddle(t *testing.T) {
	value := strings.Repeat("0123456789abcdef", 4) // a 64-digit workload value
	frame := "\x00\x12/etcdrill/w00/00000042\x1a\x40"
	for _, tc := range []struct {
		name    string
		data    string
		at      int
		inValue bool
	}{
		{"the value nearest the middle", frame + value + strings.Repeat("\x00", 200) + frame + value + strings.Repeat("\x00", 40), len(frame)*2 + 64 + 200 + 32, true},
		{"a value far from the middle is still a value", value + strings.Repeat("\x00", 400), 32, true},
		{"short hex runs are not values", strings.Repeat("\x00abc1234\x00", 30), 135, false},
		{"no value at all", strings.Repeat("\x00", 100), 50, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.data)
			out, at, inValue := flipNearMiddle(in)
			if at != tc.at || inValue != tc.inValue {
				t.Fatalf("flipNearMiddle = %d, %v; want %d, %v", at, inValue, tc.at, tc.inValue)
			}
			if out[at] != in[at]^0x01 || !bytes.Equal(out[:at], in[:at]) || !bytes.Equal(out[at+1:], in[at+1:]) {
				t.Errorf("not exactly byte %d flipped", at)
			}
			if !bytes.Equal(in, []byte(tc.data)) {
				t.Error("the input was modified")
			}
		})
	}
	if out, at, _ := flipNearMiddle(nil); len(out) != 0 || at != -1 {
		t.Errorf("empty input: %v, %d", out, at)
	}
}
