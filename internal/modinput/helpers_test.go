package modinput

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// conformanceDir holds the Splunk SDK and splunkd fixtures (see
// testdata/README.md for where each comes from).
const conformanceDir = "testdata"

// fixture returns the bytes of a conformance file (path relative to
// conformanceDir).
func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(conformanceDir, rel))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// node is a parsed XML element for structural comparison: attribute order
// and namespace declarations are ignored, whitespace-only text of elements
// with children is dropped.
type node struct {
	Name     string
	Attr     map[string]string
	Text     string
	Children []*node
}

func (n *node) String() string {
	var b strings.Builder
	var walk func(n *node, depth int)
	walk = func(n *node, depth int) {
		fmt.Fprintf(&b, "%s<%s %v>%q\n", strings.Repeat("  ", depth), n.Name, n.Attr, n.Text)
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// child returns the first child named name, or nil.
func (n *node) child(name string) *node {
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (n *node) childNames() []string {
	var names []string
	for _, c := range n.Children {
		names = append(names, c.Name)
	}
	return names
}

// parseTree parses a whole document (any encoding newDecoder reads) and
// checks that nothing but whitespace follows the root element.
func parseTree(t testing.TB, b []byte) *node {
	t.Helper()
	n, err := tree(b)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	return n
}

func tree(b []byte) (*node, error) {
	d := newDecoder(bytes.NewReader(b))
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if root == nil {
				return nil, errors.New("no root element")
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("second root element <%s>", tok.Name.Local)
			}
			n := &node{Name: tok.Name.Local, Attr: map[string]string{}}
			for _, a := range tok.Attr {
				if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
					n.Attr[a.Name.Local] = a.Value
				}
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			if len(n.Children) > 0 && strings.TrimSpace(n.Text) == "" {
				n.Text = ""
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text += string(tok)
			} else if strings.TrimSpace(string(tok)) != "" && strings.Trim(string(tok), "\uFEFF \r\n\t") != "" {
				return nil, fmt.Errorf("text outside the root element: %q", tok)
			}
		}
	}
}

func sameTree(t testing.TB, got, want *node) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("XML differs\ngot:\n%s\nwant:\n%s", got, want)
	}
}
