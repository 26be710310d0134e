// Package breach defines what a detection model emits: one model breach,
// with the score, endpoint and evidence an analyst needs to see why it
// fired. Breaches are the contract of breaches.jsonl (see DESIGN.md).
package breach

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"sort"
	"time"
)

// Endpoint is the far side of the behaviour: an external IP, the hostname
// it was reached by (when known), and the port. Absent values are omitted.
type Endpoint struct {
	IP       netip.Addr `json:"ip,omitzero"`
	Hostname string     `json:"hostname,omitempty"`
	Port     uint16     `json:"port,omitempty"`
}

// Key is a stable text form of the endpoint ("host|ip|port"), for grouping.
func (e Endpoint) Key() string {
	ip := ""
	if e.IP.IsValid() {
		ip = e.IP.String()
	}
	return e.Hostname + "|" + ip + "|" + itoa(int(e.Port))
}

// Breach is one model breach.
type Breach struct {
	// ID is derived from the content (model, device, endpoint, time), so
	// re-analysing the same data gives the same IDs.
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Model is the exact catalogue name ("Category::Name").
	Model  string     `json:"model"`
	Device netip.Addr `json:"device"`
	// Score is 0–100: how anomalous this occurrence is, not a per-model
	// constant.
	Score    int      `json:"score"`
	Endpoint Endpoint `json:"endpoint"`
	MITRE    []string `json:"mitre"`
	// Evidence holds the facts that decided the breach, as JSON values,
	// and under "why" the same facts as sentences.
	Evidence Evidence `json:"evidence"`
	Summary  string   `json:"summary"`
	// UIDs are the connections the breach rests on (Zeek uids), a bounded
	// sample when there are many.
	UIDs []string `json:"uids,omitempty"`
}

// Evidence is a breach's facts. JSON encoding sorts the keys, so output is
// deterministic.
type Evidence map[string]any

// Why appends a sentence to the evidence's "why" list.
func (e Evidence) Why(s string) {
	w, _ := e["why"].([]string)
	e["why"] = append(w, s)
}

// MakeID returns the content-derived ID for b ("b-" and 16 hex digits).
func MakeID(b *Breach) string {
	h := sha256.New()
	h.Write([]byte(b.Model))
	h.Write([]byte{0})
	h.Write(b.Device.AsSlice())
	h.Write([]byte{0})
	h.Write([]byte(b.Endpoint.Key()))
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(b.Time.UnixNano()))
	h.Write(ts[:])
	return "b-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// Sort orders breaches by time, then model, device and ID: the order of
// breaches.jsonl.
func Sort(bs []Breach) {
	sort.SliceStable(bs, func(i, j int) bool {
		a, b := &bs[i], &bs[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Model != b.Model {
			return a.Model < b.Model
		}
		if a.Device != b.Device {
			return a.Device.Less(b.Device)
		}
		return a.ID < b.ID
	})
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
