package scenarios

import "testing"

func TestLineWith(t *testing.T) {
	zap := `{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = ResourceExhausted desc = etcdserver: mvcc: database space exceeded"}`
	for _, tc := range []struct{ name, out, s, want string }{
		{"the tool's error line, not the log line quoting it", zap + "\nError: etcdserver: mvcc: database space exceeded\n", "database space exceeded", "Error: etcdserver: mvcc: database space exceeded"},
		{"trimmed", "info\n  Error: snapshot missing hash but --skip-hash-check=false \r\n", "missing hash", "Error: snapshot missing hash but --skip-hash-check=false"},
		{"absent", "Error: context deadline exceeded\n", "database space exceeded", ""},
		{"empty output", "", "x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lineWith(tc.out, tc.s); got != tc.want {
				t.Errorf("lineWith = %q, want %q", got, tc.want)
			}
		})
	}
}
