package snapshot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/akssec/akssec/internal/source"
)

// Problem is one thing wrong with the snapshot, at a place in it.
type Problem struct {
	Loc     source.Location `json:"location"`
	Message string          `json:"message"`
	// Warning problems do not fail the load (an unrecognized file, an
	// unsupported field); errors do.
	Warning bool `json:"warning,omitempty"`
}

func (p Problem) String() string {
	prefix := p.Loc.String()
	if p.Loc.Doc > 0 && !strings.Contains(p.Message, "document ") {
		prefix += fmt.Sprintf(" (document %d)", p.Loc.Doc)
	}
	return prefix + ": " + p.Message
}

// LoadError is returned when the snapshot has errors; it lists every error
// of every file, so one run shows everything to fix.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	var b strings.Builder
	n := 0
	for _, p := range e.Problems {
		if !p.Warning {
			n++
		}
	}
	fmt.Fprintf(&b, "the snapshot has %d error(s)", n)
	for _, p := range e.Problems {
		if !p.Warning {
			b.WriteString("\n  ")
			b.WriteString(p.String())
		}
	}
	return b.String()
}

func asType[T error](err error, target *T) bool { return errors.As(err, target) }
