package sim

import (
	"fmt"
	"net/netip"
	"strings"
)

// External peers live in the documentation and benchmarking ranges, so a
// simulated capture can never be mistaken for traffic to real hosts.
var externalRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
}

// UpstreamDNS are the resolvers the organisation's resolver forwards to.
var UpstreamDNS = []netip.Addr{netip.MustParseAddr("198.51.100.53"), netip.MustParseAddr("198.51.100.54")}

// extAddr maps a name (and an index, for names with several addresses) to
// a stable external address. Most land in 198.18.0.0/15, the largest
// range; the three /24s stay rare so that scenarios can use them.
func extAddr(name string, i int) netip.Addr {
	h := hash64("ext", name, fmt.Sprint(i))
	p := externalRanges[3]
	off := int(h%(1<<17-2)) + 1
	if h>>60 == 0 { // one in sixteen names in a /24
		p = externalRanges[int(h>>40)%3]
		off = int(h%253) + 1
	}
	return addrIn(p, off)
}

// site is one external name of the catalogue.
type site struct {
	host string
	// addrs are its addresses: several for CDN names, which answer with a
	// rotating subset.
	addrs []netip.Addr
	strs  []string // addrs as text, for DNS answers
	ttl   int      // DNS TTL in seconds
}

var catalog = map[string]*site{}

// lookupSite returns the catalogue entry of host, adding an ordinary one
// (one address, TTL an hour) for names not listed.
func lookupSite(host string) *site {
	if s := catalog[host]; s != nil {
		return s
	}
	a := extAddr(host, 0)
	return &site{host: host, addrs: []netip.Addr{a}, strs: []string{a.String()}, ttl: 3600}
}

func addSites(cdn bool, hosts ...string) []string {
	for _, h := range hosts {
		if catalog[h] != nil {
			continue
		}
		s := &site{host: h, ttl: 3600}
		n := 1
		if cdn {
			n, s.ttl = 4, 300
		}
		for i := range n {
			s.addrs = append(s.addrs, extAddr(h, i))
			s.strs = append(s.strs, s.addrs[i].String())
		}
		catalog[h] = s
	}
	return hosts
}

// The catalogue. Popular sites are chosen with a Zipf-like preference,
// long-tail sites are generated from word lists (fixed, not seeded).
var (
	popularSites = addSites(true, "www.google.com", "www.youtube.com", "en.wikipedia.org", "www.amazon.com",
		"www.reddit.com", "www.linkedin.com", "www.bing.com", "www.nytimes.com", "www.cnn.com", "www.bbc.com",
		"weather.com", "www.espn.com", "www.microsoft.com", "www.apple.com", "stackoverflow.com",
		"www.instagram.com", "x.com", "www.yahoo.com", "www.ebay.com", "www.netflix.com", "www.imdb.com",
		"www.paypal.com", "www.walmart.com", "www.zillow.com", "www.indeed.com", "www.glassdoor.com",
		"www.salesforce.com", "www.adobe.com", "medium.com", "news.ycombinator.com", "www.theguardian.com",
		"www.washingtonpost.com", "www.wsj.com", "www.bloomberg.com", "www.reuters.com", "www.forbes.com",
		"www.cnbc.com", "www.usatoday.com", "www.npr.org", "www.etsy.com", "www.target.com", "www.bestbuy.com",
		"www.homedepot.com", "www.chase.com", "www.bankofamerica.com", "www.expedia.com", "www.booking.com",
		"www.tripadvisor.com", "www.yelp.com", "www.pinterest.com", "www.quora.com", "www.facebook.com")
	cdnSites = addSites(true, "fonts.googleapis.com", "fonts.gstatic.com", "www.gstatic.com", "ajax.googleapis.com",
		"cdnjs.cloudflare.com", "cdn.jsdelivr.net", "static.xx.fbcdn.net", "i.ytimg.com", "pbs.twimg.com",
		"upload.wikimedia.org", "m.media-amazon.com", "www.googletagmanager.com", "www.google-analytics.com",
		"securepubads.g.doubleclick.net", "d1.awsstatic.com", "assets.adobedtm.com", "cdn.cookielaw.org",
		"static.cloudflareinsights.com", "js.stripe.com", "use.typekit.net")
	longTailSites = makeLongTail()
)

func makeLongTail() []string {
	a := []string{"blue", "green", "quick", "silent", "north", "urban", "bright", "little", "golden", "wild", "smart", "open", "deep", "red", "prime", "happy"}
	b := []string{"fox", "river", "garden", "kitchen", "pixel", "market", "trail", "forge", "harbor", "studio", "cycle", "press", "lab", "guide", "review", "works"}
	tlds := []string{"com", "org", "net", "io", "co", "blog", "dev", "info"}
	var out []string
	for i, x := range a {
		for j, y := range b {
			out = append(out, fmt.Sprintf("www.%s%s.%s", x, y, tlds[(i*3+j)%len(tlds)]))
		}
	}
	return addSites(false, out...)
}

// Names used by roles and check-ins, registered with their CDN status.
var (
	_ = addSites(true, "outlook.office365.com", "login.microsoftonline.com", "teams.microsoft.com",
		"corpexample.sharepoint.com", "corpexample-my.sharepoint.com", "graph.microsoft.com",
		"mail.google.com", "docs.google.com", "drive.google.com", "calendar.google.com", "www.googleapis.com",
		"app.slack.com", "wss-primary.slack.com", "edgeapi.slack.com", "files.slack.com",
		"zoom.us", "us05web.zoom.us", "us05st1.zoom.us",
		"fe2cr.update.microsoft.com", "settings-win.data.microsoft.com", "v10.events.data.microsoft.com",
		"wdcp.microsoft.com", "client.wns.windows.com", "msedge.api.cdp.microsoft.com", "edge.microsoft.com",
		"swscan.apple.com", "mesu.apple.com", "xp.apple.com", "courier.push.apple.com", "gateway.icloud.com",
		"mtalk.google.com", "android.clients.google.com", "connectivitycheck.gstatic.com",
		"ts01-b.cloudsink.net", "api.snapcraft.io", "security.ubuntu.com", "archive.ubuntu.com",
		"github.com", "api.github.com", "codeload.github.com", "objects.githubusercontent.com",
		"pypi.org", "files.pythonhosted.org", "registry.npmjs.org", "proxy.golang.org", "sum.golang.org",
		"api.githubcopilot.com", "copilot-proxy.githubusercontent.com",
		"s3.us-east-1.amazonaws.com", "xmpp01.hpeprint.com")
	_ = addSites(false, "time.windows.com", "time.apple.com", "ntp.ubuntu.com", "ocsp.apple.com",
		"ocsp.digicert.com", "ctldl.windowsupdate.com")
)

// registrable returns the registrable domain of host (its last two labels,
// three under a two-letter second level such as co.uk): enough for the
// catalogue's names.
func registrable(host string) string {
	parts := strings.Split(host, ".")
	if len(parts) <= 2 {
		return host
	}
	n := 2
	if sl := parts[len(parts)-2]; len(sl) <= 3 && len(parts[len(parts)-1]) == 2 && (sl == "co" || sl == "com" || sl == "ac") {
		n = 3
	}
	return strings.Join(parts[len(parts)-n:], ".")
}
