package zeek

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/vigil-ndr/vigil/internal/event"
)

var (
	errNoFields  = errors.New("data line before any #fields header")
	errNotZeek   = errors.New("neither a Zeek header nor a JSON object")
	errMultiSep  = errors.New("separators longer than one byte are not supported")
	errNotObject = errors.New("JSON line is not an object")
)

// Parser turns the lines of one Zeek log file, TSV or JSON, into events.
// It keeps the header state (separators, #path, #fields) between lines, so
// a file's lines must be given in order; a file may hold several header
// blocks (Zeek appends a new one after a restart). A Parser is not safe for
// concurrent use.
type Parser struct {
	name string // file name, for the log type when there is no #path

	sep, setSep byte
	empty       []byte
	unset       []byte
	path        string
	fields      []string
	header      [][]byte // the current header block's lines, for checkpoints
	inHeader    bool

	typ     logType
	cols    []int16 // field id of each column
	ends    []int   // per TSV line: the end of each field
	colsFor logType
	present fieldSet // fields the current record's source has (columns or keys)
	dirty   bool

	scratch []byte
	in      interner

	// Per-record side results that the event types have no place for.
	leafKey    string   // ssl: cert_chain_fps[0] or cert_chain_fuids[0]
	chain      []string // ssl: every certificate key of the record
	validation string
	origMime   string
	respMime   string
	certKey    string // x509: fingerprint or fuid

	// certs, when set, is where x509 records go and where ssl records find
	// their leaf certificate.
	certs *certCache
}

// NewParser returns a parser for the log file called name. The name gives
// the log type ("conn.log", "conn.2024-04-19-10-00-00.log.gz") until a
// #path header or a JSON "_path" key says otherwise.
func NewParser(name string) *Parser {
	p := &Parser{name: name, sep: '\t', setSep: ',', empty: []byte("(empty)"), unset: []byte("-")}
	p.path = logNameType(filepath.Base(name))
	p.typ = logTypeOf(p.path)
	return p
}

// Path returns the log's type as Zeek names it ("conn", "ssl", "weird").
func (p *Parser) Path() string { return p.path }

// Known reports whether Vigil maps this log type to events.
func (p *Parser) Known() bool { return p.typ != logOther }

// Line parses one line (without its newline). It returns a nil event and a
// nil error for header lines and for records of log types that Vigil does
// not map. TLS records are completed from the x509 records this parser
// has seen, when it has a certificate cache.
func (p *Parser) Line(line []byte) (event.Event, error) {
	ev, err := p.parse(line)
	if err != nil || ev == nil {
		return ev, err
	}
	switch e := ev.(type) {
	case *event.TLS:
		p.completeTLS(e)
	case *event.X509:
		if p.certs != nil {
			p.certs.add(p.certKey, e, p.present.has(fUID)).emitted = true
		}
	}
	return ev, nil
}

// parse parses one line without joining TLS records to certificates.
func (p *Parser) parse(line []byte) (event.Event, error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return nil, nil
	}
	if line[0] == ' ' || line[0] == '\t' {
		// Hand-edited logs sometimes indent a header line; a data line
		// never starts with '#' after blanks (ts comes first).
		if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '#' {
			line = t
		}
	}
	switch line[0] {
	case '#':
		return nil, p.directive(line)
	case '{':
		p.inHeader = false
		return p.jsonLine(line)
	}
	p.inHeader = false
	if p.fields == nil {
		return nil, errNoFields
	}
	return p.tsvLine(line)
}

// directive applies one header line.
func (p *Parser) directive(line []byte) error {
	if !p.inHeader {
		p.header = p.header[:0]
		p.inHeader = true
	}
	p.header = append(p.header, append([]byte(nil), line...))
	if rest, ok := bytes.CutPrefix(line, []byte("#separator ")); ok {
		v := unescape(nil, rest)
		if len(v) != 1 {
			return errMultiSep
		}
		p.sep = v[0]
		return nil
	}
	name, value, _ := bytes.Cut(line[1:], []byte{p.sep})
	switch string(name) {
	case "set_separator":
		v := unescape(nil, value)
		if len(v) != 1 {
			return errMultiSep
		}
		p.setSep = v[0]
	case "empty_field":
		p.empty = unescape(nil, value)
	case "unset_field":
		p.unset = unescape(nil, value)
	case "path":
		p.path = string(value)
		p.typ = logTypeOf(p.path)
		p.dirty = true
	case "fields":
		p.fields = strings.Split(string(value), string(p.sep))
		p.dirty = true
	}
	return nil
}

// columns maps the #fields columns to field ids for the current log type.
func (p *Parser) columns() {
	p.cols = p.cols[:0]
	p.present.clear()
	for _, f := range p.fields {
		id := fieldID(p.typ, f)
		p.cols = append(p.cols, int16(id))
		if id != fNone {
			p.present.add(id)
		}
	}
	p.colsFor = p.typ
	p.dirty = false
}

func (p *Parser) fieldErr(id int, raw []byte, err error) error {
	name := "?"
	if p.fields != nil {
		for i, c := range p.cols {
			if int(c) == id && i < len(p.fields) {
				name = p.fields[i]
				break
			}
		}
	}
	if len(raw) > 64 {
		raw = raw[:64]
	}
	return fmt.Errorf("field %s: %w in %q", name, err, raw)
}

// value is one field's text. For TSV, raw is the escaped text and lists
// are split on the set separator; for JSON, raw is the decoded string or
// the number's text and list holds an array's elements.
type value struct {
	raw  []byte
	list []string
	json bool
	arr  bool
}

func (p *Parser) jsonLine(line []byte) (event.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if m == nil {
		return nil, errNotObject
	}
	if dec.More() {
		return nil, errors.New("invalid JSON: data after the object")
	}
	typ := p.typ
	if s, ok := m["_path"].(string); ok {
		typ = logTypeOf(s)
	}
	if typ == logOther {
		return nil, nil
	}
	saved := p.typ
	p.typ = typ
	defer func() { p.typ = saved }()

	flat := make(map[string]any, len(m)+4)
	flatten(flat, "", m)
	// Keys in sorted order, so that a record with conflicting keys
	// ("id.orig_h" and "id": {"orig_h"}) gives the same event every time.
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sortStrings(keys)
	p.present.clear()
	for _, k := range keys {
		if id := fieldID(typ, k); id != fNone {
			p.present.add(id)
		}
	}
	var r rec
	p.begin(&r)
	for _, k := range keys {
		id := fieldID(typ, k)
		if id == fNone || id == fPath {
			continue
		}
		v, ok := jsonValue(flat[k])
		if !ok {
			continue // null: unset
		}
		if err := p.set(&r, id, &v); err != nil {
			return nil, fmt.Errorf("field %s: %w in %q", k, err, truncate(v.raw))
		}
	}
	p.dirty = true // the TSV columns' presence set was overwritten
	return p.finish(&r), nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func flatten(dst map[string]any, prefix string, m map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(dst, prefix+k+".", sub)
			continue
		}
		dst[prefix+k] = v
	}
}

func jsonValue(v any) (value, bool) {
	switch x := v.(type) {
	case nil:
		return value{}, false
	case string:
		return value{raw: strBytes(x), json: true}, true
	case json.Number:
		return value{raw: strBytes(string(x)), json: true}, true
	case bool:
		if x {
			return value{raw: []byte("T"), json: true}, true
		}
		return value{raw: []byte("F"), json: true}, true
	case []any:
		l := make([]string, 0, len(x))
		for _, e := range x {
			switch y := e.(type) {
			case string:
				l = append(l, y)
			case json.Number:
				l = append(l, string(y))
			case bool:
				if y {
					l = append(l, "T")
				} else {
					l = append(l, "F")
				}
			case nil:
				l = append(l, "")
			default:
				b, _ := json.Marshal(y)
				l = append(l, string(b))
			}
		}
		return value{list: l, json: true, arr: true}, true
	}
	b, _ := json.Marshal(v)
	return value{raw: b, json: true}, true
}

func strBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// str returns a field's text as a string, escapes undone.
func (p *Parser) str(v value) string {
	if v.json {
		if v.arr {
			return strings.Join(v.list, ",")
		}
		return unescapeHigh(string(v.raw))
	}
	if bytes.Equal(v.raw, p.empty) {
		return ""
	}
	if bytes.IndexByte(v.raw, '\\') < 0 {
		return string(v.raw)
	}
	p.scratch = unescape(p.scratch[:0], v.raw)
	return string(p.scratch)
}

// istr is str for values that repeat, interned.
func (p *Parser) istr(v value) string {
	if v.json || bytes.IndexByte(v.raw, '\\') >= 0 {
		return p.str(v)
	}
	if bytes.Equal(v.raw, p.empty) {
		return ""
	}
	return p.in.get(v.raw)
}

// strs returns a set or vector field's elements, escapes undone. An empty
// or unset container gives nil.
func (p *Parser) strs(v value) []string {
	if v.json {
		if !v.arr {
			s := p.str(v)
			if s == "" {
				return nil
			}
			return []string{s}
		}
		if len(v.list) == 0 {
			return nil
		}
		out := make([]string, len(v.list))
		for i, s := range v.list {
			out[i] = unescapeHigh(s)
		}
		return out
	}
	if len(v.raw) == 0 || bytes.Equal(v.raw, p.empty) {
		return nil
	}
	n := bytes.Count(v.raw, []byte{p.setSep}) + 1
	out := make([]string, 0, n)
	rest := v.raw
	for {
		i := bytes.IndexByte(rest, p.setSep)
		el := rest
		if i >= 0 {
			el = rest[:i]
		}
		switch {
		case bytes.Equal(el, p.empty), bytes.Equal(el, p.unset):
			out = append(out, "")
		case bytes.IndexByte(el, '\\') < 0:
			out = append(out, p.in.get(el))
		default:
			p.scratch = unescape(p.scratch[:0], el)
			out = append(out, string(p.scratch))
		}
		if i < 0 {
			return out
		}
		rest = rest[i+1:]
	}
}

// first returns a container's first element, or "".
func (p *Parser) first(v value) string {
	if l := p.strs(v); len(l) > 0 {
		return l[0]
	}
	return ""
}

// logNameType returns the log type a file name implies: the part before
// the first dot ("conn" for "conn.2024-04-19-10-00-00.log.gz").
func logNameType(base string) string {
	if i := strings.IndexByte(base, '.'); i > 0 {
		return base[:i]
	}
	return base
}

func sortStrings(s []string) {
	// Insertion sort: JSON records have a few dozen keys.
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
