package app

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vigil-ndr/vigil/internal/intel/dga"
)

// DGAScore prints `name<TAB>score` for each name read from Stdin.
type DGAScore struct {
	Stdin  io.Reader
	Stdout io.Writer
}

// Run scores every non-empty line.
func (d *DGAScore) Run() error {
	m, err := dga.Default()
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(d.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	w := bufio.NewWriter(d.Stdout)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" {
			continue
		}
		w.WriteString(name)
		w.WriteByte('\t')
		w.WriteString(strconv.FormatFloat(m.Score(name), 'f', 4, 64))
		w.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read names: %w", err)
	}
	return w.Flush()
}

// DGAEval prints the DGA scorer's evaluation on the development lists.
type DGAEval struct {
	Data     string // ../shared/data
	LeaveOut bool   // also retrain without each family
	Stdout   io.Writer
}

// Run evaluates the embedded model.
func (d *DGAEval) Run() error {
	data, err := dga.LoadData(d.Data)
	if errors.Is(err, dga.ErrNoData) {
		return usageErr("%v", err)
	}
	if err != nil {
		return err
	}
	m, err := dga.Default()
	if err != nil {
		return err
	}
	rows, err := dga.Evaluate(data, m, d.LeaveOut)
	if err != nil {
		return err
	}
	return dga.PrintEval(d.Stdout, data, rows)
}
