package app

import (
	"errors"
	"fmt"

	"github.com/vigil-ndr/vigil/internal/sensor"
)

// ExitError is an error with the process exit status it calls for.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit statuses.
const (
	ExitFailure = 1 // the run failed (I/O error, --strict with bad records)
	ExitUsage   = 2 // bad usage or an input that is not a capture or log at all
)

// usageErr marks err as a usage problem (exit status 2).
func usageErr(format string, args ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, args...)}
}

// classify gives input errors their exit status: a file that is no capture
// or log at all is a usage error (2), anything else a failure (1).
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, sensor.ErrNotInput) {
		return &ExitError{Code: ExitUsage, Err: err}
	}
	return &ExitError{Code: ExitFailure, Err: err}
}
