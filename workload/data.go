package workload

import (
	"errors"
	"fmt"
	"hash/crc64"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrDataSpec is wrapped by every error ParseDataSpec returns, so callers
// can tell a bad --data value from a failed drill.
var ErrDataSpec = errors.New("bad data spec")

// Limits of a data spec. MaxDataBytes is etcd's largest supported backend
// quota (8 GiB): more data than that cannot be loaded at all. MaxValueSize
// keeps one put under etcd's default --max-request-bytes (1.5 MiB).
const (
	MaxDataBytes = 8 << 30
	MaxValueSize = 1 << 20
)

// Profile names of a DataSpec.
const (
	ProfileK8s     = "k8s"
	ProfileUniform = "uniform"
)

// defaultUniformValue is the value size of "uniform:<size>".
const defaultUniformValue = 1 << 10

// DataSpec is the size and shape of the data a drill loads before the
// fault. The zero value means no data.
type DataSpec struct {
	// Profile is ProfileK8s (the default when "") or ProfileUniform.
	Profile string `json:"profile"`
	// Bytes is the target total of key and value bytes (k8s, or uniform
	// with Keys == 0).
	Bytes int64 `json:"bytes,omitempty"`
	// Keys is the number of keys of a uniform spec; 0 derives it from
	// Bytes.
	Keys int `json:"keys,omitempty"`
	// ValueSize is the bytes per value of a uniform spec. Default 1 KiB.
	ValueSize int `json:"value_size,omitempty"`
	// Seed makes keys and values reproducible. Default 1.
	Seed int64 `json:"seed,omitempty"`
}

const dataSpecForms = "want a size such as 1GiB or 512MiB (Kubernetes-shaped), k8s:<size>, uniform:<size> (1 KiB values) or uniform:<keys>x<value size>"

// ParseDataSpec reads a --data value: "1GiB", "512MiB", "64MB" or "2G"
// (a bare size is the k8s profile), "k8s:1GiB", "uniform:1GiB" (1 KiB
// values) or "uniform:100000x10KiB" (keys × value size). Sizes take B, K,
// M, G (and KB, MB, GB: powers of 1000) or Ki, Mi, Gi (and KiB, MiB, GiB:
// powers of 1024). The forms String prints ("k8s 1GiB", "uniform
// 100000×10KiB") parse back to the same spec. "" is the zero spec: no data.
func ParseDataSpec(s string) (DataSpec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DataSpec{}, nil
	}
	bad := func(why string) (DataSpec, error) {
		return DataSpec{}, fmt.Errorf("%w %q: %s; %s", ErrDataSpec, s, why, dataSpecForms)
	}
	profile, rest := ProfileK8s, s
	if i := strings.IndexAny(s, ": "); i >= 0 {
		profile, rest = strings.ToLower(s[:i]), strings.TrimSpace(s[i+1:])
	}
	spec := DataSpec{Profile: profile}
	switch profile {
	case ProfileK8s:
		n, err := parseSize(rest)
		if err != nil {
			return bad(err.Error())
		}
		spec.Bytes = n
	case ProfileUniform:
		if k, v, ok := cutAny(rest, "x", "X", "×"); ok {
			keys, err := strconv.ParseInt(strings.TrimSpace(k), 10, 64)
			if err != nil || keys <= 0 {
				return bad(fmt.Sprintf("key count %q is not a positive whole number", k))
			}
			if keys > MaxDataBytes {
				return bad(fmt.Sprintf("%d keys is more than fits in %s", keys, FormatSize(MaxDataBytes)))
			}
			vs, err := parseSize(v)
			if err != nil {
				return bad(err.Error())
			}
			spec.Keys, spec.ValueSize = int(keys), int(min(vs, math.MaxInt32))
		} else {
			n, err := parseSize(rest)
			if err != nil {
				return bad(err.Error())
			}
			spec.Bytes, spec.ValueSize = n, defaultUniformValue
		}
	default:
		return bad(fmt.Sprintf("unknown profile %q", profile))
	}
	if err := spec.Validate(); err != nil {
		return bad(err.Error())
	}
	return spec, nil
}

// cutAny is strings.Cut with several separators, the first found winning.
func cutAny(s string, seps ...string) (before, after string, found bool) {
	for _, sep := range seps {
		if b, a, ok := strings.Cut(s, sep); ok {
			return b, a, true
		}
	}
	return s, "", false
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "ki": 1 << 10, "kib": 1 << 10,
	"m": 1e6, "mb": 1e6, "mi": 1 << 20, "mib": 1 << 20,
	"g": 1e9, "gb": 1e9, "gi": 1 << 30, "gib": 1 << 30,
}

// parseSize reads "1GiB", "64MB", "1.5G" or "4096" as a positive number
// of bytes.
func parseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("size %q is not a number with a unit", s)
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("size %q has unknown unit %q", s, m[2])
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is not a number with a unit", s)
	}
	f *= unit
	if f < 1 {
		return 0, fmt.Errorf("size %q is less than one byte", s)
	}
	if f > 1<<50 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return int64(math.Round(f)), nil
}

// FormatSize prints n bytes with the unit that divides it exactly into
// the smallest number: "1GiB", "64MB", "1500B".
func FormatSize(n int64) string {
	best, unit := n, "B"
	if n > 0 {
		for _, u := range []struct {
			name string
			size int64
		}{{"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3}} {
			if n%u.size == 0 && n/u.size < best {
				best, unit = n/u.size, u.name
			}
		}
	}
	return fmt.Sprintf("%d%s", best, unit)
}

// Validate says what is wrong with a spec made without ParseDataSpec: an
// unknown profile, a size above MaxDataBytes or a value above
// MaxValueSize. The zero spec is valid.
func (s DataSpec) Validate() error {
	if s.IsZero() {
		return nil
	}
	switch s.profile() {
	case ProfileK8s:
		if s.Bytes <= 0 {
			return errors.New("the k8s profile needs a size")
		}
	case ProfileUniform:
		if s.valueSize() > MaxValueSize {
			return fmt.Errorf("value size %s is above etcd's request limit (at most %s)", FormatSize(int64(s.valueSize())), FormatSize(MaxValueSize))
		}
		if s.Keys < 0 || (s.Keys == 0 && s.Bytes <= 0) {
			return errors.New("the uniform profile needs a size or a key count")
		}
	default:
		return fmt.Errorf("unknown profile %q", s.Profile)
	}
	if total := s.Size(); total > MaxDataBytes {
		return fmt.Errorf("%s is above etcd's largest quota (%s)", FormatSize(total), FormatSize(MaxDataBytes))
	}
	return nil
}

// Size is the key and value bytes the spec asks for, for budgets: Bytes,
// or for "uniform:<keys>x<value size>" the keys times their key and value
// size (Bytes is 0 there). NewDataset(s).Bytes() is the exact figure.
func (s DataSpec) Size() int64 {
	if s.profile() == ProfileUniform && s.Keys > 0 {
		return int64(s.Keys) * int64(s.valueSize()+uniformKeyLen)
	}
	return s.Bytes
}

// IsZero reports whether the spec asks for no data.
func (s DataSpec) IsZero() bool { return s.Bytes == 0 && s.Keys == 0 }

// String is the canonical short form a record shows: "k8s 1GiB",
// "uniform 100000×10KiB", "uniform 1GiB"; "" for the zero spec.
func (s DataSpec) String() string {
	switch {
	case s.IsZero():
		return ""
	case s.profile() == ProfileUniform && s.Keys > 0:
		return fmt.Sprintf("uniform %d×%s", s.Keys, FormatSize(int64(s.valueSize())))
	case s.profile() == ProfileUniform && s.valueSize() != defaultUniformValue:
		return fmt.Sprintf("uniform %s (%s values)", FormatSize(s.Bytes), FormatSize(int64(s.valueSize())))
	}
	return s.profile() + " " + FormatSize(s.Bytes)
}

// Prefix is the key prefix all of the spec's keys (and the keys its
// traffic creates) live under: "/registry/" for k8s, as the API server
// stores objects, "/etcdrill-data/" for uniform.
func (s DataSpec) Prefix() string {
	if s.profile() == ProfileUniform {
		return "/etcdrill-data/"
	}
	return "/registry/"
}

func (s DataSpec) profile() string {
	if s.Profile == "" {
		return ProfileK8s
	}
	return strings.ToLower(s.Profile)
}

func (s DataSpec) valueSize() int {
	if s.ValueSize <= 0 {
		return defaultUniformValue
	}
	return s.ValueSize
}

// uniformKeyLen is the length of a uniform key after its prefix: the
// index as ten digits, so keys sort in index order.
const (
	uniformDigits = 10
	uniformKeyLen = len("/etcdrill-data/") + uniformDigits
)

// Dataset is a deterministic, index-addressed keyspace: key i and its
// value are computed from the spec and i alone, so nothing but one 64-bit
// hash per key is kept (8 bytes a key: the whole ledger of loaded data),
// and a key read back is mapped to its index by parsing, without a map.
// A Dataset also keeps the revision each batch was loaded at and the
// record of every mutation Traffic made, so DatasetCheck knows each key's
// allowed final states. It is safe for concurrent use.
type Dataset struct {
	spec   DataSpec
	prefix string
	n      int
	bytes  int64 // key and value bytes of all n keys
	ns     int   // k8s namespaces
	// sums holds HashValue of each key's loaded value, filled by Load (0:
	// not computed yet; Hash computes it).
	sums []uint64
	load loadState
	hist history
	gen  atomic.Uint32 // last value generation handed out (0: loaded)
}

// NewDataset lays out spec's keyspace. A spec ParseDataSpec did not check
// is clamped to the limits (see Validate) rather than refused; the zero
// spec gives an empty dataset.
func NewDataset(spec DataSpec) *Dataset {
	if spec.Seed == 0 {
		spec.Seed = 1
	}
	spec.Profile = spec.profile()
	if spec.Profile != ProfileUniform {
		spec.Profile = ProfileK8s
	}
	spec.Bytes = min(max(spec.Bytes, 0), MaxDataBytes)
	spec.Keys = max(spec.Keys, 0)
	d := &Dataset{spec: spec, prefix: spec.Prefix()}
	d.hist.byKey = map[string][]Mutation{}
	if spec.IsZero() {
		return d
	}
	if spec.Profile == ProfileUniform {
		d.spec.ValueSize = min(spec.valueSize(), MaxValueSize)
		per := int64(uniformKeyLen + d.spec.ValueSize)
		d.n = spec.Keys
		if d.n == 0 {
			d.n = int(max(spec.Bytes/per, 1))
		}
		d.n = int(min(int64(d.n), MaxDataBytes/per))
		d.bytes = int64(d.n) * per
	} else {
		d.ns = int(min(max(spec.Bytes/(8<<20), 4), 1000))
		var buf [128]byte
		for d.bytes < spec.Bytes {
			d.bytes += int64(len(d.AppendKey(buf[:0], d.n)) + d.valueLen(d.n))
			d.n++
		}
	}
	return d
}

// Spec is the spec the dataset was made from, with defaults filled in.
func (d *Dataset) Spec() DataSpec { return d.spec }

// Prefix is the prefix every key of the dataset (and of its traffic)
// starts with.
func (d *Dataset) Prefix() string { return d.prefix }

// Len is the number of keys.
func (d *Dataset) Len() int { return d.n }

// Bytes is the total of key and value bytes of all keys as loaded.
func (d *Dataset) Bytes() int64 { return d.bytes }

// Key is key i.
func (d *Dataset) Key(i int) string { return string(d.AppendKey(nil, i)) }

// AppendKey appends key i to dst, so a loop over keys needs no garbage.
func (d *Dataset) AppendKey(dst []byte, i int) []byte {
	dst = append(dst, d.prefix...)
	if d.spec.Profile == ProfileUniform {
		var digits [uniformDigits]byte
		v := uint64(i)
		for j := uniformDigits - 1; j >= 0; j-- {
			digits[j] = byte('0' + v%10)
			v /= 10
		}
		return append(dst, digits[:]...)
	}
	return d.appendK8sKey(dst, i)
}

// Index maps a key back to its index, and false when key is not one of
// the dataset's keys. It allocates nothing: it parses the index from the
// key and compares the key with the one the index gives.
func (d *Dataset) Index(key []byte) (int, bool) {
	if len(key) <= len(d.prefix) || string(key[:len(d.prefix)]) != d.prefix {
		return 0, false
	}
	var digits []byte
	if d.spec.Profile == ProfileUniform {
		digits = key[len(d.prefix):]
		if len(digits) != uniformDigits {
			return 0, false
		}
	} else {
		j := len(key)
		for j > 0 && key[j-1] >= '0' && key[j-1] <= '9' {
			j--
		}
		digits = key[j:]
		if len(digits) == 0 || len(digits) > uniformDigits {
			return 0, false
		}
	}
	i := 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + int(c-'0')
	}
	if i >= d.n {
		return 0, false
	}
	var buf [160]byte
	if string(d.AppendKey(buf[:0], i)) != string(key) {
		return 0, false
	}
	return i, true
}

// Value is key i's value as loaded. See AppendValue to avoid garbage.
func (d *Dataset) Value(i int) []byte { return d.AppendValue(nil, i, 0) }

// AppendValue appends key i's value of generation gen to dst: gen 0 is
// the value Load writes, later generations the values Traffic's updates
// write. Every (seed, i, gen) gives its own bytes, the same every time.
func (d *Dataset) AppendValue(dst []byte, i int, gen uint32) []byte {
	if d.spec.Profile == ProfileUniform {
		return appendRandom(dst, d.spec.Seed, uint64(i), gen, domainValue, d.spec.ValueSize)
	}
	r := &k8sResources[d.resource(i)]
	return appendK8sValue(dst, d.spec.Seed, uint64(i), gen, domainValue, r, d.valueLen(i))
}

// Hash is HashValue of key i's loaded value: the digest Load computed
// while writing it, or computed now when Load has not.
func (d *Dataset) Hash(i int) uint64 {
	if d.sums != nil && d.sums[i] != 0 {
		return d.sums[i]
	}
	buf := valueBufs.Get().(*[]byte)
	*buf = d.AppendValue((*buf)[:0], i, 0)
	h := HashValue(*buf)
	valueBufs.Put(buf)
	return h
}

var valueBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

var crcTable = crc64.MakeTable(crc64.ECMA)

// HashValue is the 64-bit digest the dataset keeps per value (CRC-64
// ECMA): enough to tell a changed value from the expected one, at 8
// bytes a key.
func HashValue(v []byte) uint64 { return crc64.Checksum(v, crcTable) }

// nextGen hands out a value generation no update has used yet.
func (d *Dataset) nextGen() uint32 { return d.gen.Add(1) }

// Domains keep the random streams of loaded values, updates and created
// events apart.
const (
	domainValue uint32 = iota + 1
	domainEvent
)

var chachas = sync.Pool{New: func() any { return rand.NewChaCha8([32]byte{}) }}

// appendRandom appends n deterministic pseudo-random bytes for (seed, i,
// gen, domain): a ChaCha8 stream, fast enough to generate gigabytes.
func appendRandom(dst []byte, seed int64, i uint64, gen, domain uint32, n int) []byte {
	var s [32]byte
	putUint64(s[0:], uint64(seed))
	putUint64(s[8:], i)
	putUint64(s[16:], uint64(gen)<<32|uint64(domain))
	c := chachas.Get().(*rand.ChaCha8)
	c.Seed(s)
	l := len(dst)
	dst = grow(dst, n)
	c.Read(dst[l:])
	chachas.Put(c)
	return dst
}

// grow extends dst by n bytes.
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) < n {
		nb := make([]byte, len(dst), 2*cap(dst)+n)
		copy(nb, dst)
		dst = nb
	}
	return dst[:len(dst)+n]
}

func putUint64(b []byte, v uint64) {
	for j := range 8 {
		b[j] = byte(v >> (8 * j))
	}
}

// mix is SplitMix64's finalizer: a cheap, well-spread hash of an index,
// from which a key's resource, namespace, name and size are drawn.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
