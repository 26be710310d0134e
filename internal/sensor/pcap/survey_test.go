package pcap

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-ndr/vigil/internal/event"
	"github.com/vigil-ndr/vigil/internal/testkit"
)

func TestSurvey(t *testing.T) {
	if os.Getenv("SURVEY") == "" {
		t.Skip()
	}
	root := testkit.SharedData(t)
	var files []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng") {
			files = append(files, p)
		}
		return nil
	})
	for _, f := range files {
		evs, probs := readAll(t, DefaultConfig(), f)
		tcp, udp := map[event.ConnID]bool{}, map[event.ConnID]bool{}
		dns := 0
		for _, e := range evs {
			switch v := e.(type) {
			case *event.Conn:
				if v.Proto == event.ProtoTCP {
					tcp[v.ID] = true
				} else if v.Proto == event.ProtoUDP {
					udp[v.ID] = true
				}
			case *event.DNS:
				dns++
			}
		}
		fmt.Printf("%s\t%d\t%d\t%d\t%d\n", f, len(tcp), len(udp), dns, len(probs))
	}
}

func TestDump(t *testing.T) {
	f := os.Getenv("DUMP")
	if f == "" {
		t.Skip()
	}
	evs, probs := readAll(t, DefaultConfig(), f)
	for _, e := range evs {
		if c, ok := e.(*event.Conn); ok && os.Getenv("CONNONLY") != "" {
			fmt.Printf("%s:%d %s:%d %s %s %s %d %d %d %d %d %d %d\n", c.ID.OrigH, c.ID.OrigP, c.ID.RespH, c.ID.RespP, c.Proto, c.ConnState, c.History, c.OrigBytes, c.RespBytes, c.OrigPkts, c.OrigIPBytes, c.RespPkts, c.RespIPBytes, c.MissedBytes)
			continue
		}
		if os.Getenv("CONNONLY") == "" {
			fmt.Printf("%T %+v\n", e, e)
		}
	}
	for _, p := range probs {
		fmt.Println(p)
	}
	t.Logf("%d events", len(evs))
}
