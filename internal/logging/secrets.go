package logging

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MinSecretLen is the length, in bytes, below which Secrets.Add ignores a
// value. Replacing every "ab" of a line garbles the line and gives the
// value away by where the stars fall; session keys, API keys and tokens
// are far longer, and a password that short protects nothing.
const MinSecretLen = 4

// mask is what Scrub writes in place of a secret.
const mask = "****"

// Secrets is the one list of values (the VirusTotal key, the splunkd
// session key, tokens, passwords read from storage/passwords) that must
// never be written: not in a log line, an event, an error message or a
// file. The composition root makes one per process and gives it to the
// Handler and to every component that learns a secret or writes text that
// is not a log line; a secret added by any of them is redacted by all of
// them from then on. It is safe for concurrent use. A nil *Secrets holds
// nothing: Add does nothing and Scrub returns its text unchanged.
type Secrets struct {
	mu   sync.RWMutex
	list []string // longest first, each once
}

// NewSecrets returns a registry holding values (see Add).
func NewSecrets(values ...string) *Secrets {
	s := &Secrets{}
	s.Add(values...)
	return s
}

// Add registers values. For each it also registers the value without the
// spaces around it (a key pasted with a trailing newline) and the value as
// a Go- or JSON-quoted string writes it (a password with a quote or a
// backslash quoted by an error message). Values shorter than MinSecretLen
// and values made only of '*' (what splunkd and Scrub write in place of a
// secret) are ignored.
func (s *Secrets) Add(values ...string) {
	if s == nil {
		return
	}
	var add []string
	for _, v := range values {
		q := strconv.Quote(v)
		j, _ := json.Marshal(v) // never fails for a string
		for _, form := range []string{v, strings.TrimSpace(v), q[1 : len(q)-1], string(j[1 : len(j)-1])} {
			if len(form) < MinSecretLen || strings.Trim(form, "*") == "" || slices.Contains(add, form) {
				continue
			}
			add = append(add, form)
		}
	}
	if len(add) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A fresh slice each time: Scrub reads the old one without the lock.
	list := slices.Clone(s.list)
	for _, v := range add {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	s.list = list
}

// Scrub returns text with every registered secret replaced by "****".
// Where occurrences of secrets overlap or touch, the whole stretch they
// cover becomes one "****", so no piece of one secret is left beside the
// mask of another; and the result is scrubbed again until no secret is
// left in it, so that text around a mask cannot spell one either. Text
// holding no secret is returned unchanged, without allocating.
func (s *Secrets) Scrub(text string) string {
	if s == nil || text == "" {
		return text
	}
	s.mu.RLock()
	list := s.list // never changed in place, only replaced (see Add)
	s.mu.RUnlock()
	for {
		out := scrubOnce(text, list)
		if out == text {
			return text
		}
		text = out
	}
}

// scrubOnce masks the union of all occurrences of list in text. It returns
// text itself when nothing matched.
func scrubOnce(text string, list []string) string {
	var spans [][2]int // [start, end) of each occurrence, overlapping ones included
	for _, sec := range list {
		for from := 0; ; {
			i := strings.Index(text[from:], sec)
			if i < 0 {
				break
			}
			start := from + i
			spans = append(spans, [2]int{start, start + len(sec)})
			from = start + 1
		}
	}
	if len(spans) == 0 {
		return text
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	b.Grow(len(text))
	last := 0 // end of text written so far
	for i := 0; i < len(spans); {
		start, end := spans[i][0], spans[i][1]
		for i++; i < len(spans) && spans[i][0] <= end; i++ {
			end = max(end, spans[i][1])
		}
		b.WriteString(text[last:start])
		b.WriteString(mask)
		last = end
	}
	b.WriteString(text[last:])
	return b.String()
}

// ScrubError returns err with its text scrubbed; the result still unwraps
// to err, so errors.Is and errors.As see through it. An error whose text
// holds no secret is returned as it is.
func (s *Secrets) ScrubError(err error) error {
	if err == nil {
		return nil
	}
	msg := s.Scrub(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

// scrubbed is an error whose text has secrets replaced.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// SecretsOf returns the registry of l's handler when it is a Handler, and
// nil otherwise: the registry a component falls back on when it is given
// a logger but no Secrets.
func SecretsOf(l *slog.Logger) *Secrets {
	if l == nil {
		return nil
	}
	if h, ok := l.Handler().(*Handler); ok {
		return h.Secrets()
	}
	return nil
}

// OrDefaults returns log and secrets with what is missing filled in: a
// nil logger discards, and nil secrets are log's registry or, without
// one, a new registry.
func OrDefaults(log *slog.Logger, secrets *Secrets) (*slog.Logger, *Secrets) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if secrets == nil {
		secrets = SecretsOf(log)
	}
	if secrets == nil {
		secrets = NewSecrets()
	}
	return log, secrets
}
