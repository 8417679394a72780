package scenarios

// valueRun is the shortest run of lowercase hex digits taken for a stored
// value: workload values are 64 hex digits, and no key or framing in a
// snapshot has 32 in a row.
const valueRun = 32

// flipNearMiddle returns a copy of data with one byte flipped (XOR 0x01)
// and its offset. It picks the middle byte of the stored value nearest
// the middle of data, so the damage is bit rot in user data that leaves
// the database readable; with no value found it flips the middle byte.
func flipNearMiddle(data []byte) (out []byte, at int, inValue bool) {
	out = append([]byte(nil), data...)
	if len(data) == 0 {
		return out, -1, false
	}
	mid, best := len(data)/2, -1
	for i := 0; i < len(data); {
		if !isHex(data[i]) {
			i++
			continue
		}
		j := i
		for j < len(data) && isHex(data[j]) {
			j++
		}
		if c := (i + j) / 2; j-i >= valueRun && (best < 0 || dist(c, mid) < dist(best, mid)) {
			best = c
		}
		i = j
	}
	at, inValue = best, best >= 0
	if !inValue {
		at = mid
	}
	out[at] ^= 0x01
	return out, at, inValue
}

func isHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' }

func dist(a, b int) int {
	if a > b {
		return a - b
	}
	return b - a
}
