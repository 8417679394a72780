package recovery

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixtures under testdata/verifyfile come from real one-member
// clusters of each version (gen.go there): a saved snapshot, the stopped
// member's db file, and what etcdutl 3.7.3 snapshot status says of both.
var fixtureVersions = []string{"3.5.35", "3.6.16", "3.7.3"}

func fixture(t testing.TB, version, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "verifyfile", "v"+version, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadStatusMatchesEtcdutl(t *testing.T) {
	for _, v := range fixtureVersions {
		var want map[string]SnapshotStatus
		if err := json.Unmarshal(fixture(t, v, "status.json"), &want); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"snapshot.db", "db"} {
			t.Run(v+"/"+name, func(t *testing.T) {
				got, err := ReadStatus(fixture(t, v, name))
				if err != nil {
					t.Fatalf("ReadStatus: %v", err)
				}
				if got != want[name] {
					t.Errorf("ReadStatus = %+v\netcdutl says %+v", got, want[name])
				}
			})
		}
	}
}

func TestReadSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	snap := fixture(t, "3.6.16", "snapshot.db")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	unreadable := write("unreadable.db", snap)
	os.Chmod(unreadable, 0)
	for _, tc := range []struct {
		name     string
		path     string
		bad      error // wrapped with ErrBadInput
		kind     IntegrityKind
		accept   bool // Accept(false)
		skipping bool // Accept(true)
		status   bool // Status read
	}{
		{name: "valid", path: write("valid.db", snap), kind: Valid, accept: true, skipping: true, status: true},
		{name: "db file", path: write("db", fixture(t, "3.6.16", "db")), kind: NoHash, skipping: true, status: true},
		{name: "flipped byte", path: write("flipped.db", flipInValue(t, snap)), kind: HashMismatch, status: true},
		{name: "truncated", path: write("truncated.db", snap[:len(snap)/2]), kind: Truncated},
		{name: "missing", path: filepath.Join(dir, "nope.db"), bad: fs.ErrNotExist},
		{name: "directory", path: dir, bad: ErrBadInput},
		{name: "empty", path: write("empty.db", nil), bad: ErrEmpty},
		{name: "not a snapshot", path: write("text.db", []byte(strings.Repeat("not a snapshot\n", 400))), bad: ErrNotSnapshot},
		{name: "unreadable", path: unreadable, bad: fs.ErrPermission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "unreadable" && os.Geteuid() == 0 {
				t.Skip("root reads a file of mode 0")
			}
			f, err := ReadSnapshotFile(tc.path)
			if tc.bad != nil {
				if !errors.Is(err, ErrBadInput) || !errors.Is(err, tc.bad) || f != nil {
					t.Fatalf("ReadSnapshotFile = %v, %v; want ErrBadInput wrapping %v", f, err, tc.bad)
				}
				if !strings.Contains(err.Error(), tc.path) || strings.Contains(err.Error(), "\n") {
					t.Errorf("error %q: want one line naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadSnapshotFile: %v", err)
			}
			if f.Integrity.Kind != tc.kind {
				t.Errorf("kind %s, want %s", f.Integrity.Kind, tc.kind)
			}
			if got := f.Accept(false) == nil; got != tc.accept {
				t.Errorf("Accept(false) = %v, want accepted %v", f.Accept(false), tc.accept)
			}
			if got := f.Accept(true) == nil; got != tc.skipping {
				t.Errorf("Accept(true) = %v, want accepted %v", f.Accept(true), tc.skipping)
			}
			if (f.Status != nil) != tc.status {
				t.Errorf("status %v (err %v), want read %v", f.Status, f.StatusErr, tc.status)
			}
		})
	}
}

// flipInValue flips one bit inside the first 64-hex-digit value, so the
// database stays readable and only the appended hash tells.
func flipInValue(t testing.TB, snap []byte) []byte {
	i := strings.Index(string(snap), strings.Repeat("0", 40)) // key-0000's value is all zeros
	if i < 0 {
		t.Fatal("no value to flip in the fixture")
	}
	return flip(snap, i+20)
}

// TestReadStatusDamage plants damage in the pages of a db file; each must
// come back as ErrCorrupt, never as a panic or a wrong status.
func TestReadStatusDamage(t *testing.T) {
	db := fixture(t, "3.6.16", "db")
	in, _ := CheckSnapshot(db)
	bo, ps := binary.LittleEndian, in.PageSize
	for _, tc := range []struct {
		name  string
		plant func(b []byte)
	}{
		{"page id of every page zeroed", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint64(b[p*ps:], 0)
			}
		}},
		{"element counts at maximum", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint16(b[p*ps+10:], 0xffff)
			}
		}},
		{"page flags garbage", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				bo.PutUint16(b[p*ps+8:], 0x80)
			}
		}},
		{"element offsets past the page", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				if bo.Uint16(b[p*ps+8:]) == leafPageFlag && bo.Uint16(b[p*ps+10:]) > 0 {
					bo.PutUint32(b[p*ps+pageHeaderSize+4:], 1<<31)
				}
			}
		}},
		{"children point to one page", func(b []byte) {
			for p := 2; p < len(b)/ps; p++ {
				if bo.Uint16(b[p*ps+8:]) != branchPageFlag {
					continue
				}
				for i := range int(bo.Uint16(b[p*ps+10:])) {
					bo.PutUint64(b[p*ps+pageHeaderSize+i*pageElementSize+8:], uint64(p))
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), db...)
			tc.plant(b)
			st, err := ReadStatus(b)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("ReadStatus = %+v, %v; want ErrCorrupt", st, err)
			}
		})
	}
}

// TestReadStatusRandomDamage corrupts random bytes of every fixture: each
// read must end in a status or an error, and no error may come from the
// last-resort recover (a runtime error means an unchecked offset).
func TestReadStatusRandomDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range fixtureVersions {
		db := fixture(t, v, "db")
		in, _ := CheckSnapshot(db)
		for range 3000 {
			b := append([]byte(nil), db...)
			for range 1 + r.IntN(8) {
				at := 2*in.PageSize + r.IntN(len(b)-2*in.PageSize) // keep the meta pages
				b[at] = byte(r.Uint32())
			}
			if _, err := ReadStatus(b); err != nil && strings.Contains(err.Error(), "runtime error") {
				t.Fatalf("etcd %s db: %v", v, err)
			}
		}
	}
}

// FuzzReadStatus: whatever the bytes, ReadStatus returns; it never panics.
func FuzzReadStatus(f *testing.F) {
	for _, v := range fixtureVersions {
		f.Add(fixture(f, v, "db"))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ReadStatus(b); err != nil && strings.Contains(err.Error(), "runtime error") {
			t.Fatal(err)
		}
	})
}

func TestServerReason(t *testing.T) {
	for _, tc := range []struct{ name, logs, want string }{
		{"3.7 data dir on 3.6", `{"level":"info","msg":"recovered v3 backend"}
{"level":"error","caller":"etcdserver/bootstrap.go:240","msg":"Failed to validate schema","error":"version \"3.7.0\" is not supported","stacktrace":"..."}
{"level":"error","msg":"bootstrap failed","error":"version \"3.7.0\" is not supported"}
{"level":"info","msg":"closing etcd server"}
{"level":"fatal","msg":"discovery failed","error":"version \"3.7.0\" is not supported"}`,
			`Failed to validate schema: version "3.7.0" is not supported`},
		{"no fatal line", `{"level":"warn","msg":"slow"}
{"level":"error","msg":"first","error":"a"}
{"level":"error","msg":"second","error":"b"}`, "second: b"},
		{"fatal without error field", `{"level":"fatal","msg":"cannot listen"}`, "cannot listen"},
		{"plain text", "starting\npanic: boom\n\n", "panic: boom"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ServerReason(tc.logs); got != tc.want {
				t.Errorf("ServerReason = %q, want %q", got, tc.want)
			}
		})
	}
}
