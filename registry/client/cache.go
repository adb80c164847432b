package client

// The token cache: tokens by host, realm, service and scope set, with
// concurrent fetches of one token shared.

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// tokenKey identifies a cached token.
type tokenKey struct {
	host, realm, service string
	scopes               string // normalized, space-joined
}

type cachedToken struct {
	value   string
	expires time.Time
}

// flight is one token fetch that concurrent callers wait on.
type flight struct {
	done  chan struct{}
	value string
	err   error
}

// cached returns the unexpired token for key; t.mu must be held.
func (t *Transport) cached(key tokenKey) (string, bool) {
	c, ok := t.tokens[key]
	if !ok || !t.now().Before(c.expires) {
		return "", false
	}
	return c.value, true
}

// token returns a token for key, other than reject: from the cache, from a
// fetch under way, or from a fetch of its own.
func (t *Transport) token(ctx context.Context, u *url.URL, key tokenKey, reject string) (string, error) {
	t.mu.Lock()
	if tok, ok := t.cached(key); ok && tok != reject {
		t.mu.Unlock()
		return tok, nil
	}
	f, waiting := t.flights[key]
	if !waiting {
		f = &flight{done: make(chan struct{})}
		t.flights[key] = f
	}
	t.mu.Unlock()

	if !waiting {
		f.value, f.err = t.fetch(ctx, u, key)
		t.mu.Lock()
		delete(t.flights, key)
		t.mu.Unlock()
		close(f.done)
		return f.value, f.err
	}
	select {
	case <-f.done:
		if f.err != nil && ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			return t.token(ctx, u, key, reject) // the fetch died with its caller, not with us
		}
		return f.value, f.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// store caches a token for key until shortly before it expires: ten
// seconds, or a tenth of its life when that is shorter.
func (t *Transport) store(key tokenKey, value string, life time.Duration) {
	margin := min(10*time.Second, life/10)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.tokens) >= 256 {
		for k, c := range t.tokens {
			if !now.Before(c.expires) {
				delete(t.tokens, k)
			}
		}
	}
	t.tokens[key] = cachedToken{value: value, expires: now.Add(life - margin)}
}

// credential returns the credential for host, looking it up once.
func (t *Transport) credential(ctx context.Context, host string) (Credential, error) {
	t.mu.Lock()
	if c := t.state(host).cred; c != nil {
		t.mu.Unlock()
		return *c, nil
	}
	t.mu.Unlock()
	c, err := t.creds.Credentials(ctx, host)
	if err != nil {
		return Credential{}, fmt.Errorf("credentials for %s: %w", host, err)
	}
	t.mu.Lock()
	t.state(host).cred = &c
	t.mu.Unlock()
	return c, nil
}
