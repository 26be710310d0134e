// Package useragent classifies HTTP User-Agent strings into the few kinds
// of client the models reason about: browsers, scripting tools and
// libraries, PowerShell, operating-system agents (updaters, certificate
// checks), and requests that send none. Browsers are what people use;
// everything else is software acting on its own, and a tool or PowerShell
// talking to somewhere new is how most intrusions fetch their payloads and
// reach their C2.
//
// Classification reads the product tokens only, case-insensitively, and
// is deliberately coarse: a client can send any string, so a class is
// evidence, never proof.
package useragent

import "strings"

// Class is the kind of client a user agent names.
type Class uint8

// The classes, from least to most specific. Unknown is any string that
// matches none of the others (custom agents, device firmware, malware
// that invents its own).
const (
	Unknown Class = iota
	// Empty: no User-Agent header (or "-"). .NET's WebClient, which
	// PowerShell download cradles use, sends none by default.
	Empty
	// Browser: a web browser or an app built on one (Electron).
	Browser
	// Script: a command-line tool or a programming language's HTTP
	// library (curl, Wget, python-requests, Go-http-client, Java...).
	Script
	// PowerShell: PowerShell's web cmdlets (Invoke-WebRequest,
	// Invoke-RestMethod), in Windows PowerShell ("WindowsPowerShell/5.1")
	// and PowerShell 7 ("PowerShell/7.4.1"), and modules that name it.
	PowerShell
	// System: operating-system and vendor agents that update software,
	// check certificates or test connectivity (Windows Update, Delivery
	// Optimization, CryptoAPI, APT, trustd, Google Update...).
	System
)

var classNames = [...]string{"unknown", "empty", "browser", "script", "powershell", "system"}

// String returns the class's name ("browser", "script"...).
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// Programmatic reports whether the class is software making requests of
// its own accord rather than a person browsing or the OS maintaining
// itself: scripts, PowerShell, and clients that send no agent.
func (c Class) Programmatic() bool { return c == Script || c == PowerShell || c == Empty }

// IsPowerShell reports whether ua is PowerShell's: its web cmdlets append
// "WindowsPowerShell/<version>" (Windows PowerShell 5.x) or
// "PowerShell/<version>" (PowerShell 6+) to a Mozilla-compatible string,
// e.g. "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US)
// PowerShell/7.4.1". Agents of PowerShell modules that name it
// ("AzurePowershell/...") count too. WebClient sends no agent and the
// cmdlets' -UserAgent presets imitate browsers, so neither is recognised.
func IsPowerShell(ua string) bool { return containsFold(ua, "powershell") }

// Classify returns the class of a User-Agent header value.
func Classify(ua string) Class {
	ua = strings.TrimSpace(ua)
	if ua == "" || ua == "-" {
		return Empty
	}
	if IsPowerShell(ua) {
		return PowerShell
	}
	for _, p := range systemAgents {
		if hasPrefixFold(ua, p) {
			return System
		}
	}
	for _, p := range scriptAgents {
		if hasPrefixFold(ua, p) {
			return Script
		}
	}
	for _, s := range scriptInside {
		if containsFold(ua, s) {
			return Script
		}
	}
	if hasPrefixFold(ua, "mozilla/") || hasPrefixFold(ua, "opera/") {
		for _, s := range browserTokens {
			if containsFold(ua, s) {
				return Browser
			}
		}
	}
	return Unknown
}

// systemAgents start the agents of operating systems and vendor updaters.
var systemAgents = []string{
	"windows-update-agent", "microsoft-delivery-optimization", "microsoft-cryptoapi",
	"microsoft bits", "microsoft ncsi", "microsoft-wns", "microsoft_device_metadata",
	"winhttp-autoproxy-service", "debian apt-http", "apt-http", "com.apple.trustd",
	"ocspd", "captivenetworksupport", "softwareupdate", "google update", "googleupdate",
	"libdnf", "dnf/", "urlgrabber", "yum/", "zypp", "packagekit", "snapd",
	"fwupd", "connman", "networkmanager",
}

// scriptAgents start the agents of command-line tools and HTTP libraries.
var scriptAgents = []string{
	"curl/", "wget/", "wget2", "python-requests/", "python-urllib/", "python-httpx/",
	"python/", "urllib3/", "aiohttp/", "httpx/", "httplib2", "pycurl/", "mechanize/",
	"scrapy/", "go-http-client/", "go-resty/", "libwww-perl/", "lwp::", "java/",
	"apache-httpclient/", "okhttp/", "node-fetch", "axios/", "undici", "node/", "deno/",
	"bun/", "got ", "ruby", "faraday", "php/", "guzzlehttp/", "reqwest/", "rust-",
	"dart:io", "httpie/", "aria2/", "lftp/", "fetch libfetch", "libcurl",
	"certutil url agent", "winhttp", "wininet", "bitsadmin", "nmap", "masscan", "zgrab",
	"sqlmap", "nikto", "nuclei", "gobuster", "dirbuster", "hydra", "postmanruntime/",
	"insomnia/", "restsharp/", "cpprestsdk/", "indy library",
}

// scriptInside are script markers found inside otherwise browser-like
// strings (the COM object that VBScript and JScript droppers use).
var scriptInside = []string{"winhttp.winhttprequest", "msxml2.xmlhttp", "urlmon"}

// browserTokens mark a Mozilla-compatible string as a real browser's.
var browserTokens = []string{
	"chrome/", "chromium/", "firefox/", "safari/", "edg/", "edge/", "opr/", "trident/",
	"msie ", "gecko/", "applewebkit/", "presto/",
}

// Family returns ua with every version number replaced by "#", so that a
// client's updates ("Chrome/120.0.6099.71" then "Chrome/121.0.6167.85")
// share one family while a different client does not.
func Family(ua string) string {
	var b strings.Builder
	b.Grow(len(ua))
	family(ua, func(c byte) { b.WriteByte(c) })
	return b.String()
}

// FamilyHash returns a 64-bit FNV-1a hash of Family(ua), without
// allocating, for compact per-device memory of the families seen.
func FamilyHash(ua string) uint64 {
	h := uint64(14695981039346656037)
	family(ua, func(c byte) { h = (h ^ uint64(c)) * 1099511628211 })
	return h
}

// family feeds ua to emit with each run of digits (and the dots and
// underscores between them) collapsed to one '#'.
func family(ua string, emit func(byte)) {
	inNum := false
	for i := 0; i < len(ua); i++ {
		c := ua[i]
		if c >= '0' && c <= '9' || inNum && (c == '.' || c == '_') {
			if !inNum {
				emit('#')
				inNum = true
			}
			continue
		}
		inNum = false
		emit(c)
	}
}

// Product returns the first product token's name, without its version:
// "python-requests" for "python-requests/2.31.0", "Mozilla" for browsers.
func Product(ua string) string {
	ua = strings.TrimSpace(ua)
	if i := strings.IndexAny(ua, "/ ("); i >= 0 {
		ua = ua[:i]
	}
	return ua
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// containsFold reports whether s contains the lower-case ASCII needle,
// ignoring case, without allocating.
func containsFold(s, needle string) bool {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], needle) {
			return true
		}
	}
	return false
}
