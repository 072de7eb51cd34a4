package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Down stops the lab running in dir: SIGTERM to the process named in
// lab.json, then waits until it has removed lab.json (or ctx ends).
func Down(ctx context.Context, dir string) error {
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	p, err := os.FindProcess(st.PID)
	if err != nil {
		return fmt.Errorf("finding lab process %d: %w", st.PID, err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH) {
			// The process is gone: its state is stale.
			_ = os.Remove(filepath.Join(dir, StateFile))
			return nil
		}
		return fmt.Errorf("stopping lab process %d: %w", st.PID, err)
	}
	return WaitState(ctx, dir, false)
}

// WaitState waits until lab.json exists (running true) or is gone (false).
func WaitState(ctx context.Context, dir string, running bool) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		_, err := os.Stat(filepath.Join(dir, StateFile))
		if (err == nil) == running {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the lab in %s: %w", dir, ctx.Err())
		case <-t.C:
		}
	}
}

// Approve approves a pending device code sign-in of the lab running in dir
// as user (UPN, object ID or display name), as the person at the browser
// would.
func Approve(ctx context.Context, dir, userCode, user string) error {
	st, err := ReadState(dir)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(st.CAFile)
	if err != nil {
		return fmt.Errorf("reading the lab CA: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	d := &net.Dialer{Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, st.Addr)
		},
	}}
	form := url.Values{"code": {userCode}, "user": {user}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(st.AuthorityHost, "/")+"/devicelogin", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("approving device code: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("approving device code: %s", strings.TrimSpace(string(b)))
	}
	return nil
}
