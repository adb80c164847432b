package client

import (
	"errors"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

func TestParseChallenges(t *testing.T) {
	type ch = Challenge
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		header  string
		want    []ch
		wantErr bool
	}{
		// valid
		{"empty", "", nil, false},
		{"docker hub", `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"`,
			[]ch{{Scheme: "bearer", Params: p("realm", "https://auth.docker.io/token", "service", "registry.docker.io", "scope", "repository:samalba/my-app:pull,push")}}, false},
		{"case-insensitive scheme and names", `BEARER Realm="x",SERVICE="Y"`,
			[]ch{{Scheme: "bearer", Params: p("realm", "x", "service", "Y")}}, false},
		{"whitespace around = and commas", "Bearer  realm = \"x\" ,\tservice=\"y\"  ",
			[]ch{{Scheme: "bearer", Params: p("realm", "x", "service", "y")}}, false},
		{"escapes", `Bearer realm="a\"b\\c\d"`, []ch{{Scheme: "bearer", Params: p("realm", `a"b\cd`)}}, false},
		{"commas and spaces inside quotes", `Bearer realm="x",scope="repository:a:pull,push repository:b:pull"`,
			[]ch{{Scheme: "bearer", Params: p("realm", "x", "scope", "repository:a:pull,push repository:b:pull")}}, false},
		{"two challenges", `Basic realm="registry", Bearer realm="x",service="y"`,
			[]ch{{Scheme: "basic", Params: p("realm", "registry")}, {Scheme: "bearer", Params: p("realm", "x", "service", "y")}}, false},
		{"token68 then params", `Negotiate abc+/123==, Basic realm="r"`,
			[]ch{{Scheme: "negotiate", Params: p(), Token68: "abc+/123=="}, {Scheme: "basic", Params: p("realm", "r")}}, false},
		{"bare word is a token68", `Bearer realm`, []ch{{Scheme: "bearer", Params: p(), Token68: "realm"}}, false},
		{"bare scheme", `Basic`, []ch{{Scheme: "basic", Params: p()}}, false},
		{"bare schemes in a list", `Basic, Bearer`, []ch{{Scheme: "basic", Params: p()}, {Scheme: "bearer", Params: p()}}, false},
		{"unquoted URL realm", `Bearer realm=https://auth.example.com/token?a=b,service=reg`,
			[]ch{{Scheme: "bearer", Params: p("realm", "https://auth.example.com/token?a=b", "service", "reg")}}, false},
		{"empty list elements", ` , Basic realm="a" ,, `, []ch{{Scheme: "basic", Params: p("realm", "a")}}, false},
		{"empty quoted value", `Bearer realm=""`, []ch{{Scheme: "bearer", Params: p("realm", "")}}, false},
		{"high bytes in quotes", "Bearer realm=\"\xff\xfe\"", []ch{{Scheme: "bearer", Params: p("realm", "\xff\xfe")}}, false},
		{"tab in quotes", "Bearer realm=\"a\tb\"", []ch{{Scheme: "bearer", Params: p("realm", "a\tb")}}, false},

		// malformed: nothing half-parsed comes back
		{"unterminated quote", `Bearer realm="x`, nil, true},
		{"unterminated escape", `Bearer realm="x\`, nil, true},
		{"repeated parameter", `Bearer realm="x",realm="evil"`, nil, true},
		{"repeated parameter, other case", `Bearer realm="x",REALM="evil"`, nil, true},
		// RFC 7235 reads "realm=" as a token68 (with padding); it has no realm
		{"missing value is a token68", `Bearer realm=`, []ch{{Scheme: "bearer", Params: p(), Token68: "realm="}}, false},
		{"missing value before comma", `Bearer realm=,service="y"`, []ch{{Scheme: "bearer", Params: p(), Token68: "realm="}}, true},
		{"missing value after a parameter", `Bearer service="y",realm=`, nil, true},
		{"no scheme", `="x"`, nil, true},
		{"scheme glued to quote", `Bearer"x"`, nil, true},
		{"control character", "Bearer realm=\"a\x00b\"", nil, true},
		{"newline", "Bearer realm=\"a\nb\"", nil, true},
		{"garbage after value", `Bearer realm="x" y`, nil, true},
		{"good then bad", `Basic realm="a", Bearer realm="b`, []ch{{Scheme: "basic", Params: p("realm", "a")}}, true},
		{"params with no scheme after a comma", `Bearer,realm="x"`, []ch{{Scheme: "bearer", Params: p()}}, true},
		{"semicolon separator", `Bearer realm="x"; service="y"`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChallenges(tt.header)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformedChallenge) {
				t.Errorf("err = %v, want ErrMalformedChallenge", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d challenges %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].Scheme != tt.want[i].Scheme || got[i].Token68 != tt.want[i].Token68 ||
					!maps.Equal(got[i].Params, tt.want[i].Params) {
					t.Errorf("challenge %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseChallengesHostile(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		maxCount int
	}{
		{"huge header", "Bearer realm=\"" + strings.Repeat("a", 1<<20) + "\"", 0},
		{"many challenges", strings.Repeat("Basic, ", 500), maxChallenges},
		{"many parameters", "Bearer " + strings.Repeat("a=b,", 10) + paramList(100), 0},
		{"deep escapes", "Bearer realm=\"" + strings.Repeat(`\\`, 3000) + "\"", 1},
		{"only commas", strings.Repeat(",", 8000), 0},
		{"only quotes", strings.Repeat(`"`, 8000), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := ParseChallenges(tt.header)
			if len(got) > tt.maxCount {
				t.Errorf("%d challenges, want at most %d", len(got), tt.maxCount)
			}
		})
	}
}

func paramList(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("p")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(`="v"`)
	}
	return b.String()
}

// Random bytes drawn from the characters the grammar cares about never
// make the parser panic or return an empty scheme.
func TestParseChallengesRandom(t *testing.T) {
	const alphabet = "Bearer basic realm= \t,\"\\\x00\xffabc=/+:"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		cs, _ := ParseChallenges(string(b))
		for _, c := range cs {
			if c.Scheme == "" || c.Params == nil {
				t.Fatalf("ParseChallenges(%q) returned %+v", b, c)
			}
		}
	}
}

func FuzzParseChallenges(f *testing.F) {
	f.Add(`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a:pull"`)
	f.Add(`Basic realm="x", Negotiate abc==, Bearer realm=y`)
	f.Add(`Bearer realm="a\"b"`)
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseChallenges(s)
		if len(cs) > maxChallenges {
			t.Fatalf("%d challenges", len(cs))
		}
		if err != nil && !errors.Is(err, ErrMalformedChallenge) {
			t.Fatalf("error %v does not wrap ErrMalformedChallenge", err)
		}
	})
}

func TestResponseChallenges(t *testing.T) {
	h := http.Header{}
	h.Add("WWW-Authenticate", `Basic realm="a"`)
	h.Add("WWW-Authenticate", `Bearer realm="b`) // broken: skipped
	h.Add("WWW-Authenticate", `Bearer realm="c",service="s",scope="x:y:pull z:w:push"`)
	got, err := ResponseChallenges(h)
	if err == nil {
		t.Error("no error for the broken header")
	}
	if len(got) != 2 || got[0].Scheme != "basic" || got[1].Realm() != "c" || got[1].Service() != "s" {
		t.Fatalf("got %+v", got)
	}
	if s := got[1].Scopes(); len(s) != 2 || s[0] != "x:y:pull" || s[1] != "z:w:push" {
		t.Errorf("Scopes() = %q", s)
	}
	for range 5 {
		h.Add("WWW-Authenticate", strings.Repeat("Basic, ", 10))
	}
	if got, _ := ResponseChallenges(h); len(got) != maxChallenges {
		t.Errorf("%d challenges over several headers, want the cap %d", len(got), maxChallenges)
	}

	ch, ok := pickChallenge(http.Header{"Www-Authenticate": {`Basic realm="a", Bearer realm="b"`}})
	if !ok || ch.Scheme != "bearer" {
		t.Errorf("pickChallenge = %+v, want the Bearer one", ch)
	}
}
