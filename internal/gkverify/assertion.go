package gkverify

import (
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Check applies the assertion to the messages of a review's results (gator
// pkg/gator/verify/assertion.go): count the results whose message matches
// Message (all when unset), then compare with Violations.
func (a *Assertion) Check(messages []string) error {
	var re *regexp.Regexp
	if a.Message != nil {
		var err error
		if re, err = regexp.Compile(*a.Message); err != nil {
			// gator compiles the regex when it meets the first result, so
			// an invalid one is an error only when there are results.
			if len(messages) > 0 {
				return fmt.Errorf("%w: %w", ErrInvalidRegex, err)
			}
		}
	}
	matching := int32(0)
	for _, m := range messages {
		if re == nil || re.MatchString(m) {
			matching++
		}
	}
	v := a.Violations
	if v == nil {
		v = &intstr.IntOrString{Type: intstr.String, StrVal: "yes"}
	}
	if err := a.checkCount(v, matching); err != nil {
		return fmt.Errorf("%w: got messages %v", err, messagesOrNil(messages))
	}
	return nil
}

// messagesOrNil prints like gator's nil slice when there are no results.
func messagesOrNil(m []string) []string {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (a *Assertion) checkCount(v *intstr.IntOrString, matching int32) error {
	switch v.Type {
	case intstr.Int:
		if v.IntVal < 0 {
			return fmt.Errorf(`%w: assertion.violation, if set, must be a nonnegative integer, "yes", or "no"`, ErrInvalidYAML)
		}
		if matching != v.IntVal {
			if a.Message != nil {
				return fmt.Errorf("%w: got %d violations containing %q but want exactly %d", ErrNumViolations, matching, *a.Message, v.IntVal)
			}
			return fmt.Errorf("%w: got %d violations but want exactly %d", ErrNumViolations, matching, v.IntVal)
		}
		return nil
	case intstr.String:
		switch v.StrVal {
		case "yes":
			if matching == 0 {
				if a.Message != nil {
					return fmt.Errorf("%w: got %d violations containing %q but want at least %d", ErrNumViolations, matching, *a.Message, 1)
				}
				return fmt.Errorf("%w: got %d violations but want at least %d", ErrNumViolations, matching, 1)
			}
			return nil
		case "no":
			if matching > 0 {
				if a.Message != nil {
					return fmt.Errorf("%w: got %d violations containing %q but want none", ErrNumViolations, matching, *a.Message)
				}
				return fmt.Errorf("%w: got %d violations but want none", ErrNumViolations, matching)
			}
			return nil
		}
		return fmt.Errorf(`%w: assertion.violation, if set, must be a nonnegative integer, "yes", or "no"`, ErrInvalidYAML)
	}
	return fmt.Errorf("%w: assertion.violations improperly parsed to type %d", ErrInvalidYAML, v.Type)
}
