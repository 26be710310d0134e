package testkit

import (
	"os/exec"
	"strings"
	"testing"
)

// TsharkChecksums are tshark options that make it verify IP, TCP and UDP
// checksums, for tests of captures the project writes itself (real
// captures often carry offloaded, "wrong" checksums).
var TsharkChecksums = []string{"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"}

// Tshark runs `tshark -n -r path args...` and returns its non-empty output
// lines. It skips the test when tshark is not installed (Debian package
// tshark; .ci/run installs it) and fails it when tshark fails.
func Tshark(t testing.TB, path string, args ...string) []string {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("skipping: tshark is not installed (Debian package tshark)")
	}
	args = append([]string{"-n", "-r", path}, args...)
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("tshark %v: %v", args, err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TsharkFields returns the arguments that print fields (-T fields -e F...)
// of the packets matching filter.
func TsharkFields(filter string, fields ...string) []string {
	args := []string{"-Y", filter, "-T", "fields"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	return args
}
