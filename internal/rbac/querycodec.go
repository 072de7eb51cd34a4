package rbac

import (
	"encoding/json"
	"strconv"
)

// The batch hot path: decoding a query and encoding an answer with
// encoding/json costs several times the decision. decodeQuery and
// appendAnswer handle the plain shapes directly and hand anything else
// (escapes, unknown or differently cased keys, unusual values) to
// encoding/json, so their results are always encoding/json's.

// decodeQuery decodes one query line.
func decodeQuery(data []byte, q *Query) error {
	if fastDecodeQuery(data, q) {
		return nil
	}
	*q = Query{}
	return json.Unmarshal(data, q)
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// str reads a string without escapes or control characters; ok is false
// otherwise (the caller falls back).
func (s *scanner) str() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			v := string(s.b[start:s.i])
			s.i++
			return v, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
		s.i++
	}
	return "", false
}

func (s *scanner) strs() ([]string, bool) {
	if s.peek() == 'n' {
		return nil, s.null()
	}
	if !s.eat('[') {
		return nil, false
	}
	out := []string{}
	if s.eat(']') {
		return out, true
	}
	for {
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if s.eat(']') {
			return out, true
		}
		if !s.eat(',') {
			return nil, false
		}
	}
}

func (s *scanner) null() bool {
	s.ws()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func fastDecodeQuery(data []byte, q *Query) bool {
	s := &scanner{b: data}
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		s.ws()
		return s.i == len(s.b)
	}
	for {
		key, ok := s.str()
		if !ok || !s.eat(':') {
			return false
		}
		var sp *string
		switch key {
		case "user":
			sp = &q.User
		case "entra":
			sp = &q.Entra
		case "verb":
			sp = &q.Verb
		case "resource":
			sp = &q.Resource
		case "subresource":
			sp = &q.Subresource
		case "name":
			sp = &q.Name
		case "namespace":
			sp = &q.Namespace
		case "nonResourceURL":
			sp = &q.NonResourceURL
		case "group", "apiGroup":
			if s.peek() == 'n' {
				if !s.null() {
					return false
				}
				if key == "group" {
					q.Group = nil
				} else {
					q.APIGroup = nil
				}
				break
			}
			v, ok := s.str()
			if !ok {
				return false
			}
			if key == "group" {
				q.Group = &v
			} else {
				q.APIGroup = &v
			}
		case "groups":
			v, ok := s.strs()
			if !ok {
				return false
			}
			q.Groups = v
		default:
			return false // extra, unknown or differently cased keys
		}
		if sp != nil {
			if s.peek() == 'n' {
				if !s.null() {
					return false
				}
			} else {
				v, ok := s.str()
				if !ok {
					return false
				}
				*sp = v
			}
		}
		if s.eat('}') {
			s.ws()
			return s.i == len(s.b)
		}
		if !s.eat(',') {
			return false
		}
	}
}

// plain reports whether encoding/json writes v unchanged between quotes
// (with HTML escaping off).
func plain(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func appendStr(b []byte, v string) []byte {
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

// appendAnswer appends the answer's JSON line as json.Encoder (HTML
// escaping off) writes it.
func appendAnswer(b []byte, ans *Answer) []byte {
	d := ans.DecidedBy
	ok := plain(ans.Reason) && plain(ans.Error)
	if d != nil {
		for _, v := range []string{d.Authorizer, d.Binding, d.Subject, d.Role, string(d.Origin), d.Location, d.RoleAssignment, d.RoleDefinition, d.DataAction} {
			ok = ok && plain(v)
		}
	}
	if !ok {
		data, err := marshalNoHTML(ans)
		if err != nil {
			return append(b, `{"allowed":false,"reason":"","decidedBy":null,"error":"encoding the answer failed"}`+"\n"...)
		}
		return append(b, data...)
	}
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, ans.Allowed)
	if ans.Denied {
		b = append(b, `,"denied":true`...)
	}
	b = append(b, `,"reason":`...)
	b = appendStr(b, ans.Reason)
	b = append(b, `,"decidedBy":`...)
	if d == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"authorizer":`...)
		b = appendStr(b, d.Authorizer)
		opt := func(k, v string) {
			if v != "" {
				b = append(b, `,"`...)
				b = append(b, k...)
				b = append(b, `":`...)
				b = appendStr(b, v)
			}
		}
		opt("binding", d.Binding)
		opt("subject", d.Subject)
		opt("role", d.Role)
		b = append(b, `,"rule":`...)
		b = strconv.AppendInt(b, int64(d.Rule), 10)
		opt("origin", string(d.Origin))
		opt("location", d.Location)
		opt("roleAssignment", d.RoleAssignment)
		opt("roleDefinition", d.RoleDefinition)
		opt("dataAction", d.DataAction)
		b = append(b, '}')
	}
	if ans.Error != "" {
		b = append(b, `,"error":`...)
		b = appendStr(b, ans.Error)
	}
	return append(b, "}\n"...)
}
