package logging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestSecretsScrub(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef"
	s := NewSecrets(key, "cdef0", `pa"ss\word`, `<pa"ss\word>`, "  padded-key\n", "abc", "", "********")
	cases := []struct{ in, want string }{
		{"no secret here", "no secret here"},
		{"key " + key + " end", "key **** end"},
		// One secret inside another: one mask, no piece left.
		{"pw cdef0 and " + key, "pw **** and ****"},
		// Overlapping and touching occurrences become one mask.
		{"x" + key[:20] + "cdef0" + "y", "x0123456789ab****123****y"},
		{"cdef0cdef0", "****"},
		{"ab" + key + "0", "ab****"},
		{"x" + key[:16] + "0y", "x0123456789ab****y"},
		// The quoted form an error message writes with %q.
		{fmt.Sprintf("login with %q failed", `pa"ss\word`), `login with "****" failed`},
		{`{"password":"\u003cpa\"ss\\word\u003e"}`, `{"password":"****"}`},
		{"with padding:   padded-key\n.", "with padding: ****."},
		{"trimmed: padded-key.", "trimmed: ****."},
		// Too short and all-star values are not secrets.
		{"abc ********", "abc ********"},
	}
	for _, c := range cases {
		if got := s.Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var none *Secrets
	none.Add(key)
	if none.Scrub(key) != key {
		t.Error("a nil registry changed text")
	}
}

// Text around a mask that would spell a secret is scrubbed too.
func TestSecretsScrubUntilNoneLeft(t *testing.T) {
	s := NewSecrets("a****b", "XXXX")
	if got := s.Scrub("aXXXXb"); got != "****" {
		t.Errorf("Scrub = %q, want ****", got)
	}
}

func TestSecretsScrubError(t *testing.T) {
	s := NewSecrets("session-key-0123")
	base := fmt.Errorf("GET with session-key-0123: %w", fs.ErrPermission)
	err := s.ScrubError(base)
	if err.Error() != "GET with ****: permission denied" || !errors.Is(err, fs.ErrPermission) || !errors.Is(err, base) {
		t.Errorf("ScrubError = %v (is permission: %v)", err, errors.Is(err, fs.ErrPermission))
	}
	plain := errors.New("nothing secret")
	if s.ScrubError(plain) != plain || s.ScrubError(nil) != nil {
		t.Error("ScrubError changed an error with no secret in it")
	}
}

// A secret added to the registry after a logger was derived from the
// handler (the splunkd client reads a password mid-run) is redacted from
// every later line of every logger sharing the registry.
func TestSecretsAddedLaterReachEveryLogger(t *testing.T) {
	var buf bytes.Buffer
	secrets := NewSecrets()
	root := slog.New(NewHandler(&buf, slog.LevelInfo, secrets))
	a, b := root.With("input", "a"), root.WithGroup("g").With("k", "late-secret-1")
	secrets.Add("late-secret-1")
	a.Info("read late-secret-1")
	b.Info("m", "v", "xlate-secret-1x")
	want := "INFO read **** input=a\nINFO m g.k=**** g.v=x****x\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestSecretsConcurrentAddAndScrub(t *testing.T) {
	s := NewSecrets()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				sec := fmt.Sprintf("secret-%d-%d-xyz", i, j)
				s.Add(sec)
				if got := s.Scrub("<" + sec + ">"); got != "<****>" {
					t.Errorf("Scrub right after Add = %q", got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// Whatever the text and the secrets, no registered secret is left in the
// scrubbed text, text without a secret is unchanged, and a second scrub
// changes nothing.
func FuzzSecretsScrub(f *testing.F) {
	f.Add("key 0123456789 end", "0123456789", "6789 e")
	f.Add("aXXXXb", "a****b", "XXXX")
	f.Add("abababab", "abab", "baba")
	f.Add(`"pa\"ss"`, `pa"ss`, "  x  ")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, text, s1, s2 string) {
		s := NewSecrets(s1, s2)
		got := s.Scrub(text)
		s.mu.RLock()
		list := s.list
		s.mu.RUnlock()
		for _, sec := range list {
			if strings.Contains(got, sec) {
				t.Fatalf("Scrub(%q) = %q still holds %q", text, got, sec)
			}
		}
		if again := s.Scrub(got); again != got {
			t.Fatalf("a second Scrub changed %q to %q", got, again)
		}
		held := false
		for _, sec := range list {
			held = held || strings.Contains(text, sec)
		}
		if !held && got != text {
			t.Fatalf("Scrub changed %q, which holds no secret, to %q", text, got)
		}
	})
}

func TestOrDefaults(t *testing.T) {
	reg := NewSecrets()
	log := slog.New(NewHandler(io.Discard, slog.LevelInfo, reg))
	if _, s := OrDefaults(log, nil); s != reg {
		t.Error("nil secrets: not the logger's registry")
	}
	other := NewSecrets()
	if _, s := OrDefaults(log, other); s != other {
		t.Error("given secrets replaced")
	}
	l, s := OrDefaults(nil, nil)
	if l == nil || s == nil {
		t.Fatal("nil logger or registry left nil")
	}
	l.Info("discarded") // must not panic
}
