package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Role is what a device is for; it decides the device's behaviour.
type Role string

// The device roles of the organisation.
const (
	RoleWinLaptop  Role = "windows-laptop"
	RoleMacLaptop  Role = "macos-laptop"
	RoleDeveloper  Role = "developer"
	RolePhone      Role = "phone"
	RolePrinter    Role = "printer"
	RoleServer     Role = "linux-server"
	RoleResolver   Role = "dns-resolver"
	RoleProxy      Role = "http-proxy"
	RoleDC         Role = "domain-controller"
	RoleFileServer Role = "file-server"
	RoleMCPServer  Role = "mcp-server"
)

// Device is one host of the organisation.
type Device struct {
	// ID is stable for a role and ordinal ("windows-laptop-7"): the
	// device's random stream derives from it, so adding devices of other
	// roles does not change this one.
	ID       string
	Role     Role
	Hostname string
	IP       netip.Addr
	MAC      string
	OS       string // "windows", "macos", "linux", "ios", "android", "printer"
	TTL      uint8
	// Browser is the TLS client profile of the device's browser.
	Browser string
	// Person is nil for unattended devices (servers, printers).
	Person *Person
	// Remote devices work through the VPN pool from another time zone.
	Remote bool
	// AlwaysOn devices stay on the network outside working hours (desktops,
	// servers, printers); others leave with their owner.
	AlwaysOn bool
	// TravelIP is the address used while the owner travels with VPN.
	TravelIP netip.Addr
	seed     uint64
}

// Person is the user of a device: when they work.
type Person struct {
	Name string
	Zone *time.Location
	// Start and End of the working day, minutes after local midnight.
	Start, End int
	// TravelWeek is the week index (from the simulation start) the person
	// travels, -1 for none; TravelVPN whether their laptop then appears
	// from the VPN pool (else it is absent).
	TravelWeek int
	TravelVPN  bool
}

// Subnets of the organisation (RFC 1918).
var (
	SubnetLAN     = netip.MustParsePrefix("10.10.0.0/16")
	SubnetServers = netip.MustParsePrefix("10.20.0.0/22")
	SubnetDMZ     = netip.MustParsePrefix("172.16.10.0/24")
	SubnetWiFi    = netip.MustParsePrefix("10.30.0.0/16")
	SubnetVPN     = netip.MustParsePrefix("10.99.0.0/16")
)

// GatewayMAC is the router's MAC: external peers appear behind it.
const GatewayMAC = "00:1b:54:0a:00:01"

// Domain is the organisation's internal DNS domain.
const Domain = "corp.example.com"

// OfficeZone is the office's time zone (fixed offset: no DST, so that
// schedules stay simple and reproducible).
var OfficeZone = time.FixedZone("EST", -5*3600)

var remoteZones = []*time.Location{
	time.FixedZone("PST", -8*3600),
	time.FixedZone("GMT", 0),
	time.FixedZone("CET", 3600),
}

// Org is the simulated organisation.
type Org struct {
	Devices []*Device
	byRole  map[Role][]*Device
	// Resolver, Proxy and DHCP are the infrastructure devices others use.
	Resolver, Proxy, DHCP *Device
}

// ByRole returns the devices of role r in a fixed order.
func (o *Org) ByRole(r Role) []*Device { return o.byRole[r] }

// roleShare sets how a K-device organisation divides into roles: count =
// max(min, K*per/1000). Windows laptops take the remainder.
var roleShare = []struct {
	role     Role
	per, min int
}{
	{RoleResolver, 0, 1},
	{RoleProxy, 0, 1},
	{RoleDC, 4, 1},
	{RoleFileServer, 2, 1},
	{RoleMCPServer, 0, 1},
	{RoleServer, 40, 2},
	{RolePrinter, 20, 1},
	{RolePhone, 150, 1},
	{RoleDeveloper, 100, 2},
	{RoleMacLaptop, 200, 1},
}

// ouis are plausible vendor prefixes per kind of device.
var ouis = map[string][]string{
	"pc":      {"f8:bc:12", "54:ee:75", "98:fa:9b", "3c:52:82"}, // Dell, Lenovo, HP
	"apple":   {"a4:83:e7", "3c:22:fb", "f0:18:98", "8c:85:90"},
	"server":  {"ac:1f:6b", "00:50:56", "b8:2a:72"}, // Supermicro, VMware, Dell
	"printer": {"3c:d9:2b", "00:80:77", "30:05:5c"}, // HP, Brother
	"android": {"8c:f5:a3", "e8:50:8b"},
}

// hash64 is FNV-1a over parts, each followed by a zero byte (inline: no
// allocation on hot paths).
func hash64(parts ...string) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			h ^= uint64(p[i])
			h *= prime
		}
		h *= prime // the zero byte: h ^= 0
	}
	return h
}

// rngFor returns the random stream of one named thing, independent of
// every other name.
func rngFor(seed uint64, name string) *rand.Rand {
	return rand.New(rand.NewPCG(seed, hash64(name)))
}

var firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "nina", "oscar", "peggy", "rupert", "sybil", "trent", "victor", "wendy", "yusuf", "zoe", "liam", "mia", "noah", "olivia", "priya", "raj", "sara", "tom", "uma"}

// NewOrg builds the organisation of k devices (at least one of each
// infrastructure role), deterministically from seed.
func NewOrg(seed uint64, k int) *Org {
	counts := map[Role]int{}
	total := 0
	for _, s := range roleShare {
		n := max(s.min, k*s.per/1000)
		counts[s.role] = n
		total += n
	}
	counts[RoleWinLaptop] = max(1, k-total)
	order := []Role{RoleResolver, RoleProxy, RoleDC, RoleFileServer, RoleMCPServer, RoleServer, RolePrinter, RoleWinLaptop, RoleMacLaptop, RoleDeveloper, RolePhone}
	o := &Org{byRole: map[Role][]*Device{}}
	for _, r := range order {
		for i := range counts[r] {
			o.add(newDevice(seed, r, i))
		}
	}
	o.Resolver = o.byRole[RoleResolver][0]
	o.Proxy = o.byRole[RoleProxy][0]
	o.DHCP = o.byRole[RoleDC][0]
	return o
}

func (o *Org) add(d *Device) {
	o.Devices = append(o.Devices, d)
	o.byRole[d.Role] = append(o.byRole[d.Role], d)
}

// addrIn returns the address off after p's base address.
func addrIn(p netip.Prefix, off int) netip.Addr {
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(off)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// roleBase places each role's addresses in its own block, so a device's
// address depends only on its role and ordinal.
var roleBase = map[Role]int{
	RoleWinLaptop: 1 * 256, RoleMacLaptop: 96 * 256, RoleDeveloper: 150 * 256, RolePrinter: 200 * 256,
	RolePhone: 256, RoleResolver: 53, RoleProxy: 10, RoleDC: 10, RoleFileServer: 20, RoleMCPServer: 30, RoleServer: 100,
}

func newDevice(seed uint64, r Role, i int) *Device {
	id := fmt.Sprintf("%s-%d", r, i)
	rng := rngFor(seed, "device/"+id)
	d := &Device{ID: id, Role: r, seed: seed ^ hash64("gen/"+id)}
	mac := func(kind string) string {
		o := ouis[kind][rng.IntN(len(ouis[kind]))]
		return fmt.Sprintf("%s:%02x:%02x:%02x", o, rng.IntN(256), rng.IntN(256), rng.IntN(256))
	}
	person := func() *Person {
		p := &Person{
			Name:       firstNames[rng.IntN(len(firstNames))] + fmt.Sprint(i),
			Zone:       OfficeZone,
			Start:      7*60 + 30 + rng.IntN(121), // 07:30-09:30
			TravelWeek: -1,
		}
		p.End = p.Start + 8*60 + 30 + rng.IntN(61)
		if rng.IntN(8) == 0 {
			p.TravelWeek = rng.IntN(4)
			p.TravelVPN = rng.IntN(2) == 0
		}
		return p
	}
	switch r {
	case RoleWinLaptop:
		d.OS, d.TTL, d.MAC = "windows", 128, mac("pc")
		d.Hostname = fmt.Sprintf("WIN-%04d", 1000+i)
		d.Browser = "edge-win"
		if rng.IntN(3) == 0 {
			d.Browser = "chrome-win"
		}
		d.Person = person()
		d.AlwaysOn = rng.IntN(4) == 0 // desktops left on at night
		d.IP = addrIn(SubnetLAN, roleBase[r]+i)
	case RoleMacLaptop:
		d.OS, d.TTL, d.MAC = "macos", 64, mac("apple")
		d.Person = person()
		d.Hostname = fmt.Sprintf("%ss-MacBook-Pro", d.Person.Name)
		d.Browser = "safari-mac"
		if rng.IntN(3) == 0 {
			d.Browser = "chrome-mac"
		}
		d.IP = addrIn(SubnetLAN, roleBase[r]+i)
	case RoleDeveloper:
		d.Person = person()
		if i%2 == 0 {
			d.OS, d.TTL, d.MAC, d.Browser = "linux", 64, mac("pc"), "firefox-linux"
			d.Hostname = fmt.Sprintf("dev-%s", d.Person.Name)
			d.AlwaysOn = true
		} else {
			d.OS, d.TTL, d.MAC, d.Browser = "macos", 64, mac("apple"), "chrome-mac"
			d.Hostname = fmt.Sprintf("%ss-MBP", d.Person.Name)
		}
		d.IP = addrIn(SubnetLAN, roleBase[r]+i)
	case RolePhone:
		d.Person = person()
		if rng.IntN(2) == 0 {
			d.OS, d.TTL, d.MAC, d.Browser = "ios", 64, mac("apple"), "apple-ios"
			d.Hostname = fmt.Sprintf("%ss-iPhone", d.Person.Name)
		} else {
			d.OS, d.TTL, d.MAC, d.Browser = "android", 64, mac("android"), "chrome-win" // Chrome's hello is the same on every OS
			d.Hostname = fmt.Sprintf("Galaxy-%s", d.Person.Name)
		}
		d.IP = addrIn(SubnetWiFi, roleBase[r]+i)
	case RolePrinter:
		d.OS, d.TTL, d.MAC, d.AlwaysOn = "printer", 64, mac("printer"), true
		d.Hostname = fmt.Sprintf("PRN-FLOOR%d", i+1)
		d.IP = addrIn(SubnetLAN, roleBase[r]+i)
	case RoleResolver, RoleProxy:
		d.OS, d.TTL, d.MAC, d.AlwaysOn = "linux", 64, mac("server"), true
		if r == RoleResolver {
			d.Hostname = fmt.Sprintf("ns%d", i+1)
			d.IP = addrIn(SubnetServers, roleBase[r]+i)
		} else {
			d.Hostname = fmt.Sprintf("proxy%d", i+1)
			d.IP = addrIn(SubnetDMZ, roleBase[r]+i)
		}
	case RoleDC:
		d.OS, d.TTL, d.MAC, d.AlwaysOn = "windows", 128, mac("server"), true
		d.Hostname = fmt.Sprintf("DC%02d", i+1)
		d.IP = addrIn(SubnetServers, roleBase[r]+i)
	case RoleFileServer:
		d.OS, d.TTL, d.MAC, d.AlwaysOn = "windows", 128, mac("server"), true
		d.Hostname = fmt.Sprintf("FS%02d", i+1)
		d.IP = addrIn(SubnetServers, roleBase[r]+i)
	case RoleMCPServer:
		d.OS, d.TTL, d.MAC, d.AlwaysOn = "linux", 64, mac("server"), true
		d.Hostname = fmt.Sprintf("mcp%d", i+1)
		d.IP = addrIn(SubnetServers, roleBase[r]+i)
	case RoleServer:
		d.OS, d.TTL, d.MAC, d.AlwaysOn = "linux", 64, mac("server"), true
		kind := []string{"app", "db", "web", "ci"}[i%4]
		d.Hostname = fmt.Sprintf("%s%02d", kind, i/4+1)
		d.IP = addrIn(SubnetServers, roleBase[r]+i)
	}
	if d.Person != nil && r != RolePhone && rng.IntN(12) == 0 {
		d.Remote = true
		d.Person.Zone = remoteZones[rng.IntN(len(remoteZones))]
		d.IP = addrIn(SubnetVPN, 1024+roleBase[r]+i)
	}
	if d.Person != nil && d.Person.TravelVPN {
		d.TravelIP = addrIn(SubnetVPN, 32768+roleBase[r]+i)
	}
	return d
}
