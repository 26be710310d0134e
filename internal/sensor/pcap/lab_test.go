package pcap

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/sensor"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

// readAll runs ReadFiles over paths and returns the events and problems.
func readAll(t testing.TB, cfg Config, paths ...string) ([]event.Event, []sensor.Problem) {
	t.Helper()
	var evs []event.Event
	var probs []sensor.Problem
	opt := sensor.Options{OnProblem: func(p sensor.Problem) error { probs = append(probs, p); return nil }}
	err := ReadFiles(context.Background(), paths, cfg, opt, func(e event.Event) error {
		evs = append(evs, e)
		return nil
	})
	require.NoError(t, err)
	return evs, probs
}

func TestLabCapture(t *testing.T) {
	path := testkit.SharedData(t, "lab", "dev-intrusion.pcap")
	evs, probs := readAll(t, DefaultConfig(), path)
	require.Empty(t, probs)
	states := map[string]int{}
	protos := map[string]int{}
	var dns, nx, txt, dhcp int
	for _, e := range evs {
		switch v := e.(type) {
		case *event.Conn:
			protos[v.Proto.String()]++
			states[v.Proto.String()+" "+string(v.ConnState)+" "+v.History]++
		case *event.DNS:
			dns++
			if v.NXDomain() {
				nx++
			}
			if v.QTypeName == "TXT" && v.ID.OrigH.String() == "172.16.40.60" {
				txt++
			}
		case *event.DHCP:
			dhcp++
		}
	}
	t.Logf("protos %v dns %d nx %d txt %d dhcp %d", protos, dns, nx, txt, dhcp)
	for k, v := range states {
		t.Logf("%6d %s", v, k)
	}
}
