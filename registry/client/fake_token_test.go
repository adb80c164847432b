package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// token is the token service: GET with optional Basic auth, or the
// OAuth2 POST form.
func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	req := tokenReq{method: r.Method}
	user, authed := "", false
	var fail string
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		req.scopes, req.clientID, req.offline = q["scope"], q.Get("client_id"), q.Get("offline_token") == "true"
		if u, p, ok := r.BasicAuth(); ok {
			req.user = u
			if f.users[u].password != p {
				fail = "incorrect username or password " + p
			}
			user, authed = u, true
		}
	case http.MethodPost:
		if f.postCode != 0 {
			f.tokenReqs = append(f.tokenReqs, req)
			http.Error(w, "no", f.postCode)
			return
		}
		_ = r.ParseForm()
		req.grant, req.clientID = r.PostForm.Get("grant_type"), r.PostForm.Get("client_id")
		req.scopes = strings.Fields(r.PostForm.Get("scope"))
		req.offline = r.PostForm.Get("access_type") == "offline"
		switch req.grant {
		case "password":
			u := r.PostForm.Get("username")
			req.user = u
			if f.users[u].password != r.PostForm.Get("password") {
				fail = "incorrect username or password"
			}
			user, authed = u, true
		case "refresh_token":
			req.refresh = r.PostForm.Get("refresh_token")
			u, ok := f.refresh[req.refresh]
			if !ok {
				fail = "unknown refresh token"
			}
			user, authed = u, true
		default:
			fail = "unsupported grant"
		}
	}
	f.tokenReqs = append(f.tokenReqs, req)
	if fail != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"details":%q}`, fail)
		return
	}
	f.nextTok++
	tok := "tok-" + strconv.Itoa(f.nextTok)
	f.tokens[tok] = f.grant(user, authed, req.scopes)
	ans := map[string]any{f.tokenName: tok}
	if f.expiresIn > 0 {
		ans["expires_in"] = f.expiresIn
	}
	if req.offline && authed && req.grant != "refresh_token" {
		rt := "refresh-" + user
		f.refresh[rt] = user
		ans["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}

// grant intersects the requested scopes with what user may do: anonymous
// clients may pull, users what their actions list says (all when nil).
func (f *fake) grant(user string, authed bool, scopes []string) []string {
	var out []string
	for _, s := range scopes {
		res, acts := splitScope(s)
		for _, a := range acts {
			ok := a == "pull" && strings.HasPrefix(res, "repository:")
			if authed {
				allowed := f.users[user].actions
				ok = allowed == nil || slices.Contains(allowed, a)
			}
			if ok {
				out = append(out, res+":"+a)
			}
		}
	}
	return out
}
