package azurepolicy

import (
	"regexp"
	"sync"
)

// regexes compiles each regex once, as OPA's re_match caches them.
type regexes struct {
	mu sync.RWMutex
	m  map[string]*regexp.Regexp // nil for a regex that does not compile
}

func newRegexCache() *regexes { return &regexes{m: map[string]*regexp.Regexp{}} }

func (r *regexes) get(re string) *regexp.Regexp {
	r.mu.RLock()
	rx, ok := r.m[re]
	r.mu.RUnlock()
	if ok {
		return rx
	}
	rx, _ = regexp.Compile(re)
	r.mu.Lock()
	if len(r.m) < 1024 {
		r.m[re] = rx
	}
	r.mu.Unlock()
	return rx
}
