package app

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// envReader reads typed settings from the environment and collects what is
// wrong with them; its errors name the variable and never hold more of the
// value than the variable's own text.
type envReader struct {
	get  func(string) string
	errs []error
}

func (r *envReader) err() error { return errors.Join(r.errs...) }

// duration is a positive duration, or def when unset.
func (r *envReader) duration(name string, def time.Duration) time.Duration {
	v := r.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a positive duration", name, v))
	}
	return d
}

// integer is a positive integer, or 0 when unset.
func (r *envReader) integer(name string) int {
	v := r.get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a positive integer", name, v))
	}
	return n
}

// number is a positive number, or 0 when unset.
func (r *envReader) number(name string) float64 {
	v := r.get(name)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a positive number", name, v))
	}
	return f
}

// boolean is true or false, or def when unset.
func (r *envReader) boolean(name string, def bool) bool {
	v := r.get(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not true or false", name, v))
	}
	return b
}
