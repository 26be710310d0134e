package wire

// The parameter lists below are facts about what each client sends, read
// from real ClientHellos (the shared nDPI and FoxIO captures where they
// exist) and from the clients' public documentation and source; see
// hello_test.go for which ones are checked against real fingerprints.

// grease marks a GREASE slot in a list; the builder draws the value.
const grease = 0x0a0a

// TLS extension types used by the profiles.
const (
	extServerName       = 0
	extStatusRequest    = 5
	extSupportedGroups  = 10
	extECPointFormats   = 11
	extSignatureAlgs    = 13
	extALPN             = 16
	extSCT              = 18
	extPadding          = 21
	extEncryptThenMAC   = 22
	extEMS              = 23
	extCompressCert     = 27
	extRecordSizeLimit  = 28
	extDelegatedCreds   = 34
	extSessionTicket    = 35
	extSupportedVers    = 43
	extPSKModes         = 45
	extPostHandshake    = 49
	extSigAlgsCert      = 50
	extKeyShare         = 51
	extALPS             = 17513 // application_settings, Chrome 91-132
	extALPSNew          = 17613 // application_settings under its new code point, Chrome 133+
	extECH              = 65037 // encrypted_client_hello (GREASE ECH when no config)
	extRenegotiationInf = 65281
)

// Named groups.
const (
	groupSecp256r1      = 0x0017
	groupSecp384r1      = 0x0018
	groupSecp521r1      = 0x0019
	groupX25519         = 0x001d
	groupX448           = 0x001e
	groupFFDHE2048      = 0x0100
	groupFFDHE3072      = 0x0101
	groupFFDHE4096      = 0x0102
	groupFFDHE6144      = 0x0103
	groupFFDHE8192      = 0x0104
	groupX25519MLKEM768 = 0x11ec
	// Go 1.26's other hybrids.
	groupSecp256r1MLKEM768  = 0x11eb
	groupSecp384r1MLKEM1024 = 0x11ed
)

// keyShareLen is the client key share size of each group.
var keyShareLen = map[uint16]int{
	groupX25519:         32,
	groupX448:           56,
	groupSecp256r1:      65,
	groupSecp384r1:      97,
	groupSecp521r1:      133,
	groupX25519MLKEM768: 1184 + 32,
	grease:              1,
}

// profile is one client's ClientHello recipe.
type profile struct {
	// recordVersion is the record layer's version field.
	recordVersion uint16
	// tls12Only: no supported_versions, key_share or TLS 1.3 suites.
	tls12Only bool
	ciphers   []uint16
	// exts is the extension order; grease slots draw GREASE extensions
	// (empty the first, one zero byte the last, as BoringSSL does).
	exts []uint16
	// shuffle randomises the order of every non-GREASE extension (Chrome
	// 110+), except pre_shared_key which stays last.
	shuffle   bool
	groups    []uint16
	keyShares []uint16
	sigalgs   []uint16
	// sigalgsCert is signature_algorithms_cert (Go).
	sigalgsCert []uint16
	versions    []uint16
	alpn        []string
	noSession   bool // empty legacy_session_id
	compress    []uint16
	alpsProtos  []string
	// padTo pads the hello with extension 21 to this handshake length
	// when shorter (BoringSSL and NSS pad 256-511 byte hellos to 512);
	// alwaysPad keeps the extension even when nothing is needed.
	padTo     int
	alwaysPad bool
	// zeroPad: OpenSSL pads with 0 bytes where BoringSSL needs at least 1.
	zeroPad bool
	// ecFormats is the ec_point_formats list; nil means uncompressed only.
	ecFormats []uint8
	// recordLimit is the record_size_limit value (Firefox).
	recordLimit uint16
	// delegated lists delegated_credentials signature schemes (Firefox).
	delegated []uint16
}

var chromeCiphers = []uint16{grease, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8,
	0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}

var chromeSigalgs = []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}

// chrome is Chrome 131+ (and Edge, and every Chromium) on desktop: post-
// quantum hybrid key share, GREASE, GREASE ECH, shuffled extensions.
func chrome() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers:       chromeCiphers,
		exts: []uint16{grease, extServerName, extEMS, extRenegotiationInf, extSupportedGroups, extECPointFormats,
			extSessionTicket, extALPN, extStatusRequest, extSignatureAlgs, extSCT, extKeyShare, extPSKModes,
			extSupportedVers, extCompressCert, extALPS, extECH, grease},
		shuffle:    true,
		groups:     []uint16{grease, groupX25519MLKEM768, groupX25519, groupSecp256r1, groupSecp384r1},
		keyShares:  []uint16{grease, groupX25519MLKEM768, groupX25519},
		sigalgs:    chromeSigalgs,
		versions:   []uint16{grease, 0x0304, 0x0303},
		alpn:       []string{"h2", "http/1.1"},
		compress:   []uint16{2}, // brotli
		alpsProtos: []string{"h2"},
	}
}

// firefox is Firefox 132+ (NSS): no GREASE but a GREASE ECH extension,
// fixed order, FFDHE groups, three key shares.
func firefox() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers: []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a, 0xc009,
			0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []uint16{extServerName, extEMS, extRenegotiationInf, extSupportedGroups, extECPointFormats,
			extSessionTicket, extALPN, extStatusRequest, extDelegatedCreds, extSCT, extKeyShare, extSupportedVers,
			extSignatureAlgs, extPSKModes, extRecordSizeLimit, extCompressCert, extECH},
		groups: []uint16{groupX25519MLKEM768, groupX25519, groupSecp256r1, groupSecp384r1, groupSecp521r1,
			groupFFDHE2048, groupFFDHE3072},
		keyShares: []uint16{groupX25519MLKEM768, groupX25519, groupSecp256r1},
		sigalgs: []uint16{0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
			0x0203, 0x0201},
		versions:    []uint16{0x0304, 0x0303},
		alpn:        []string{"h2", "http/1.1"},
		compress:    []uint16{1, 2, 3}, // zlib, brotli, zstd
		recordLimit: 0x4001,
		delegated:   []uint16{0x0403, 0x0503, 0x0603, 0x0203},
	}
}

// safari is Safari 17/18 on macOS and iOS (Apple's BoringSSL-derived
// stack): GREASE, 3DES still offered, a duplicated rsa_pss_rsae_sha384
// signature algorithm, padding to 512 bytes.
func safari() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers: []uint16{grease, 0x1301, 0x1302, 0x1303, 0xc02c, 0xc02b, 0xcca9, 0xc030, 0xc02f, 0xcca8,
			0xc00a, 0xc009, 0xc014, 0xc013, 0x009d, 0x009c, 0x0035, 0x002f, 0xc008, 0xc012, 0x000a},
		exts: []uint16{grease, extServerName, extEMS, extRenegotiationInf, extSupportedGroups, extECPointFormats,
			extALPN, extStatusRequest, extSignatureAlgs, extSCT, extKeyShare, extPSKModes, extSupportedVers,
			extCompressCert, grease, extPadding},
		groups:    []uint16{grease, groupX25519, groupSecp256r1, groupSecp384r1, groupSecp521r1},
		keyShares: []uint16{grease, groupX25519},
		sigalgs: []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0203, 0x0805, 0x0805, 0x0501, 0x0806, 0x0601,
			0x0201},
		versions:  []uint16{grease, 0x0304, 0x0303, 0x0302, 0x0301},
		alpn:      []string{"h2", "http/1.1"},
		compress:  []uint16{1}, // zlib
		padTo:     512,
		alwaysPad: true,
	}
}

// opensslCiphers is OpenSSL 3's default client list (curl, wget, git).
var opensslCiphers = []uint16{0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0x009f, 0xcca9, 0xcca8, 0xccaa, 0xc02b,
	0xc02f, 0x009e, 0xc024, 0xc028, 0x006b, 0xc023, 0xc027, 0x0067, 0xc00a, 0xc014, 0x0039, 0xc009, 0xc013,
	0x0033, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x00ff}

// openssl32Sigalgs is OpenSSL 3.2+'s default signature_algorithms (with
// the TLS 1.3 brainpool schemes); openssl30Sigalgs OpenSSL 3.0's.
var (
	openssl32Sigalgs = []uint16{0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081a, 0x081b, 0x081c, 0x0809, 0x080a,
		0x080b, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602}
	openssl30Sigalgs = []uint16{0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0804, 0x0805,
		0x0806, 0x0401, 0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602}
)

var opensslGroups = []uint16{groupX25519, groupSecp256r1, groupX448, groupSecp521r1, groupSecp384r1,
	groupFFDHE2048, groupFFDHE3072, groupFFDHE4096, groupFFDHE6144, groupFFDHE8192}

// curl is curl 8 as Debian 12 and Ubuntu ship it, linked with OpenSSL
// 3.0: no session ticket extension (curl turns tickets off), OpenSSL's F5
// padding of 256-511 byte hellos, TLS 1.0 and up. Read from the real curl
// hellos in the shared lab capture.
func curl() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers:       opensslCiphers,
		exts: []uint16{extServerName, extECPointFormats, extSupportedGroups, extALPN,
			extEncryptThenMAC, extEMS, extPostHandshake, extSignatureAlgs, extSupportedVers, extPSKModes, extKeyShare,
			extPadding},
		groups:    opensslGroups,
		keyShares: []uint16{groupX25519},
		sigalgs:   openssl30Sigalgs,
		versions:  []uint16{0x0304, 0x0303, 0x0302, 0x0301},
		alpn:      []string{"h2", "http/1.1"},
		ecFormats: []uint8{0, 1, 2},
		padTo:     512,
		zeroPad:   true,
	}
}

// curl32 is curl 8 on OpenSSL 3.2 or later (Homebrew, Fedora, Arch): the
// TLS 1.3 brainpool signature schemes added, TLS 1.2 minimum. FoxIO
// publishes its JA4.
func curl32() *profile {
	p := curl()
	p.sigalgs = openssl32Sigalgs
	p.versions = []uint16{0x0304, 0x0303}
	return p
}

// python is requests (urllib3 2) on Python 3.8+ and OpenSSL 3.0: Python's
// default context cipher string, post-handshake auth offered, ALPN
// http/1.1 from urllib3, SSL_OP_ALL's padding. Read from the real
// requests hellos in the shared lab capture.
func python() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers: []uint16{0x1302, 0x1303, 0x1301, 0xc02c, 0xc030, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc024, 0xc028,
			0xc023, 0xc027, 0x009f, 0x009e, 0x006b, 0x0067, 0x00ff},
		exts: []uint16{extServerName, extECPointFormats, extSupportedGroups, extALPN, extEncryptThenMAC, extEMS,
			extPostHandshake, extSignatureAlgs, extSupportedVers, extPSKModes, extKeyShare, extPadding},
		groups:    opensslGroups,
		keyShares: []uint16{groupX25519},
		sigalgs:   openssl30Sigalgs,
		versions:  []uint16{0x0304, 0x0303},
		alpn:      []string{"http/1.1"},
		ecFormats: []uint8{0, 1, 2},
		padTo:     512,
		zeroPad:   true,
	}
}

// pythonUrllib is Python's ssl module as plain urllib and older scripts
// use it: no ALPN, no post-handshake auth, session tickets offered. It
// reproduces FoxIO's "Python" mapping entry.
func pythonUrllib() *profile {
	p := python()
	p.exts = []uint16{extServerName, extECPointFormats, extSupportedGroups, extSessionTicket, extEncryptThenMAC, extEMS,
		extSignatureAlgs, extSupportedVers, extPSKModes, extKeyShare, extPadding}
	p.alpn = nil
	return p
}

// goHTTP is Go's crypto/tls client as net/http uses it (read from a
// Go 1.26 hello): hybrid post-quantum groups first, TLS 1.3 suites last,
// no session ticket or PSK extensions (net/http keeps no session cache).
func goHTTP() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014,
			0x1301, 0x1302, 0x1303},
		exts: []uint16{extServerName, extECPointFormats, extRenegotiationInf, extEMS, extSCT, extStatusRequest,
			extSupportedGroups, extSignatureAlgs, extSigAlgsCert, extALPN, extSupportedVers, extKeyShare},
		groups: []uint16{groupX25519MLKEM768, groupSecp256r1MLKEM768, groupSecp384r1MLKEM1024, groupX25519,
			groupSecp256r1, groupSecp384r1, groupSecp521r1},
		keyShares:   []uint16{groupX25519MLKEM768, groupX25519},
		sigalgs:     []uint16{0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603},
		sigalgsCert: []uint16{0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0503, 0x0603, 0x0201, 0x0203},
		versions:    []uint16{0x0304, 0x0303},
		alpn:        []string{"h2", "http/1.1"},
	}
}

// schannel is Windows 10/11 SChannel as .NET Framework (Windows
// PowerShell's Invoke-WebRequest) and WinINET use it: TLS 1.2, no ALPN.
func schannel() *profile {
	return &profile{
		recordVersion: 0x0303,
		tls12Only:     true,
		ciphers: []uint16{0xc02c, 0xc02b, 0xc030, 0xc02f, 0xc024, 0xc023, 0xc028, 0xc027, 0xc00a, 0xc009, 0xc014,
			0xc013, 0x009d, 0x009c, 0x003d, 0x003c, 0x0035, 0x002f, 0x000a},
		exts: []uint16{extServerName, extStatusRequest, extSupportedGroups, extECPointFormats, extSignatureAlgs,
			extSessionTicket, extEMS, extRenegotiationInf},
		groups: []uint16{groupX25519, groupSecp256r1, groupSecp384r1},
		sigalgs: []uint16{0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0201, 0x0403, 0x0503, 0x0203, 0x0202,
			0x0601, 0x0603},
		noSession: true,
	}
}

// okhttp is OkHttp 4 on Android (Conscrypt, BoringSSL inside): no GREASE,
// OkHttp's MODERN_TLS suites, fixed order.
func okhttp() *profile {
	return &profile{
		recordVersion: 0x0301,
		ciphers: []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xcca9, 0xc02f, 0xc030, 0xcca8, 0xc013, 0xc014,
			0x009c, 0x009d, 0x002f, 0x0035},
		exts: []uint16{extServerName, extEMS, extRenegotiationInf, extSupportedGroups, extECPointFormats,
			extSessionTicket, extStatusRequest, extALPN, extSignatureAlgs, extKeyShare, extPSKModes,
			extSupportedVers, extPadding},
		groups:    []uint16{groupX25519, groupSecp256r1, groupSecp384r1},
		keyShares: []uint16{groupX25519},
		sigalgs:   []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601, 0x0201},
		versions:  []uint16{0x0304, 0x0303},
		alpn:      []string{"h2", "http/1.1"},
		padTo:     512,
	}
}

// profiles maps each profile name to its recipe.
var profiles = map[string]func() *profile{
	"chrome-win":      chrome,
	"edge-win":        chrome,
	"chrome-mac":      chrome,
	"safari-mac":      safari,
	"apple-ios":       safari,
	"firefox-linux":   firefox,
	"firefox-win":     firefox,
	"curl":            curl,
	"curl-openssl32":  curl32,
	"go-http":         goHTTP,
	"python-requests": python,
	"python-urllib":   pythonUrllib,
	"powershell":      schannel,
	"okhttp":          okhttp,
	// Aliases for the same stacks.
	"chrome-android": chrome,   // Chrome on Android: the same BoringSSL hello
	"chrome-linux":   chrome,   // and on Linux
	"edge-mac":       chrome,   // Edge is Chromium everywhere
	"safari-ios":     safari,   // Safari on iOS: Apple's stack, as apple-ios
	"schannel":       schannel, // any SChannel client (WinINET, .NET Framework)
}
