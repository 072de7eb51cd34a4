//go:build !unix

package cli

import "errors"

func startDetached(args []string, logPath string) error {
	return errors.New("--detach is supported on Unix only; run akssec lab up in its own terminal")
}
