package baseline

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigil-ndr/vigil/internal/units"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func internal(a netip.Addr) bool { return netip.MustParsePrefix("10.0.0.0/8").Contains(a) }

func dev(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }

func contact(b *Baselines, d netip.Addr, ts time.Time, ip netip.Addr, host string) {
	c := &Contact{TS: ts, Device: b.Device(d, ts), IP: ip, Port: 443, Proto: 1, External: true,
		Host: host, Domain: host, Conn: true, Established: true, HostFromDNS: true, Up: 100, Down: 1000}
	b.Net.Advance(ts)
	b.Learn(c)
}

func TestPrevalenceCountsDistinctDevicesInWindow(t *testing.T) {
	s := DefaultSettings()
	s.Window = units.Duration(48 * time.Hour)
	b := New(s, internal)
	ip := netip.MustParseAddr("203.0.113.7")
	for i := range 3 {
		contact(b, dev(i), t0.Add(time.Duration(i)*time.Hour), ip, "x.example.com")
		contact(b, dev(i), t0.Add(time.Duration(i)*time.Hour+time.Minute), ip, "x.example.com") // repeats count once
	}
	p := b.Net.IP(ip, b.Lookup(dev(0)).ID)
	require.True(t, p.Seen)
	require.Equal(t, 3, p.Devices)
	require.Equal(t, 2, p.Others, "the asking device is not an other")
	require.Equal(t, t0, p.FirstSeen)
	require.Equal(t, 3, b.Net.Name(KindHost, "x.example.com", 99).Others)

	// Two days later the first two contacts have left the window.
	b.Net.Advance(t0.Add(49*time.Hour + 30*time.Minute))
	p = b.Net.IP(ip, 99)
	require.Equal(t, 1, p.Devices)
	// After a whole window of silence the endpoint is forgotten: new again.
	b.Net.Advance(t0.Add(200 * time.Hour))
	require.False(t, b.Net.IP(ip, 99).Seen)
	ips, hosts, _ := b.Net.Endpoints()
	require.Zero(t, ips+hosts, "the hourly sweep dropped them")
}

func TestRareAndNew(t *testing.T) {
	b := New(DefaultSettings(), internal)
	ip := netip.MustParseAddr("198.51.100.1")
	for i := range 200 { // 200 devices: rare means at most 4 others
		contact(b, dev(i), t0, netip.MustParseAddr("192.0.2.1"), "")
	}
	for i := range 5 {
		contact(b, dev(i), t0.Add(time.Minute), ip, "")
	}
	require.Equal(t, 4, b.Net.RareLimit())
	p := b.Net.IP(ip, b.Lookup(dev(0)).ID)
	require.Equal(t, 4, p.Others)
	require.True(t, b.Net.Rare(p))
	require.False(t, b.Net.Rare(b.Net.IP(ip, b.Lookup(dev(100)).ID)), "5 others is not rare")
	require.False(t, b.Net.Rare(b.Net.IP(netip.MustParseAddr("192.0.2.1"), 0)))
	require.True(t, b.Net.New(p))
	require.InDelta(t, 0, b.Net.Newness(p), 0.001, "first seen in the first minute of data: new says little")
	b.Net.Advance(t0.Add(8 * 24 * time.Hour))
	require.False(t, b.Net.New(b.Net.IP(ip, 0)), "older than new_age")
	require.Equal(t, 1.0, b.Net.Newness(b.Net.IP(netip.MustParseAddr("203.0.113.99"), 0)), "never seen, after learning")
}

func TestPopularEndpointSwitchesToSketch(t *testing.T) {
	b := New(DefaultSettings(), internal)
	ip := netip.MustParseAddr("192.0.2.10")
	for i := range 500 {
		contact(b, dev(i), t0.Add(time.Duration(i)*time.Second), ip, "")
	}
	p := b.Net.IP(ip, 0)
	require.False(t, p.Exact)
	require.InDelta(t, 500, p.Devices, 500*0.2, "HyperLogLog estimate")
	require.False(t, b.Net.Rare(p))
}

func TestDHCPKeepsIdentityAcrossAddresses(t *testing.T) {
	b := New(DefaultSettings(), internal)
	a1, a2 := netip.MustParseAddr("10.0.0.20"), netip.MustParseAddr("10.0.0.77")
	b.DHCP("AA:BB:CC:00:00:01", a1, t0)
	contact(b, a1, t0, netip.MustParseAddr("192.0.2.1"), "one.example.com")
	p := b.Lookup(a1)
	require.Equal(t, "mac:aa:bb:cc:00:00:01", p.Key)
	b.DHCP("aa:bb:cc:00:00:01", a2, t0.Add(48*time.Hour))
	require.Same(t, p, b.Lookup(a2), "the new lease belongs to the same device")
	_, ok := p.Hosts.Has("one.example.com")
	require.True(t, ok, "its pattern of life came along")

	// A device first seen by address is adopted by its MAC later.
	a3 := netip.MustParseAddr("10.0.0.30")
	contact(b, a3, t0, netip.MustParseAddr("192.0.2.1"), "")
	q := b.Lookup(a3)
	b.DHCP("aa:bb:cc:00:00:02", a3, t0.Add(time.Hour))
	require.Same(t, q, b.Lookup(a3))
	require.Equal(t, "mac:aa:bb:cc:00:00:02", q.Key)
}

func TestProfileIsBounded(t *testing.T) {
	s := DefaultSettings()
	s.MaxPeers = 64
	b := New(s, internal)
	d := dev(1)
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)})
		contact(b, d, t0.Add(time.Duration(i)*time.Second), ip, fmt.Sprintf("h%d.example.com", i))
	}
	p := b.Lookup(d)
	require.LessOrEqual(t, len(p.IPs), 64)
	require.LessOrEqual(t, p.Hosts.Len(), 64)
	_, recent := p.Hosts.Has("h999.example.com")
	_, old := p.Hosts.Has("h0.example.com")
	require.True(t, recent)
	require.False(t, old, "the least recently used go first")
}

func TestSettingsValidate(t *testing.T) {
	s := DefaultSettings()
	require.NoError(t, s.Validate())
	s.RareFraction = 1.5
	require.ErrorContains(t, s.Validate(), "rare_fraction")
	s = DefaultSettings()
	s.Timezone = "Mars/Olympus"
	require.ErrorContains(t, s.Validate(), "timezone")
}

// TestMemory measures the memory held per tracked endpoint and per device
// (the README's figures): -v prints them.
func TestMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("memory measurement")
	}
	const devices, endpoints = 500, 100_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := New(DefaultSettings(), internal)
	ts := t0
	// Most endpoints have one or two devices; every 50th is popular.
	for i := range endpoints {
		ip := netip.AddrFrom4([4]byte{198, byte(i >> 16), byte(i >> 8), byte(i)})
		host := fmt.Sprintf("n%d.example%d.com", i, i%5000)
		n := 1 + i%2
		if i%50 == 0 {
			n = 40
		}
		for j := range n {
			ts = ts.Add(time.Millisecond)
			contact(b, dev((i*7+j*13)%devices), ts, ip, host)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	ips, hosts, doms := b.Net.Endpoints()
	total := float64(after.HeapAlloc - before.HeapAlloc)
	t.Logf("%d devices, %d IPs + %d hosts + %d domains tracked: %.1f MiB in all", devices, ips, hosts, doms, total/(1<<20))

	// Per endpoint: the network tables alone.
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := NewNetwork(DefaultSettings())
	for i := range endpoints {
		n.Advance(t0.Add(time.Duration(i) * time.Millisecond))
		ip := netip.AddrFrom4([4]byte{198, byte(i >> 16), byte(i >> 8), byte(i)})
		c := 1 + i%2
		if i%50 == 0 {
			c = 40
		}
		for j := range c {
			n.ContactIP(ip, uint32(j))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / endpoints
	t.Logf("network: %.0f bytes per tracked endpoint (2%% popular, in sketch mode)", per)
	require.Less(t, per, 2048.0, "goal: < 2 KiB per tracked endpoint")
	runtime.KeepAlive(n)
	runtime.KeepAlive(b)

	// Per device: a busy device's profile (300 host names, 300 addresses,
	// 40 ports, 12 user agents, 3 JA4s, sketches with a month of data).
	runtime.GC()
	runtime.ReadMemStats(&before)
	bs := New(DefaultSettings(), internal)
	const busy = 200
	for d := range busy {
		for i := range 3000 {
			k := i % 300
			c := &Contact{TS: t0.Add(time.Duration(i) * 15 * time.Minute), IP: netip.AddrFrom4([4]byte{198, 18, byte(k >> 8), byte(k)}),
				Port: uint16(443 + i%40), Proto: 1, External: true, Host: fmt.Sprintf("h%d.site%d.com", k, k), Conn: true,
				Established: true, Up: int64(100 + i*37%90000), Down: int64(1000 + i*91%900000),
				UserAgent: fmt.Sprintf("agent/%d", i%12), JA4: fmt.Sprintf("t13d_%d", i%3)}
			c.Domain = c.Host
			c.Device = bs.Device(dev(d), c.TS)
			bs.Learn(c)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("profile: %.1f KiB per busy device", float64(after.HeapAlloc-before.HeapAlloc)/busy/1024)
	runtime.KeepAlive(bs)
}

// TestSaveLoad checks that saved baselines load to the same state: the
// same answers to every query, and the same bytes when saved again.
func TestSaveLoad(t *testing.T) {
	b := New(DefaultSettings(), internal)
	popular := netip.MustParseAddr("192.0.2.10")
	for i := range 40 { // popular: in sketch mode
		contact(b, dev(i), t0.Add(time.Duration(i)*time.Minute), popular, "cdn.example.com")
	}
	rare := netip.MustParseAddr("198.51.100.7")
	contact(b, dev(3), t0.Add(2*time.Hour), rare, "rare.example.net")
	b.DHCP("aa:bb:cc:00:00:09", dev(3), t0)
	c := &Contact{TS: t0.Add(3 * time.Hour), Device: b.Device(dev(3), t0), IP: rare, Port: 8080, Proto: 1, External: true,
		Host: "rare.example.net", Domain: "example.net", UserAgent: "curl/8.7.1", JA4: "t13d_x", Established: true}
	b.Learn(c)

	var first bytes.Buffer
	require.NoError(t, b.Save(&first))
	l, err := Load(bytes.NewReader(first.Bytes()), DefaultSettings(), internal)
	require.NoError(t, err)
	var second bytes.Buffer
	require.NoError(t, l.Save(&second))
	require.Equal(t, first.Bytes(), second.Bytes(), "save, load, save: the same bytes")

	p, q := b.Lookup(dev(3)), l.Lookup(dev(3))
	require.Equal(t, p.Key, q.Key)
	require.Equal(t, b.Net.IP(popular, p.ID), l.Net.IP(popular, q.ID))
	require.Equal(t, b.Net.IP(rare, p.ID), l.Net.IP(rare, q.ID))
	require.Equal(t, b.Net.Name(KindHost, "rare.example.net", 7), l.Net.Name(KindHost, "rare.example.net", 7))
	require.Equal(t, b.Net.Population(), l.Net.Population())
	_, ok := q.UserAgents.Has("curl/8.7.1")
	require.True(t, ok)
	require.True(t, q.HasIP(rare))
	require.Equal(t, p.Up.GetCount(), q.Up.GetCount())
	require.Equal(t, p.Hours, q.Hours)

	_, err = Load(bytes.NewReader([]byte("not a baseline")), DefaultSettings(), internal)
	require.ErrorIs(t, err, ErrBadSnapshot)
}

// FuzzLoad feeds damaged baseline documents to Load (the fuzzer edits the
// JSON; the harness compresses it as Save does): an error, never a panic.
func FuzzLoad(f *testing.F) {
	b := New(DefaultSettings(), internal)
	for i := range 20 {
		contact(b, dev(i), t0.Add(time.Duration(i)*time.Second), netip.MustParseAddr("192.0.2.1"), "a.example.com")
	}
	var good bytes.Buffer
	require.NoError(f, b.Save(&good))
	zr, err := gzip.NewReader(&good)
	require.NoError(f, err)
	doc, err := io.ReadAll(zr)
	require.NoError(f, err)
	f.Add(doc)
	f.Add([]byte(`{"format":"vigil-baseline","version":1,"by_ip":{"10.0.0.1":7}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(doc)
		_ = zw.Close()
		l, err := Load(&z, DefaultSettings(), internal)
		if err != nil {
			return
		}
		for _, p := range l.Profiles() {
			l.Net.IP(netip.MustParseAddr("192.0.2.1"), p.ID)
			contact(l, dev(1), t0.Add(time.Hour), netip.MustParseAddr("192.0.2.1"), "a.example.com")
		}
		var again bytes.Buffer
		require.NoError(t, l.Save(&again))
	})
}
