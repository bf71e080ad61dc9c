// Command testsum reads `go test -json` on stdin and prints what plain `go test` would
// (package lines, and the output of every failed test) followed by one closing line,
// "tests: N passed, N failed, N skipped", counting tests and subtests. It exits 1 when
// a test or a package failed, so a pipeline fails even without pipefail.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	var passed, failed, skipped int
	pkgFailed := false
	buf := map[string][]string{} // package/test → its output, printed only if it fails
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintln(out, string(line)) // build errors and anything else go test printed
			continue
		}
		key := e.Package + "\x00" + e.Test
		switch e.Action {
		case "output", "build-output":
			if e.Test == "" {
				if !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "PASS\n") {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			buf[key] = append(buf[key], e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				if e.Action == "fail" {
					pkgFailed = true
				}
				continue
			}
			switch e.Action {
			case "pass":
				passed++
			case "skip":
				skipped++
			case "fail":
				failed++
				for _, l := range buf[key] {
					fmt.Fprint(out, l)
				}
			}
			delete(buf, key)
		}
		out.Flush()
	}
	fmt.Fprintf(out, "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || pkgFailed || in.Err() != nil {
		out.Flush()
		os.Exit(1)
	}
}
