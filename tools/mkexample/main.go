//go:debug cryptocustomrand=1

// Command mkexample makes examples/office.pcap, the bundled example
// capture: a few hours of a small office's traffic, synthesized with
// internal/testkit/pcapgen from a fixed seed. The same Go toolchain gives a
// byte-identical file on every run (the go:debug line above lets crypto/tls
// use the seeded random source for its key shares; see pcapgen.RecordTLS).
//
//	go run ./tools/mkexample -out examples/office.pcap
//	go run ./tools/mkexample -out /dev/null -summary   # the README's tables
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "examples/office.pcap", "where to write the capture")
	summary := flag.Bool("summary", false, "print the Markdown inventory and timeline for examples/README.md")
	flag.Parse()
	data, sum, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkexample:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkexample:", err)
		os.Exit(1)
	}
	if *summary {
		fmt.Print(sum)
	}
}

// Generate returns the capture and its Markdown summary.
func Generate() ([]byte, string, error) {
	var buf bytes.Buffer
	o, err := newOffice(&buf)
	if err != nil {
		return nil, "", err
	}
	o.run()
	if err := o.w.Close(); err != nil {
		return nil, "", fmt.Errorf("write capture: %w", err)
	}
	if o.err != nil {
		return nil, "", o.err
	}
	return buf.Bytes(), o.summary(), nil
}
