package modinput

import (
	"encoding/xml"
	"fmt"
	"io"
)

// ReadDefinition reads the input definition (<input>) splunkd writes to
// stdin. Element order does not matter, unknown attributes and unknown
// children of <input> are ignored; inside a <stanza> only <param> and
// <param_list> are allowed. It returns at the end of the root element,
// without waiting for EOF, because splunkd may keep stdin open.
func ReadDefinition(r io.Reader) (*Definition, error) {
	p := &parser{d: newDecoder(r), doc: "input definition"}
	if err := p.root("input"); err != nil {
		return nil, err
	}
	def := &Definition{}
	for {
		start, ok, err := p.child()
		if err != nil {
			return nil, err
		}
		if !ok {
			return def, nil
		}
		switch start.Name.Local {
		case "server_host":
			def.ServerHost, err = p.text(start)
		case "server_uri":
			def.ServerURI, err = p.text(start)
		case "session_key":
			def.SessionKey, err = p.text(start)
		case "checkpoint_dir":
			def.CheckpointDir, err = p.text(start)
		case "configuration":
			err = p.configuration(def)
		default:
			err = p.skip()
		}
		if err != nil {
			return nil, err
		}
	}
}

// ReadValidation reads the --validate-arguments request (<items> holding
// exactly one <item>). Like ReadDefinition it stops at the end of the root
// element.
func ReadValidation(r io.Reader) (*Validation, error) {
	p := &parser{d: newDecoder(r), doc: "validation request"}
	if err := p.root("items"); err != nil {
		return nil, err
	}
	v := &Validation{}
	items := 0
	for {
		start, ok, err := p.child()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch start.Name.Local {
		case "server_host":
			v.ServerHost, err = p.text(start)
		case "server_uri":
			v.ServerURI, err = p.text(start)
		case "session_key":
			v.SessionKey, err = p.text(start)
		case "checkpoint_dir":
			v.CheckpointDir, err = p.text(start)
		case "item":
			if items++; items > 1 {
				return nil, p.errorf("<items> holds more than one <item>; splunkd validates one input at a time")
			}
			if v.ItemName, err = p.name(start); err == nil {
				v.Params, v.Lists, err = p.params(start)
			}
		default:
			err = p.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	if items == 0 {
		return nil, p.errorf("<items> holds no <item>")
	}
	return v, nil
}

// parser walks one document with a token-level decoder.
type parser struct {
	d   *xml.Decoder
	doc string // what is being read, for error messages
}

func (p *parser) errorf(format string, args ...any) error {
	line, _ := p.d.InputPos()
	return fmt.Errorf("modinput: %s: line %d: %s", p.doc, line, fmt.Sprintf(format, args...))
}

func (p *parser) wrap(err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("modinput: %s: %w", p.doc, err)
}

// root reads up to the root start element and checks its name.
func (p *parser) root(want string) error {
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			return fmt.Errorf("modinput: %s: the document is empty; expected <%s>", p.doc, want)
		}
		if err != nil {
			return p.wrap(err)
		}
		if start, ok := tok.(xml.StartElement); ok {
			if start.Name.Local != want {
				return p.errorf("root element is <%s>; expected <%s>", start.Name.Local, want)
			}
			return nil
		}
	}
}

// child returns the next child element of the current element, or ok ==
// false at the current element's end tag. Text between elements is ignored.
func (p *parser) child() (start xml.StartElement, ok bool, err error) {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return start, false, p.wrap(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, true, nil
		case xml.EndElement:
			return start, false, nil
		}
	}
}

// text returns the character data of a leaf element.
func (p *parser) text(start xml.StartElement) (string, error) {
	var b []byte
	for {
		tok, err := p.d.Token()
		if err != nil {
			return "", p.wrap(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.StartElement:
			return "", p.errorf("unexpected <%s> inside <%s>; it holds only text", t.Name.Local, start.Name.Local)
		case xml.EndElement:
			return string(b), nil
		}
	}
}

func (p *parser) skip() error {
	if err := p.d.Skip(); err != nil {
		return p.wrap(err)
	}
	return nil
}

// name returns the element's name attribute, which must be present.
func (p *parser) name(start xml.StartElement) (string, error) {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == "name" {
			return a.Value, nil
		}
	}
	return "", p.errorf("<%s> has no name attribute", start.Name.Local)
}

func attr(start xml.StartElement, name string) string {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// configuration reads the <stanza> elements of <configuration>.
func (p *parser) configuration(def *Definition) error {
	for {
		start, ok, err := p.child()
		if err != nil || !ok {
			return err
		}
		if start.Name.Local != "stanza" {
			return p.errorf("unexpected <%s> in <configuration>; it holds only <stanza> elements", start.Name.Local)
		}
		s := Stanza{App: attr(start, "app")}
		if s.Name, err = p.name(start); err != nil {
			return err
		}
		if s.Params, s.Lists, err = p.params(start); err != nil {
			return err
		}
		def.Stanzas = append(def.Stanzas, s)
	}
}

// params reads the <param> and <param_list> children of a <stanza> or
// <item>; any other element is an error, as in the Splunk SDKs.
func (p *parser) params(parent xml.StartElement) (map[string]string, map[string][]string, error) {
	where := fmt.Sprintf("<%s name=%q>", parent.Name.Local, attr(parent, "name"))
	params := map[string]string{}
	lists := map[string][]string{}
	for {
		start, ok, err := p.child()
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return params, lists, nil
		}
		switch start.Name.Local {
		case "param":
			name, err := p.name(start)
			if err != nil {
				return nil, nil, err
			}
			if params[name], err = p.text(start); err != nil {
				return nil, nil, err
			}
		case "param_list":
			name, err := p.name(start)
			if err != nil {
				return nil, nil, err
			}
			values, err := p.values(start)
			if err != nil {
				return nil, nil, err
			}
			lists[name] = values
		default:
			return nil, nil, p.errorf("unexpected <%s> in %s; only <param> and <param_list> are allowed", start.Name.Local, where)
		}
	}
}

// values reads the <value> children of a <param_list>.
func (p *parser) values(list xml.StartElement) ([]string, error) {
	values := []string{}
	for {
		start, ok, err := p.child()
		if err != nil {
			return nil, err
		}
		if !ok {
			return values, nil
		}
		if start.Name.Local != "value" {
			return nil, p.errorf("unexpected <%s> in <param_list name=%q>; only <value> is allowed", start.Name.Local, attr(list, "name"))
		}
		v, err := p.text(start)
		if err != nil {
			return nil, err
		}
		values = append(values, v)
	}
}
