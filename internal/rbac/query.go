package rbac

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/entra"
)

// Query is one line of a batch can-i file: the fields of a
// SubjectAccessReview spec, plus "entra" to name the caller by its Entra
// principal instead of user and groups.
//
// user/groups/extra are taken as a SubjectAccessReview takes them: exactly,
// with no group added. entra maps the principal as AKS does (UPN or object
// ID, transitive group object IDs, system:authenticated, extra oid).
type Query struct {
	User           string              `json:"user,omitempty"`
	Groups         []string            `json:"groups,omitempty"`
	Extra          map[string][]string `json:"extra,omitempty"`
	Entra          string              `json:"entra,omitempty"`
	Verb           string              `json:"verb"`
	Group          *string             `json:"group,omitempty"`
	APIGroup       *string             `json:"apiGroup,omitempty"`
	Resource       string              `json:"resource,omitempty"`
	Subresource    string              `json:"subresource,omitempty"`
	Name           string              `json:"name,omitempty"`
	Namespace      string              `json:"namespace,omitempty"`
	NonResourceURL string              `json:"nonResourceURL,omitempty"`
}

// Answer is the answer to one query.
type Answer struct {
	Allowed   bool       `json:"allowed"`
	Denied    bool       `json:"denied,omitempty"`
	Reason    string     `json:"reason"`
	DecidedBy *DecidedBy `json:"decidedBy"`
	Error     string     `json:"error,omitempty"`
}

// Batch answers queries with one prepared authorizer, remembering the
// Entra principals it resolved. A Batch is not safe for concurrent use;
// make one per goroutine.
type Batch struct {
	a     *Authorizer
	entra map[string]*authn.Identity
}

// NewBatch starts a batch.
func (a *Authorizer) NewBatch() *Batch {
	return &Batch{a: a, entra: map[string]*authn.Identity{}}
}

// Attributes turns a query into request attributes.
func (b *Batch) Attributes(q *Query) (Attributes, error) {
	var attrs Attributes
	switch {
	case q.Entra != "" && (q.User != "" || len(q.Groups) > 0):
		return attrs, fmt.Errorf("give either entra or user/groups, not both")
	case q.Entra != "":
		id, ok := b.entra[q.Entra]
		if !ok {
			dir := b.a.env.Directory
			if dir == nil {
				dir = &entra.Directory{}
			}
			var err error
			id, err = authn.FromEntra(dir, q.Entra)
			if err != nil {
				return attrs, err
			}
			b.entra[q.Entra] = id
		}
		if !id.Authenticated() {
			return attrs, fmt.Errorf("authentication fails: %s", id.Err)
		}
		attrs.User = id.User
	case q.User == "" && len(q.Groups) == 0:
		return attrs, fmt.Errorf("no caller: give user (and groups) or entra")
	default:
		attrs.User = authn.UserInfo{Name: q.User, Groups: q.Groups, Extra: q.Extra}
	}
	if q.Verb == "" {
		return attrs, fmt.Errorf("verb is required")
	}
	attrs.Verb = q.Verb
	if q.NonResourceURL != "" {
		if q.Resource != "" || q.Subresource != "" || q.Name != "" {
			return attrs, fmt.Errorf("nonResourceURL cannot be combined with resource, subresource or name")
		}
		attrs.Path = q.NonResourceURL
		return attrs, nil
	}
	if q.Resource == "" {
		return attrs, fmt.Errorf("resource or nonResourceURL is required")
	}
	attrs.ResourceRequest = true
	attrs.Namespace, attrs.Name, attrs.Subresource = q.Namespace, q.Name, q.Subresource
	res := q.Resource
	if res2, sub, ok := strings.Cut(res, "/"); ok && q.Subresource == "" {
		res, attrs.Subresource = res2, sub
	}
	switch {
	case q.Group != nil:
		attrs.APIGroup, attrs.Resource = *q.Group, res
	case q.APIGroup != nil:
		attrs.APIGroup, attrs.Resource = *q.APIGroup, res
	default:
		if r := b.a.discovery.byGRKey(res); r != nil {
			attrs.APIGroup, attrs.Resource = r.Group, r.Resource
		} else {
			attrs.Resource = res
		}
	}
	return attrs, nil
}

// Answer decides one query.
func (b *Batch) Answer(q *Query) Answer {
	attrs, err := b.Attributes(q)
	if err != nil {
		return Answer{Error: err.Error()}
	}
	d := b.a.Authorize(&attrs)
	return Answer{Allowed: d.Allowed, Denied: d.Denied, Reason: d.Reason, DecidedBy: d.DecidedBy}
}

// byGRKey finds "resource" or "resource.group" exactly.
func (d *Discovery) byGRKey(k string) *Resource {
	if i, ok := d.byGR[k]; ok {
		return &d.Resources[i]
	}
	return nil
}

// ResolveArg resolves a resource argument as kubectl auth can-i does: "*"
// stays "*" in the core group; a known name, short name, kind or
// resource.group resolves to its group and plural; anything else is kept
// as given in the core group, with known false (kubectl warns "the server
// doesn't have a resource type").
func (d *Discovery) ResolveArg(arg string) (group, resource string, known bool) {
	if arg == "*" {
		return "", "*", true
	}
	if r, ok := d.Lookup(arg); ok {
		return r.Group, r.Resource, true
	}
	return "", arg, false
}

// Run answers every JSON query line of r, writing one JSON answer line to
// w per query, in order. Blank lines are skipped; a line that is not a
// valid query gets an answer with error set. Lines are decided in chunks
// by one worker per CPU, each with its own Batch, and written in input
// order. It stops at the first read or write error, or when ctx is done.
func (b *Batch) Run(ctx context.Context, r io.Reader, w io.Writer) error {
	const chunkLines = 1024
	type chunk struct {
		first int // line number of lines[0]
		lines [][]byte
		out   []byte
		done  chan struct{}
	}
	workers := runtime.GOMAXPROCS(0)
	if workers > 8 {
		workers = 8
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	todo := make(chan *chunk, workers*2)
	ordered := make(chan *chunk, workers*4)

	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wb := b
		if i > 0 {
			wb = b.a.NewBatch()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range todo {
				var out []byte
				for j, data := range c.lines {
					var q Query
					var ans Answer
					if err := decodeQuery(data, &q); err != nil {
						ans = Answer{Error: fmt.Sprintf("line %d: %v", c.first+j, err)}
					} else {
						ans = wb.Answer(&q)
					}
					out = appendAnswer(out, &ans)
				}
				c.out = out
				close(c.done)
			}
		}()
	}

	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		line := 0
		c := &chunk{done: make(chan struct{})}
		flush := func() bool {
			if len(c.lines) == 0 {
				return true
			}
			select {
			case todo <- c:
			case <-ctx.Done():
				return false
			}
			select {
			case ordered <- c:
			case <-ctx.Done():
				return false
			}
			c = &chunk{done: make(chan struct{})}
			return true
		}
		for sc.Scan() {
			line++
			data := sc.Bytes()
			if len(bytes.TrimSpace(data)) == 0 {
				continue
			}
			if len(c.lines) == 0 {
				c.first = line
			}
			c.lines = append(c.lines, append([]byte(nil), data...))
			if len(c.lines) == chunkLines && !flush() {
				readErr <- ctx.Err()
				return
			}
		}
		if !flush() {
			readErr <- ctx.Err()
			return
		}
		if err := sc.Err(); err != nil {
			readErr <- fmt.Errorf("reading queries: %w", err)
			return
		}
		readErr <- nil
	}()

	bw := bufio.NewWriterSize(w, 256*1024)
	var werr error
	for c := range ordered {
		<-c.done
		if werr == nil {
			if _, err := bw.Write(c.out); err != nil {
				werr = err
				cancel()
			}
		}
	}
	wg.Wait()
	rerr := <-readErr
	if werr != nil {
		return werr
	}
	if rerr != nil {
		return rerr
	}
	return bw.Flush()
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}
