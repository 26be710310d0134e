package zeek

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vigil-ndr/vigil/internal/event"
)

// Writer writes events as Zeek TSV logs (conn.log, http.log, ssl.log,
// x509.log, dns.log, dhcp.log) into a directory, with the headers and
// escaping Zeek uses, so that Zeek tooling and Vigil's own Reader read
// them. The #open and #close lines come from event times, not the clock,
// so the same events give byte-identical files. Values that stock Zeek
// does not log follow Zeek's columns as extra trailing columns (ja3, ja3s
// and ja4 as the Zeek packages name them; Vigil's request_content_type,
// self_signed, certs_encrypted, ...). A log file is created with its first
// event. Events of one log should come in roughly time order, as Zeek's do.
type Writer struct {
	dir  string
	logs [logDHCP + 1]*logFile
	err  error
}

type logFile struct {
	f    *os.File
	w    *bufio.Writer
	last time.Time
	row  []byte
}

// NewWriter returns a Writer into dir, which it creates if needed.
func NewWriter(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return &Writer{dir: dir}, nil
}

// column is one field of a log: its name and its Zeek type.
type column struct{ name, typ string }

var idColumns = []column{{"ts", "time"}, {"uid", "string"}, {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"}}

// logColumns are the columns Writer writes, Zeek's first (as Zeek 6
// writes them, with the mac-logging and vlan-logging policies' columns in
// conn.log), then Vigil's.
var logColumns = [...][]column{
	logConn: append(idColumns[:6:6],
		column{"proto", "enum"}, column{"service", "string"}, column{"duration", "interval"},
		column{"orig_bytes", "count"}, column{"resp_bytes", "count"}, column{"conn_state", "string"},
		column{"local_orig", "bool"}, column{"local_resp", "bool"}, column{"missed_bytes", "count"},
		column{"history", "string"}, column{"orig_pkts", "count"}, column{"orig_ip_bytes", "count"},
		column{"resp_pkts", "count"}, column{"resp_ip_bytes", "count"}, column{"tunnel_parents", "set[string]"},
		column{"orig_l2_addr", "string"}, column{"resp_l2_addr", "string"}, column{"vlan", "int"}),
	logHTTP: append(idColumns[:6:6],
		column{"trans_depth", "count"}, column{"method", "string"}, column{"host", "string"},
		column{"uri", "string"}, column{"referrer", "string"}, column{"version", "string"},
		column{"user_agent", "string"}, column{"origin", "string"}, column{"request_body_len", "count"},
		column{"response_body_len", "count"}, column{"status_code", "count"}, column{"status_msg", "string"},
		column{"info_code", "count"}, column{"info_msg", "string"}, column{"tags", "set[enum]"},
		column{"username", "string"}, column{"password", "string"}, column{"proxied", "set[string]"},
		column{"orig_fuids", "vector[string]"}, column{"orig_filenames", "vector[string]"},
		column{"orig_mime_types", "vector[string]"}, column{"resp_fuids", "vector[string]"},
		column{"resp_filenames", "vector[string]"}, column{"resp_mime_types", "vector[string]"},
		column{"request_content_type", "string"}, column{"response_content_type", "string"}),
	logSSL: append(idColumns[:6:6],
		column{"version", "string"}, column{"cipher", "string"}, column{"curve", "string"},
		column{"server_name", "string"}, column{"resumed", "bool"}, column{"last_alert", "string"},
		column{"next_protocol", "string"}, column{"established", "bool"}, column{"ssl_history", "string"},
		column{"cert_chain_fps", "vector[string]"}, column{"client_cert_chain_fps", "vector[string]"},
		column{"sni_matches_cert", "bool"}, column{"validation_status", "string"},
		column{"ja3", "string"}, column{"ja3s", "string"}, column{"ja4", "string"},
		column{"subject", "string"}, column{"issuer", "string"},
		column{"not_valid_before", "time"}, column{"not_valid_after", "time"},
		column{"self_signed", "bool"}, column{"certs_encrypted", "bool"}, column{"client_alpn", "vector[string]"}),
	logX509: {
		{"ts", "time"}, {"fingerprint", "string"}, {"certificate.version", "count"},
		{"certificate.serial", "string"}, {"certificate.subject", "string"}, {"certificate.issuer", "string"},
		{"certificate.not_valid_before", "time"}, {"certificate.not_valid_after", "time"},
		{"certificate.key_alg", "string"}, {"certificate.sig_alg", "string"}, {"certificate.key_type", "string"},
		{"certificate.key_length", "count"}, {"certificate.exponent", "string"}, {"certificate.curve", "string"},
		{"san.dns", "vector[string]"}, {"san.uri", "vector[string]"}, {"san.email", "vector[string]"},
		{"san.ip", "vector[addr]"}, {"basic_constraints.ca", "bool"}, {"basic_constraints.path_len", "count"},
		{"host_cert", "bool"}, {"client_cert", "bool"},
		{"self_signed", "bool"}, {"uid", "string"}, {"id.orig_h", "addr"}, {"id.orig_p", "port"},
		{"id.resp_h", "addr"}, {"id.resp_p", "port"},
	},
	logDNS: append(idColumns[:6:6],
		column{"proto", "enum"}, column{"trans_id", "count"}, column{"rtt", "interval"},
		column{"query", "string"}, column{"qclass", "count"}, column{"qclass_name", "string"},
		column{"qtype", "count"}, column{"qtype_name", "string"}, column{"rcode", "count"},
		column{"rcode_name", "string"}, column{"AA", "bool"}, column{"TC", "bool"},
		column{"RD", "bool"}, column{"RA", "bool"}, column{"Z", "count"},
		column{"answers", "vector[string]"}, column{"TTLs", "vector[interval]"}, column{"rejected", "bool"}),
	logDHCP: {
		{"ts", "time"}, {"uids", "set[string]"}, {"client_addr", "addr"}, {"server_addr", "addr"},
		{"mac", "string"}, {"host_name", "string"}, {"client_fqdn", "string"}, {"domain", "string"},
		{"requested_addr", "addr"}, {"assigned_addr", "addr"}, {"lease_time", "interval"},
		{"client_message", "string"}, {"server_message", "string"}, {"msg_types", "vector[string]"},
		{"duration", "interval"},
		{"uid", "string"}, {"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
	},
}

// Write appends one event to its log.
func (w *Writer) Write(ev event.Event) error {
	if w.err != nil {
		return w.err
	}
	typ := kindLog(ev.Kind())
	if typ == logOther {
		return fmt.Errorf("write zeek log: unknown event kind %v", ev.Kind())
	}
	lf, err := w.log(typ, ev.Base().TS)
	if err != nil {
		w.err = err
		return err
	}
	b := lf.row[:0]
	switch e := ev.(type) {
	case *event.Conn:
		b = appendConn(b, e)
	case *event.HTTP:
		b = appendHTTP(b, e)
	case *event.TLS:
		b = appendTLS(b, e)
	case *event.X509:
		b = appendX509(b, e)
	case *event.DNS:
		b = appendDNS(b, e)
	case *event.DHCP:
		b = appendDHCP(b, e)
	}
	b = append(b, '\n')
	lf.row = b
	if ts := ev.Base().TS; ts.After(lf.last) {
		lf.last = ts
	}
	if _, err := lf.w.Write(b); err != nil {
		w.err = fmt.Errorf("write %s: %w", lf.f.Name(), err)
		return w.err
	}
	return nil
}

func kindLog(k event.Kind) logType {
	switch k {
	case event.KindConn:
		return logConn
	case event.KindHTTP:
		return logHTTP
	case event.KindTLS:
		return logSSL
	case event.KindX509:
		return logX509
	case event.KindDNS:
		return logDNS
	case event.KindDHCP:
		return logDHCP
	}
	return logOther
}

// zeekStamp is the time format of Zeek's #open and #close lines.
const zeekStamp = "2006-01-02-15-04-05"

func (w *Writer) log(typ logType, first time.Time) (*logFile, error) {
	if lf := w.logs[typ]; lf != nil {
		return lf, nil
	}
	name := filepath.Join(w.dir, logTypeNames[typ]+".log")
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	lf := &logFile{f: f, w: bufio.NewWriterSize(f, 256<<10), last: first}
	w.logs[typ] = lf
	b := []byte("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\t")
	b = append(b, logTypeNames[typ]...)
	b = append(b, "\n#open\t"...)
	b = first.UTC().AppendFormat(b, zeekStamp)
	b = append(b, "\n#fields"...)
	for _, c := range logColumns[typ] {
		b = append(append(b, '\t'), c.name...)
	}
	b = append(b, "\n#types"...)
	for _, c := range logColumns[typ] {
		b = append(append(b, '\t'), c.typ...)
	}
	b = append(b, '\n')
	if _, err := lf.w.Write(b); err != nil {
		return nil, fmt.Errorf("write %s: %w", name, err)
	}
	return lf, nil
}

// Close ends each log with Zeek's #close line (the time of its latest
// event) and closes the files.
func (w *Writer) Close() error {
	err := w.err
	for _, lf := range w.logs {
		if lf == nil {
			continue
		}
		b := append([]byte("#close\t"), lf.last.UTC().AppendFormat(nil, zeekStamp)...)
		b = append(b, '\n')
		if _, werr := lf.w.Write(b); werr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", lf.f.Name(), werr)
		}
		if ferr := lf.w.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write %s: %w", lf.f.Name(), ferr)
		}
		if cerr := lf.f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", lf.f.Name(), cerr)
		}
	}
	w.logs = [logDHCP + 1]*logFile{}
	if err == nil {
		w.err = fmt.Errorf("write zeek log: writer closed")
	}
	return err
}

// Field appenders. Each starts with the separator except the first of a
// row, which appendMeta and the ts of x509/dhcp write.

func sep(b []byte) []byte { return append(b, '\t') }

func unsetField(b []byte) []byte { return append(b, '-') }

// appendString writes s as Zeek does: empty as (empty), a value equal to
// a placeholder with its first byte escaped, backslash doubled, and every
// byte that is not printable ASCII (and the separators) as \xNN.
func appendString(b []byte, s string, inSet bool) []byte {
	switch s {
	case "":
		return append(b, "(empty)"...)
	case "-":
		return append(b, `\x2d`...)
	case "(empty)":
		return append(b, `\x28empty)`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c < 0x20 || c > 0x7e || (inSet && c == ','):
			b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendOptString writes an empty string as unset.
func appendOptString(b []byte, s string) []byte {
	if s == "" {
		return unsetField(b)
	}
	return appendString(b, s, false)
}

func appendStrings(b []byte, l []string) []byte {
	if len(l) == 0 {
		return unsetField(b)
	}
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s, true)
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 'T')
	}
	return append(b, 'F')
}

func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return unsetField(b)
	}
	return a.AppendTo(b)
}

func appendUint(b []byte, n uint64) []byte { return strconv.AppendUint(b, n, 10) }

// appendOptUint writes 0 as unset.
func appendOptUint(b []byte, n uint64) []byte {
	if n == 0 {
		return unsetField(b)
	}
	return appendUint(b, n)
}

// appendTime writes t as epoch seconds with six decimals as Zeek does, or
// nine when t has sub-microsecond precision, so that it reads back exactly.
// The zero time is unset.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return unsetField(b)
	}
	return appendSeconds(b, t.Unix(), int64(t.Nanosecond()))
}

// appendInterval writes d like appendTime.
func appendInterval(b []byte, d time.Duration) []byte {
	return appendSeconds(b, int64(d/time.Second), int64(d%time.Second))
}

// appendOptInterval writes 0 as unset.
func appendOptInterval(b []byte, d time.Duration) []byte {
	if d == 0 {
		return unsetField(b)
	}
	return appendInterval(b, d)
}

// appendSeconds writes sec + nsec/1e9. For times, nsec is in [0, 1e9) and
// sec may be negative (floor); for intervals both carry the sign.
func appendSeconds(b []byte, sec, nsec int64) []byte {
	neg := sec < 0 || nsec < 0
	if sec < 0 && nsec > 0 { // time before 1970: floor seconds
		sec, nsec = -(sec + 1), 1e9-nsec
	} else if neg {
		sec, nsec = -sec, -nsec
	}
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, uint64(sec), 10)
	b = append(b, '.')
	digits := 9
	if nsec%1000 == 0 {
		nsec /= 1000
		digits = 6
	}
	var frac [9]byte
	for i := digits - 1; i >= 0; i-- {
		frac[i] = byte('0' + nsec%10)
		nsec /= 10
	}
	return append(b, frac[:digits]...)
}

func appendMeta(b []byte, m *event.Meta) []byte {
	b = appendTime(b, m.TS)
	b = appendOptString(sep(b), m.UID)
	return appendID(b, m.ID)
}

func appendID(b []byte, id event.ConnID) []byte {
	b = appendAddr(sep(b), id.OrigH)
	b = appendUint(sep(b), uint64(id.OrigP))
	b = appendAddr(sep(b), id.RespH)
	return appendUint(sep(b), uint64(id.RespP))
}

func appendConn(b []byte, c *event.Conn) []byte {
	b = appendMeta(b, &c.Meta)
	b = append(sep(b), c.Proto.String()...)
	b = appendOptString(sep(b), c.Service)
	b = appendInterval(sep(b), c.Duration)
	b = appendUint(sep(b), uint64(c.OrigBytes))
	b = appendUint(sep(b), uint64(c.RespBytes))
	b = appendOptString(sep(b), string(c.ConnState))
	b = unsetField(sep(b)) // local_orig: Site::local_nets is Vigil's business
	b = unsetField(sep(b)) // local_resp
	b = appendUint(sep(b), uint64(c.MissedBytes))
	b = appendOptString(sep(b), c.History)
	b = appendUint(sep(b), uint64(c.OrigPkts))
	b = appendUint(sep(b), uint64(c.OrigIPBytes))
	b = appendUint(sep(b), uint64(c.RespPkts))
	b = appendUint(sep(b), uint64(c.RespIPBytes))
	b = unsetField(sep(b)) // tunnel_parents
	b = appendOptString(sep(b), c.OrigL2Addr)
	b = appendOptString(sep(b), c.RespL2Addr)
	return appendOptUint(sep(b), uint64(c.VLAN))
}

func appendHTTP(b []byte, h *event.HTTP) []byte {
	b = appendMeta(b, &h.Meta)
	b = appendUint(sep(b), uint64(h.TransDepth))
	b = appendOptString(sep(b), h.Method)
	b = appendOptString(sep(b), h.Host)
	b = appendOptString(sep(b), h.URI)
	b = appendOptString(sep(b), h.Referrer)
	b = appendOptString(sep(b), h.Version)
	b = appendOptString(sep(b), h.UserAgent)
	b = appendOptString(sep(b), h.Origin)
	b = appendUint(sep(b), uint64(h.RequestBodyLen))
	b = appendUint(sep(b), uint64(h.ResponseBodyLen))
	b = appendOptUint(sep(b), uint64(h.StatusCode))
	b = appendOptString(sep(b), h.StatusMsg)
	b = unsetField(sep(b))                   // info_code
	b = unsetField(sep(b))                   // info_msg
	b = append(sep(b), "(empty)"...)         // tags
	b = unsetField(sep(b))                   // username
	b = unsetField(sep(b))                   // password
	b = appendStrings(sep(b), h.Proxied)     // proxied
	b = unsetField(sep(b))                   // orig_fuids
	b = unsetField(sep(b))                   // orig_filenames
	b = appendOne(sep(b), h.ReqContentType)  // orig_mime_types
	b = unsetField(sep(b))                   // resp_fuids
	b = unsetField(sep(b))                   // resp_filenames
	b = appendOne(sep(b), h.RespContentType) // resp_mime_types
	b = appendOptString(sep(b), h.ReqContentType)
	return appendOptString(sep(b), h.RespContentType)
}

// appendOne writes a one-element vector, or unset for "".
func appendOne(b []byte, s string) []byte {
	if s == "" {
		return unsetField(b)
	}
	return appendString(b, s, true)
}

func appendOptBool(b []byte, v *bool) []byte {
	if v == nil {
		return unsetField(b)
	}
	return appendBool(b, *v)
}

func appendTLS(b []byte, t *event.TLS) []byte {
	b = appendMeta(b, &t.Meta)
	b = appendOptString(sep(b), t.Version)
	b = appendOptString(sep(b), t.Cipher)
	b = appendOptString(sep(b), t.Curve)
	b = appendOptString(sep(b), t.ServerName)
	b = appendBool(sep(b), t.Resumed)
	b = unsetField(sep(b)) // last_alert
	b = appendOptString(sep(b), t.NextProtocol)
	b = appendBool(sep(b), t.Established)
	b = unsetField(sep(b)) // ssl_history
	b = appendStrings(sep(b), t.CertChainFps)
	b = appendStrings(sep(b), t.ClientCertChainFps)
	b = appendOptBool(sep(b), t.SNIMatchesCert)
	b = unsetField(sep(b)) // validation_status
	b = appendOptString(sep(b), t.JA3)
	b = appendOptString(sep(b), t.JA3S)
	b = appendOptString(sep(b), t.JA4)
	b = appendOptString(sep(b), t.Subject)
	b = appendOptString(sep(b), t.Issuer)
	b = appendTime(sep(b), t.NotBefore)
	b = appendTime(sep(b), t.NotAfter)
	b = appendBool(sep(b), t.SelfSigned)
	b = appendBool(sep(b), t.CertsEncrypted)
	return appendStrings(sep(b), t.ALPN)
}

func appendX509(b []byte, x *event.X509) []byte {
	b = appendTime(b, x.TS)
	b = appendOptString(sep(b), x.Fingerprint)
	b = appendOptUint(sep(b), uint64(x.Version))
	b = appendOptString(sep(b), x.Serial)
	b = appendOptString(sep(b), x.Subject)
	b = appendOptString(sep(b), x.Issuer)
	b = appendTime(sep(b), x.NotBefore)
	b = appendTime(sep(b), x.NotAfter)
	b = appendOptString(sep(b), x.KeyAlg)
	b = appendOptString(sep(b), x.SigAlg)
	b = appendOptString(sep(b), x.KeyType)
	b = appendOptUint(sep(b), uint64(x.KeyLength))
	b = unsetField(sep(b)) // certificate.exponent
	b = unsetField(sep(b)) // certificate.curve
	b = appendStrings(sep(b), x.SANDNS)
	b = unsetField(sep(b)) // san.uri
	b = unsetField(sep(b)) // san.email
	b = appendStrings(sep(b), x.SANIP)
	b = appendBool(sep(b), x.BasicCA)
	b = unsetField(sep(b)) // basic_constraints.path_len
	b = appendBool(sep(b), x.HostCert)
	b = appendBool(sep(b), x.ClientCert)
	b = appendBool(sep(b), x.SelfSigned)
	b = appendOptString(sep(b), x.UID)
	return appendID(b, x.ID)
}

var qclassNames = map[uint16]string{1: "C_INTERNET", 3: "C_CHAOS", 4: "C_HESIOD", 254: "C_NONE", 255: "C_ANY"}

func appendDNS(b []byte, d *event.DNS) []byte {
	b = appendMeta(b, &d.Meta)
	b = append(sep(b), d.Proto.String()...)
	b = appendUint(sep(b), uint64(d.TransID))
	b = appendOptInterval(sep(b), d.RTT)
	b = appendOptString(sep(b), d.Query)
	b = appendOptUint(sep(b), uint64(d.QClass))
	b = appendOptString(sep(b), qclassNames[d.QClass])
	b = appendOptUint(sep(b), uint64(d.QType))
	b = appendOptString(sep(b), d.QTypeName)
	if d.HasReply {
		b = appendUint(sep(b), uint64(d.RCode))
	} else {
		b = unsetField(sep(b))
	}
	b = appendOptString(sep(b), d.RCodeName)
	b = appendBool(sep(b), d.AA)
	b = appendBool(sep(b), d.TC)
	b = appendBool(sep(b), d.RD)
	b = appendBool(sep(b), d.RA)
	b = append(sep(b), '0') // Z
	b = appendStrings(sep(b), d.Answers)
	b = sep(b)
	if len(d.TTLs) == 0 {
		b = unsetField(b)
	}
	for i, ttl := range d.TTLs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendInterval(b, ttl)
	}
	return appendBool(sep(b), d.Rejected)
}

func appendDHCP(b []byte, d *event.DHCP) []byte {
	b = appendTime(b, d.TS)
	b = appendStrings(sep(b), d.UIDs)
	b = appendAddr(sep(b), d.ClientAddr)
	b = appendAddr(sep(b), d.ServerAddr)
	b = appendOptString(sep(b), d.MAC)
	b = appendOptString(sep(b), d.HostName)
	b = appendOptString(sep(b), d.ClientFQDN)
	b = appendOptString(sep(b), d.Domain)
	b = appendAddr(sep(b), d.RequestedAddr)
	b = appendAddr(sep(b), d.AssignedAddr)
	b = appendOptInterval(sep(b), d.LeaseTime)
	b = unsetField(sep(b)) // client_message
	b = unsetField(sep(b)) // server_message
	b = appendStrings(sep(b), d.MsgTypes)
	b = appendOptInterval(sep(b), d.Duration)
	b = appendOptString(sep(b), d.UID)
	return appendID(b, d.ID)
}
