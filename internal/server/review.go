package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"
)

// decision is one endpoint's work on a request body: parse returns the
// decoded review (or an error for a 400), decide answers it, and fail
// answers it when decide panicked or timed out, so the API server always
// gets a well-formed review with its UID.
type decision struct {
	parse  func(body []byte) (review any, err error)
	decide func(ctx context.Context, e *Engines, review any) (resp any, allowed bool, err error)
	fail   func(review any, err error) any
}

// errHTTP is a request refused before any review: an HTTP status.
type errHTTP struct {
	code int
	msg  string
}

func (e *errHTTP) Error() string { return e.msg }

func (s *Server) review(path string, endpoint func() decision) http.Handler {
	d := endpoint()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		code, outcome := http.StatusOK, "error"
		defer func() {
			s.metrics.requests.WithLabelValues(path, strconv.Itoa(code), outcome).Inc()
			s.metrics.latency.WithLabelValues(path).Observe(time.Since(start).Seconds())
		}()
		refuse := func(c int, msg string) {
			code = c
			s.log.Warn("refused", "path", path, "code", c, "reason", msg, "remote", r.RemoteAddr)
			http.Error(w, msg, c)
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			refuse(http.StatusMethodNotAllowed, "only POST is allowed")
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			refuse(http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: expected application/json", r.Header.Get("Content-Type")))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", s.opts.MaxBodyBytes))
				return
			}
			refuse(http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		rev, err := d.parse(body)
		if err != nil {
			refuse(http.StatusBadRequest, err.Error())
			return
		}
		e := s.engines.Load()
		if e == nil {
			refuse(http.StatusServiceUnavailable, "no snapshot loaded")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
		defer cancel()
		type result struct {
			resp    any
			allowed bool
			err     error
		}
		done := make(chan result, 1)
		go func() {
			defer func() {
				if p := recover(); p != nil {
					s.metrics.panics.WithLabelValues(path).Inc()
					s.log.Error("panic in a decision", "path", path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					done <- result{err: fmt.Errorf("internal error: %v", p)}
				}
			}()
			if s.panicHook != nil {
				s.panicHook(path)
			}
			resp, allowed, err := d.decide(ctx, e, rev)
			done <- result{resp, allowed, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-ctx.Done():
			res = result{err: fmt.Errorf("no decision within %s", s.opts.Timeout)}
		}
		resp := res.resp
		switch {
		case res.err != nil:
			s.log.Error("decision failed", "path", path, "err", res.err)
			resp = d.fail(rev, res.err)
		case res.allowed:
			outcome = "allowed"
		default:
			outcome = "denied"
		}
		out, err := json.Marshal(resp)
		if err != nil {
			code = http.StatusInternalServerError
			http.Error(w, "encoding the response", code)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
}
