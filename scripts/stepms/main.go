// Command stepms prints how long one step of a drill took, in
// milliseconds, from its report.json: scripts/bench-drills.sh compares it
// with a bare script.
//
//	go run ./scripts/stepms reports/runs/<drill>/report.json "start a 3-member cluster"
package main

import (
	"fmt"
	"os"

	"github.com/etcdrill/etcdrill/reports"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: stepms REPORT.json STEP-NAME")
		os.Exit(2)
	}
	r, err := reports.ReadJSON(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "stepms:", err)
		os.Exit(2)
	}
	for _, s := range r.Steps {
		if s.Name == os.Args[2] {
			fmt.Println(s.Duration().Milliseconds())
			return
		}
	}
	fmt.Fprintf(os.Stderr, "stepms: no step %q in %s\n", os.Args[2], os.Args[1])
	os.Exit(1)
}
