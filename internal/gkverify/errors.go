package gkverify

import "errors"

// Errors a run reports, with the texts gator v3.23.1 gives them
// (pkg/gator/errors.go and the frameworks client), so that output and
// errors.Is checks read the same as gator's.
var (
	ErrRequestObject      = errors.New("invalid request object")
	ErrNotATemplate       = errors.New("not a ConstraintTemplate")
	ErrNotAConstraint     = errors.New("not a Constraint")
	ErrAddingTemplate     = errors.New("adding template")
	ErrAddingConstraint   = errors.New("adding constraint")
	ErrInvalidSuite       = errors.New("invalid Suite")
	ErrInvalidCase        = errors.New("invalid Case")
	ErrNumViolations      = errors.New("unexpected number of violations")
	ErrInvalidRegex       = errors.New("message contains invalid regular expression")
	ErrInvalidFilter      = errors.New("invalid test filter")
	ErrNoObjects          = errors.New("missing objects")
	ErrMultipleObjects    = errors.New("object file must contain exactly one object")
	ErrAddInventory       = errors.New("unable to add object to data.inventory")
	ErrValidConstraint    = errors.New("constraint should have failed schema validation")
	ErrInvalidYAML        = errors.New("invalid yaml")
	ErrUnsupportedExt     = errors.New("unsupported extension")
	ErrNotADirectory      = errors.New("not a directory")
	ErrInvalidAdmission   = errors.New("not a valid AdmissionReview object")
	ErrMissingRequest     = errors.New("missing an AdmissionRequest object")
	ErrNoObjectForReview  = errors.New("no object or oldObject found to review")
	ErrUnmarshallObject   = errors.New("object or oldObject cannot be unmarshalled")
	ErrInvalidConstraint  = errors.New("invalid Constraint")
	ErrSchema             = errors.New("schema validation failed")
	ErrMissingTemplate    = errors.New("missing ConstraintTemplate")
	ErrMissingField       = errors.New("missing required field")
	ErrOldObjectIsNil     = errors.New("oldObject cannot be nil for DELETE operations")
	ErrExpansionSupported = errors.New("expansion (ExpansionTemplate) is not supported by akssec: the case cannot be decided")
)
