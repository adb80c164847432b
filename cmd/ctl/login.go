package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/berthhq/berth/auth/credstore"
	"github.com/berthhq/berth/registry/client"
	"github.com/spf13/cobra"
)

// hubServer is how docker names Docker Hub in config.json and in login
// and logout messages.
const hubServer = "https://index.docker.io/v1/"

// loginOptions are the flags of ctl login.
type loginOptions struct {
	server        string
	username      string
	password      string
	passwordSet   bool // -p was given (even empty)
	passwordStdin bool
}

func newLoginCmd(a *app) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry",
		Long: "Log in to a registry (Docker Hub when SERVER is omitted). Credentials are checked with the registry\n" +
			"and saved in docker's config.json ($DOCKER_CONFIG or ~/.docker), or its credential helper.",
		Args: args(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.server = args[0]
			}
			o.passwordSet = cmd.Flags().Changed("password")
			return a.login(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.username, "username", "u", "", "username")
	f.StringVarP(&o.password, "password", "p", "", "password or token (insecure: prefer --password-stdin)")
	f.BoolVar(&o.passwordStdin, "password-stdin", false, "take the password from stdin")
	return cmd
}

func newLogoutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args:  args(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			return a.logout(cmd.Context(), server)
		},
	}
}

// serverHost returns the registry host login and logout work on (docker.io
// when server is empty) and the name docker prints for it.
func serverHost(server string) (host, display string, err error) {
	if server == "" {
		server = "docker.io"
	}
	host, err = canonicalHost(server)
	if err != nil {
		return "", "", err
	}
	if host == "docker.io" {
		return host, hubServer, nil
	}
	return host, host, nil
}

// login checks credentials with the registry and saves them, as docker
// login does: from the flags, from stdin, from a terminal prompt, or, with
// none of those, the ones already saved.
func (a *app) login(ctx context.Context, o loginOptions) error {
	if err := o.readPassword(a); err != nil {
		return err
	}
	host, _, err := serverHost(o.server)
	if err != nil {
		return err
	}
	regs, err := a.registries()
	if err != nil {
		return err
	}
	var saved credstore.Credential
	if o.username == "" && !o.passwordSet && !o.passwordStdin {
		if saved, err = regs.creds.Get(ctx, host); err != nil {
			return err
		}
		if saved.Password != "" || saved.IdentityToken != "" {
			fmt.Fprintln(a.out, "Authenticating with existing credentials...")
			refresh, err := verifyLogin(ctx, regs, host, client.Credential{
				Username: saved.Username, Password: saved.Password, IdentityToken: saved.IdentityToken})
			if err == nil {
				if refresh != "" && refresh != saved.IdentityToken {
					if err := a.saveLogin(ctx, regs, host, saved.Username, "", refresh); err != nil {
						return err
					}
				}
				fmt.Fprintln(a.out, "Login Succeeded")
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(a.errOut, "Login did not succeed, error: %v\n", err)
		}
	}
	if err := o.prompt(a, saved.Username); err != nil {
		return err
	}
	refresh, err := verifyLogin(ctx, regs, host, client.Credential{Username: o.username, Password: o.password})
	if err != nil {
		return err
	}
	if refresh != "" {
		err = a.saveLogin(ctx, regs, host, o.username, "", refresh)
	} else {
		err = a.saveLogin(ctx, regs, host, o.username, o.password, "")
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(a.out, "Login Succeeded")
	return nil
}

// readPassword checks the password flags and reads --password-stdin.
func (o *loginOptions) readPassword(a *app) error {
	switch {
	case o.passwordStdin && o.passwordSet:
		return errors.New("--password and --password-stdin are mutually exclusive")
	case o.passwordStdin && o.username == "":
		return errors.New("must provide --username with --password-stdin")
	case o.passwordSet:
		fmt.Fprintln(a.errOut, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	case o.passwordStdin:
		b, err := io.ReadAll(io.LimitReader(a.in, 1<<20))
		if err != nil {
			return fmt.Errorf("reading password from stdin: %w", err)
		}
		o.password = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		o.passwordSet = true
	}
	return nil
}

// prompt asks on the terminal for what the flags did not give.
func (o *loginOptions) prompt(a *app, defaultUser string) error {
	p := &prompter{in: a.in, out: a.out}
	if o.username == "" {
		label := "Username: "
		if defaultUser != "" {
			label = fmt.Sprintf("Username (%s): ", defaultUser)
		}
		u, err := p.line(label)
		if err != nil {
			return err
		}
		if o.username = strings.TrimSpace(u); o.username == "" {
			o.username = defaultUser
		}
		if o.username == "" {
			return errors.New("username required")
		}
	}
	if !o.passwordSet {
		pw, err := p.password("Password: ")
		if err != nil {
			return err
		}
		o.password = pw
	}
	if o.password == "" {
		return errors.New("password required")
	}
	return nil
}

// verifyLogin checks cred with the registry at host: GET /v2/ must
// succeed with it, through the token service when the registry uses one,
// which is asked for a refresh token. It returns the refresh token, if the
// service gave one.
func verifyLogin(ctx context.Context, regs *registries, host string, cred client.Credential) (string, error) {
	var (
		mu      sync.Mutex
		refresh string
	)
	keep := func(_, token string) {
		mu.Lock()
		defer mu.Unlock()
		refresh = token
	}
	c, err := regs.client(ctx, host,
		client.WithCredentials(client.StaticCredentials{endpoint(host): cred}),
		client.WithTransportOptions(client.WithOfflineTokens(), client.WithRefreshTokenHandler(keep)))
	if err != nil {
		return "", err
	}
	if err := c.Ping(ctx); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", loginError(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return refresh, nil
}

// loginError says why the registry refused a login, in one line:
// "login failed: unauthorized: incorrect username or password".
func loginError(err error) error {
	var te *client.TokenError
	if errors.As(err, &te) && te.Message != "" && te.StatusCode >= 400 && te.StatusCode < 500 {
		// The token service's own words; OAuth2 refuses a password
		// grant with 400, registry:2-style services with 401.
		return fmt.Errorf("login failed: %s", tokenMessage(te))
	}
	var re *client.Error
	if errors.Is(err, client.ErrUnauthorized) && !errors.As(err, &re) {
		return errors.New("login failed: unauthorized: incorrect username or password")
	}
	if errors.As(err, &re) && re.Code != "" {
		return fmt.Errorf("login failed: %s: %s", strings.ToLower(re.Code), re.Message)
	}
	return fmt.Errorf("login failed: %w", err)
}

// tokenMessage is a token service's refusal as docker words it:
// "unauthorized: incorrect username or password".
func tokenMessage(te *client.TokenError) string {
	msg := te.Message
	if msg == "" {
		return strings.ToLower(http.StatusText(te.StatusCode))
	}
	if code, text, ok := strings.Cut(msg, ": "); ok && code == strings.ToUpper(code) {
		msg = strings.ToLower(code) + ": " + text
	}
	return msg
}

// saveLogin saves a username with a password or a refresh token for host,
// with docker's warning when they end up unencrypted in config.json.
func (a *app) saveLogin(ctx context.Context, regs *registries, host, user, password, refresh string) error {
	insecure, err := regs.creds.Store(ctx, host, credstore.Credential{
		Username: user, Password: password, IdentityToken: refresh})
	if err != nil {
		return fmt.Errorf("saving credentials: %w", err)
	}
	if insecure {
		fmt.Fprintf(a.errOut, "WARNING! Your credentials are stored unencrypted in '%s'.\n"+
			"Configure a credential helper to remove this warning. See\n"+
			"https://docs.docker.com/go/credential-store/\n\n", regs.creds.Path())
	}
	return nil
}

// logout erases the credentials saved for server, as docker logout does:
// "Not logged in to X" (and success) when there were none.
func (a *app) logout(ctx context.Context, server string) error {
	host, display, err := serverHost(server)
	if err != nil {
		return err
	}
	creds, err := a.credStore()
	if err != nil {
		return err
	}
	err = creds.Erase(ctx, host)
	if errors.Is(err, credstore.ErrNotLoggedIn) {
		fmt.Fprintf(a.out, "Not logged in to %s\n", display)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Removing login credentials for %s\n", display)
	return nil
}
