package ehr

import (
	"strconv"
	"strings"
)

// Get returns the decoded value at an HL7 location path, or "" when the
// path is malformed or names something the message does not hold.
//
// A path is SEG-FIELD[.COMPONENT[.SUBCOMPONENT]] where SEG may carry a
// 1-based occurrence, SEG[2] or SEG(2), and FIELD a 1-based repetition,
// 3[2] or 3(2). Missing indexes mean 1: "PID-3" is "PID[1]-3[1].1.1".
// Examples: "MSH-9.2", "PID-3[2].4.1", "AIS[2]-3.2", "SCH-11.4".
func (m *Message) Get(path string) string {
	p, ok := parsePath(path)
	if !ok {
		return ""
	}
	s, ok := m.Nth(p.seg, p.occ)
	if !ok {
		return ""
	}
	return s.Get(p.field, p.rep, p.comp, p.sub)
}

type hl7Path struct {
	seg                        string
	occ, field, rep, comp, sub int
}

func parsePath(path string) (hl7Path, bool) {
	p := hl7Path{occ: 1, field: 1, rep: 1, comp: 1, sub: 1}
	if len(path) < 3 || !validSegmentName(path[:3]) {
		return p, false
	}
	p.seg = path[:3]
	rest := path[3:]
	var ok bool
	if p.occ, rest, ok = index(rest); !ok {
		return p, false
	}
	if rest == "" || rest[0] != '-' {
		return p, false
	}
	rest = rest[1:]
	num := func() (int, bool) {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 {
			return 0, false
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		return n, n > 0
	}
	if p.field, ok = num(); !ok {
		return p, false
	}
	if p.rep, rest, ok = index(rest); !ok {
		return p, false
	}
	for _, dst := range []*int{&p.comp, &p.sub} {
		if rest == "" {
			return p, true
		}
		if rest[0] != '.' {
			return p, false
		}
		rest = rest[1:]
		if *dst, ok = num(); !ok {
			return p, false
		}
	}
	return p, rest == ""
}

// index reads an optional "[n]" or "(n)" at the start of s, defaulting to 1.
func index(s string) (int, string, bool) {
	if s == "" || (s[0] != '[' && s[0] != '(') {
		return 1, s, true
	}
	closing := "]"
	if s[0] == '(' {
		closing = ")"
	}
	end := strings.Index(s, closing)
	if end < 2 || end > 7 {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[1:end])
	if err != nil || n < 1 {
		return 0, s, false
	}
	return n, s[end+1:], true
}
