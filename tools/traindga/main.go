// Command traindga rebuilds internal/intel/dga/model.bin, the DGA scorer
// embedded in vigil, from the benign and DGA lists under ../shared/data:
//
//	go run ./tools/traindga [-data ../shared/data] [-out internal/intel/dga/model.bin]
//
// Training is deterministic: the same lists give the same file. It prints
// the held-out evaluation of the model it wrote (vigil dga eval prints the
// same, with the leave-one-family-out figures).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/vigil-ndr/vigil/internal/intel/dga"
)

func main() {
	data := flag.String("data", "../shared/data", "shared data directory")
	out := flag.String("out", "internal/intel/dga/model.bin", "model file to write")
	flag.Parse()
	if err := run(*data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "traindga:", err)
		os.Exit(1)
	}
}

func run(data, out string) error {
	d, err := dga.LoadData(data)
	if err != nil {
		return err
	}
	p, err := dga.Train(d.TrainSet())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s: %d bytes, %d dictionary segments\n", out, buf.Len(), len(p.Words))
	for i, f := range p.Features {
		fmt.Printf("  %-22s w=%+.3f\n", f, p.Weights[i])
	}
	m, err := p.Model()
	if err != nil {
		return err
	}
	rows, err := dga.Evaluate(d, m, false)
	if err != nil {
		return err
	}
	return dga.PrintEval(os.Stdout, d, rows)
}
