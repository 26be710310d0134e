package zeek

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/vigil-ndr/vigil/internal/sensor"
)

// countingReader counts the bytes read from a file into Progress.BytesRead
// (compressed bytes for gzip input, so that it compares with BytesTotal).
type countingReader struct {
	r    io.Reader
	prog *sensor.Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if c.prog != nil && n > 0 {
		c.prog.BytesRead.Add(int64(n))
	}
	return n, err
}

// lineReader returns a stream's lines without their newline. A last line
// without a newline is returned too (a whole file's last line; the
// follower, which must never read a partial line, does its own framing).
type lineReader struct {
	br   *bufio.Reader
	buf  []byte
	line int64 // number of the line last returned, from 1
}

func (lr *lineReader) next() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		b, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil:
			lr.line++
			if len(lr.buf) == 0 {
				return b[:len(b)-1], nil
			}
			lr.buf = append(lr.buf, b[:len(b)-1]...)
			return lr.buf, nil
		case errors.Is(err, bufio.ErrBufferFull):
			lr.buf = append(lr.buf, b...)
			continue
		default:
			lr.buf = append(lr.buf, b...)
			if len(lr.buf) > 0 {
				lr.line++
				if err == io.EOF {
					return lr.buf, nil
				}
				// The data before a read error (a gzip that ends early)
				// is an incomplete line: drop it, report the error.
				return nil, err
			}
			return nil, err
		}
	}
}

// openLog opens a Zeek log, plain or gzip (recognised by its magic bytes,
// not its name), and checks that it starts like one: a '#' header line or
// a JSON object. Anything else is not a Zeek log: the error wraps
// sensor.ErrNotInput.
func openLog(path string, prog *sensor.Progress) (*os.File, *bufio.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	raw := bufio.NewReaderSize(&countingReader{r: f, prog: prog}, 64<<10)
	var r io.Reader = raw
	if magic, _ := raw.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("%s: bad gzip header: %w", path, sensor.ErrNotInput)
		}
		gz.Multistream(true)
		r = gz
	}
	br := bufio.NewReaderSize(r, 256<<10)
	head, err := br.Peek(64)
	if len(head) == 0 {
		if err != nil && err != io.EOF {
			f.Close()
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		return f, br, nil // empty: a log with no records
	}
	if !looksLikeZeek(head) {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w: %v", path, sensor.ErrNotInput, errNotZeek)
	}
	return f, br, nil
}

func looksLikeZeek(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 {
		return true
	}
	switch head[0] {
	case '{':
		return true
	case '#':
		// A Zeek header's first directive; a shell script's "#!" is not.
		s := string(head)
		for _, d := range []string{"#separator", "#set_separator", "#empty_field", "#unset_field", "#path", "#open", "#fields", "#types", "#close"} {
			if strings.HasPrefix(s, d) {
				return true
			}
		}
	}
	return false
}

// isLogName reports whether a file name in a directory is a Zeek log
// (conn.log, conn.2024-04-19-10-00-00.log.gz, conn.16:00:00-17:00:00.log.gz,
// conn.json, dns.json.gz) and returns its type ("conn").
func isLogName(base string) (string, bool) {
	if base == "" || base[0] == '.' {
		return "", false
	}
	name := strings.TrimSuffix(base, ".gz")
	if !strings.HasSuffix(name, ".log") && !strings.HasSuffix(name, ".json") {
		return "", false
	}
	typ := logNameType(base)
	if typ == "" || typ == name {
		return "", false
	}
	for _, c := range typ {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return "", false
		}
	}
	return typ, true
}
