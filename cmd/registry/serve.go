package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/registry/config"
	"github.com/berthhq/berth/storage"
)

// Server limits. There is deliberately no read or write timeout: blob
// uploads and downloads may take as long as they take on a slow link.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 1 << 20
)

// runServe runs `registry serve [--config FILE | FILE]` until ctx ends.
func runServe(ctx context.Context, args, env []string, stderr io.Writer) int {
	fs := newFlagSet("serve", "serve [--config FILE | FILE]", stderr)
	path := fs.String("config", "", "configuration `FILE` in registry:2 format (default: built-in)")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 1, fs.NArg() == 1 && *path != "":
		fs.Usage()
		return exitUsage
	case fs.NArg() == 1:
		*path = fs.Arg(0) // registry:2's form: registry serve FILE
	}
	cfg, warnings, err := readConfig(*path, env)
	if err != nil {
		for _, w := range warnings {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		source := *path
		if source == "" {
			source = "built-in configuration"
		}
		printConfigError(stderr, source, err)
		return exitError
	}
	log := newLogger(cfg.Log, stderr)
	for _, w := range warnings {
		log.Warn("configuration", "warning", w)
	}
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("serve failed", "err", err)
		return exitError
	}
	return exitOK
}

// serve wires cfg into a server, listens and serves until ctx ends, then
// shuts down gracefully. Upload purging runs alongside when enabled.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	d, err := newDriver(ctx, cfg.Storage, log)
	if err != nil {
		return err
	}
	store, err := storage.New(d, storage.WithLogger(log))
	if err != nil {
		return err
	}
	ta, err := newTokenAuth(cfg, log)
	if err != nil {
		return err
	}
	opts := []registry.Option{registry.WithLogger(log), registry.WithDeleteEnabled(cfg.Storage.Delete.Enabled)}
	if cfg.Storage.RedirectEnabled() {
		opts = append(opts, registry.WithBlobRedirect(blobRedirectExpiry))
	}
	if ta != nil {
		opts = append(opts, registry.WithAuthorizer(ta.authorizer))
	}
	var h http.Handler
	if h, err = registry.New(store, opts...); err != nil {
		return err
	}
	if ta != nil && ta.handler != nil {
		h = withTokenEndpoint(h, ta.handler)
	}
	srv, err := newServer(cfg.HTTP, withHeaders(h, cfg.HTTP.Headers), log)
	if err != nil {
		return err
	}
	ln, err := net.Listen(cfg.HTTP.Net, cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", srv.TLSConfig != nil,
		"storage", d.Name(), "delete", cfg.Storage.Delete.Enabled, "redirect", cfg.Storage.RedirectEnabled())

	if p := cfg.Storage.Maintenance.UploadPurging; p.Enabled {
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			purgeUploads(pctx, store.PurgeUploads, p, purgeJitter(p.Interval), log)
		}()
		defer func() { stop(); <-done }()
	}
	return runServer(ctx, srv, ln, cfg.HTTP.DrainTimeout, log)
}

// withHeaders sets the configured http.headers on every response before
// h writes it.
func withHeaders(h http.Handler, headers http.Header) http.Handler {
	if len(headers) == 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header()[k] = append([]string(nil), v...)
		}
		h.ServeHTTP(w, r)
	})
}

// newServer returns the http.Server for cfg, with TLS configured (and the
// key pair loaded) when a certificate is set.
func newServer(cfg config.HTTP, h http.Handler, log *slog.Logger) (*http.Server, error) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if !cfg.TLS.Enabled() {
		return srv, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLS.Certificate, cfg.TLS.Key)
	if err != nil {
		return nil, fmt.Errorf("http.tls: %w", err)
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLS.MinimumTLS == "tls1.3" {
		srv.TLSConfig.MinVersion = tls.VersionTLS13
	}
	return srv, nil
}

// runServer serves on ln until ctx ends or serving fails. When ctx ends it
// stops accepting connections and waits up to drain for in-flight requests
// before closing what remains; that is a clean stop and returns nil.
func runServer(ctx context.Context, srv *http.Server, ln net.Listener, drain time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "drain_timeout", drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running after the drain timeout; closing their connections", "err", err)
		srv.Close()
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
