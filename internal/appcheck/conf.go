package appcheck

import (
	"bytes"
	"fmt"
	"strings"
)

// Conf is a parsed .conf, .meta or .spec file: stanzas in file order.
type Conf struct {
	Stanzas []*Stanza
	byName  map[string]*Stanza
}

// Stanza is one [name] section. Keys before the first stanza header belong
// to the stanza named "default", as in Splunk; the header [] (default.meta's
// whole-app stanza) has the empty name.
type Stanza struct {
	Name   string
	Line   int
	Keys   []string          // in file order
	Values map[string]string // continuation lines joined with "\n"
	Docs   map[string][]string
}

// Stanza returns the stanza called name, or nil.
func (c *Conf) Stanza(name string) *Stanza { return c.byName[name] }

// Get returns the value of key and whether the stanza sets it; a nil
// stanza has no keys.
func (s *Stanza) Get(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	v, ok := s.Values[key]
	return v, ok
}

// ParseError is a syntax error at a line (counted from 1).
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// ParseConf parses Splunk .conf syntax: [stanza] headers, key = value
// lines, whole-line # comments and values continued onto the next line by
// a trailing backslash. A repeated stanza or a key repeated within a stanza
// is an error, as is any other line.
func ParseConf(data []byte) (*Conf, error) { return parse(data, false) }

// ParseSpec parses a .spec file: .conf syntax plus documentation lines
// starting with "*", which belong to the key above them (Stanza.Docs).
func ParseSpec(data []byte) (*Conf, error) { return parse(data, true) }

func parse(data []byte, spec bool) (*Conf, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	c := &Conf{byName: map[string]*Stanza{}}
	var cur *Stanza
	var lastKey string
	newStanza := func(name string, line int) error {
		if prev := c.byName[name]; prev != nil {
			return &ParseError{line, fmt.Sprintf("stanza [%s] repeats the one on line %d", name, prev.Line)}
		}
		cur = &Stanza{Name: name, Line: line, Values: map[string]string{}, Docs: map[string][]string{}}
		c.Stanzas = append(c.Stanzas, cur)
		c.byName[name] = cur
		lastKey = ""
		return nil
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(lines[i])
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case spec && strings.HasPrefix(line, "*"):
			if cur != nil && lastKey != "" {
				cur.Docs[lastKey] = append(cur.Docs[lastKey], strings.TrimSpace(strings.TrimPrefix(line, "*")))
			}
			continue
		case strings.HasPrefix(line, "["):
			if !strings.HasSuffix(line, "]") {
				return nil, &ParseError{n, fmt.Sprintf("stanza header %q does not end with ]", line)}
			}
			if err := newStanza(line[1:len(line)-1], n); err != nil {
				return nil, err
			}
			continue
		}
		// key = value, possibly continued by a trailing backslash.
		raw := lines[i]
		for strings.HasSuffix(strings.TrimRight(raw, " \t"), `\`) && i+1 < len(lines) {
			raw = strings.TrimSuffix(strings.TrimRight(raw, " \t"), `\`) + "\n" + lines[i+1]
			i++
		}
		eq := strings.IndexByte(raw, '=')
		if eq < 0 {
			return nil, &ParseError{n, fmt.Sprintf("%q is neither [stanza], key = value nor a # comment", line)}
		}
		key := strings.TrimSpace(raw[:eq])
		if key == "" || strings.ContainsAny(key, " \t") {
			return nil, &ParseError{n, fmt.Sprintf("%q is not a key", key)}
		}
		if cur == nil {
			if err := newStanza("default", n); err != nil {
				return nil, err
			}
		}
		if _, dup := cur.Values[key]; dup {
			return nil, &ParseError{n, fmt.Sprintf("key %s repeats in stanza [%s]", key, cur.Name)}
		}
		cur.Keys = append(cur.Keys, key)
		cur.Values[key] = strings.TrimSpace(raw[eq+1:])
		lastKey = key
	}
	return c, nil
}
