package netpol

import (
	"fmt"
	"strings"
	"unicode"
)

// calSel is a parsed Calico selector expression
// (https://docs.tigera.io/calico/latest/reference/resources/networkpolicy#selectors):
// all(), global(), has(k), k == "v", k != "v", k in {..}, k not in {..},
// k contains/starts with/ends with "s", !, &&, || and parentheses.
type calSel interface {
	match(ls map[string]string) bool
}

type selAll struct{}
type selGlobal struct{}
type selHas struct{ k string }
type selEq struct {
	k, v string
	neg  bool
}
type selIn struct {
	k   string
	vs  map[string]bool
	neg bool
}
type selStr struct{ k, op, v string }
type selNot struct{ e calSel }
type selAnd struct{ a, b calSel }
type selOr struct{ a, b calSel }

func (selAll) match(map[string]string) bool    { return true }
func (selGlobal) match(map[string]string) bool { return false } // pods are never global entities
func (s selHas) match(ls map[string]string) bool {
	_, ok := ls[s.k]
	return ok
}
func (s selEq) match(ls map[string]string) bool {
	v, ok := ls[s.k]
	if s.neg {
		return !ok || v != s.v
	}
	return ok && v == s.v
}
func (s selIn) match(ls map[string]string) bool {
	v, ok := ls[s.k]
	if s.neg {
		return !ok || !s.vs[v]
	}
	return ok && s.vs[v]
}
func (s selStr) match(ls map[string]string) bool {
	v, ok := ls[s.k]
	if !ok {
		return false
	}
	switch s.op {
	case "contains":
		return strings.Contains(v, s.v)
	case "starts with":
		return strings.HasPrefix(v, s.v)
	default:
		return strings.HasSuffix(v, s.v)
	}
}
func (s selNot) match(ls map[string]string) bool { return !s.e.match(ls) }
func (s selAnd) match(ls map[string]string) bool { return s.a.match(ls) && s.b.match(ls) }
func (s selOr) match(ls map[string]string) bool  { return s.a.match(ls) || s.b.match(ls) }

type selParser struct {
	s   string
	pos int
}

// parseCalicoSelector parses a selector; "" is all().
func parseCalicoSelector(s string) (calSel, error) {
	if strings.TrimSpace(s) == "" {
		return selAll{}, nil
	}
	p := &selParser{s: s}
	e, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("selector %q: %w", s, err)
	}
	p.ws()
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("selector %q: unexpected %q", s, p.s[p.pos:])
	}
	return e, nil
}

func (p *selParser) ws() {
	for p.pos < len(p.s) && unicode.IsSpace(rune(p.s[p.pos])) {
		p.pos++
	}
}

func (p *selParser) eat(tok string) bool {
	p.ws()
	if strings.HasPrefix(p.s[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *selParser) or() (calSel, error) {
	a, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.eat("||") {
		b, err := p.and()
		if err != nil {
			return nil, err
		}
		a = selOr{a, b}
	}
	return a, nil
}

func (p *selParser) and() (calSel, error) {
	a, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.eat("&&") {
		b, err := p.unary()
		if err != nil {
			return nil, err
		}
		a = selAnd{a, b}
	}
	return a, nil
}

func (p *selParser) unary() (calSel, error) {
	p.ws()
	if p.pos < len(p.s) && p.s[p.pos] == '!' && !strings.HasPrefix(p.s[p.pos:], "!=") {
		p.pos++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return selNot{e}, nil
	}
	if p.eat("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.eat(")") {
			return nil, fmt.Errorf("missing )")
		}
		return e, nil
	}
	if p.eat("all()") {
		return selAll{}, nil
	}
	if p.eat("global()") {
		return selGlobal{}, nil
	}
	if p.eat("has(") {
		k := p.ident()
		if k == "" || !p.eat(")") {
			return nil, fmt.Errorf("bad has()")
		}
		return selHas{k}, nil
	}
	k := p.ident()
	if k == "" {
		return nil, fmt.Errorf("expected a label key at %d", p.pos)
	}
	switch {
	case p.eat("=="):
		v, err := p.str()
		return selEq{k: k, v: v}, err
	case p.eat("!="):
		v, err := p.str()
		return selEq{k: k, v: v, neg: true}, err
	case p.eat("not in"):
		vs, err := p.set()
		return selIn{k: k, vs: vs, neg: true}, err
	case p.eat("in"):
		vs, err := p.set()
		return selIn{k: k, vs: vs}, err
	case p.eat("contains"):
		v, err := p.str()
		return selStr{k, "contains", v}, err
	case p.eat("starts with"):
		v, err := p.str()
		return selStr{k, "starts with", v}, err
	case p.eat("ends with"):
		v, err := p.str()
		return selStr{k, "ends with", v}, err
	}
	return nil, fmt.Errorf("expected an operator after %q", k)
}

func (p *selParser) ident() string {
	p.ws()
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c == '-' || c == '.' || c == '/' || unicode.IsLetter(rune(c)) || unicode.IsDigit(rune(c)) {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func (p *selParser) str() (string, error) {
	p.ws()
	if p.pos >= len(p.s) || (p.s[p.pos] != '"' && p.s[p.pos] != '\'') {
		return "", fmt.Errorf("expected a quoted string at %d", p.pos)
	}
	q := p.s[p.pos]
	end := strings.IndexByte(p.s[p.pos+1:], q)
	if end < 0 {
		return "", fmt.Errorf("unterminated string")
	}
	v := p.s[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return v, nil
}

func (p *selParser) set() (map[string]bool, error) {
	if !p.eat("{") {
		return nil, fmt.Errorf("expected {")
	}
	vs := map[string]bool{}
	if p.eat("}") {
		return vs, nil
	}
	for {
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		vs[v] = true
		if p.eat("}") {
			return vs, nil
		}
		if !p.eat(",") {
			return nil, fmt.Errorf("expected , or }")
		}
	}
}
