package app

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// period is a positive duration given as a Go duration or a whole number
// of days ("90d"), or 0 when unset.
func (r *envReader) period(name string) time.Duration {
	v := r.get(name)
	if v == "" {
		return 0
	}
	d, err := parsePeriod(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a positive duration or number of days (90d)", name, v))
	}
	return d
}

// parsePeriod reads "90d" (days) or a Go duration ("36h"); it must be positive.
func parsePeriod(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, errors.New("not a positive number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("not a positive duration")
	}
	return d, nil
}

// periodValue is a flag.Value for a period (parsePeriod); it prints whole
// days as "90d".
type periodValue time.Duration

func (p *periodValue) String() string {
	d := time.Duration(*p)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

func (p *periodValue) Set(v string) error {
	d, err := parsePeriod(v)
	if err != nil {
		return err
	}
	*p = periodValue(d)
	return nil
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
