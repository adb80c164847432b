// Command failures prints the tests of a conformance junit.xml that did not
// pass, each with the suite's errors and the HTTP exchanges it recorded, so
// a failing run can be read without opening report.html.
//
// Usage: failures [-skipped] junit.xml
//
// It exits 0 after printing (also when nothing failed) and 2 when the file
// cannot be read or parsed.
package main

import (
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// testsuites is the part of the suite's junit.xml this reads.
type testsuites struct {
	Suites []struct {
		Cases []testcase `xml:"testcase"`
	} `xml:"testsuite"`
}

type testcase struct {
	Name   string `xml:"name,attr"`
	Status string `xml:"status,attr"` // passed, skipped, failure or error
	Errors string `xml:"system-out"`  // the suite's error messages
	HTTP   string `xml:"system-err"`  // requests and responses, redacted
}

func main() {
	skipped := flag.Bool("skipped", false, "also print skipped tests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: failures [-skipped] junit.xml")
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *skipped); err != nil {
		fmt.Fprintf(os.Stderr, "failures: %v\n", err)
		os.Exit(2)
	}
}

func run(w io.Writer, path string, skipped bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ts testsuites
	if err := xml.Unmarshal(b, &ts); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	for _, s := range ts.Suites {
		for _, c := range s.Cases {
			if c.Status == "passed" || (c.Status == "skipped" && !skipped) {
				continue
			}
			fmt.Fprintf(w, "### %s [%s]\n", c.Name, c.Status)
			if e := strings.TrimSpace(c.Errors); e != "" {
				fmt.Fprintf(w, "errors:\n  %s\n", strings.ReplaceAll(e, "\n", "\n  "))
			}
			if h := strings.TrimSpace(c.HTTP); h != "" {
				fmt.Fprintf(w, "%s\n", h)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}
