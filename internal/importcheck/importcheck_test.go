package importcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/berthhq/berth"

// pkg is the part of `go list -json` the rules read.
type pkg struct {
	ImportPath   string
	Imports      []string // direct imports of the non-test build
	Deps         []string // transitive imports of the non-test build
	TestImports  []string // direct imports of _test.go files in the package
	XTestImports []string // direct imports of external _test packages
	Error        *struct{ Err string }
}

// allImports are the package's direct imports, tests included.
func (p pkg) allImports() []string {
	var all []string
	all = append(all, p.Imports...)
	all = append(all, p.TestImports...)
	return append(all, p.XTestImports...)
}

// rel is the import path relative to the module ("storage/driver"), or ""
// for the module root; ok is false outside the module.
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// under reports whether path (relative to the module) is dir or inside it.
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// underAny reports whether path is under any of dirs.
func underAny(path string, dirs ...string) bool {
	for _, d := range dirs {
		if under(path, d) {
			return true
		}
	}
	return false
}

// rule is one import rule. applies selects the importing packages (paths
// relative to the module) it constrains; forbidden reports whether the
// dependency (full import path) breaks the rule for that importer.
type rule struct {
	name      string
	why       string
	applies   func(p string) bool
	forbidden func(importer, dep string) bool
	// direct checks only direct imports (tests included) instead of Deps.
	direct bool
}

// projectDep returns a forbidden func matching project packages (relative
// paths) for which match is true.
func projectDep(match func(dep string) bool) func(string, string) bool {
	return func(_, dep string) bool {
		r, ok := rel(dep)
		return ok && match(r)
	}
}

// leaf forbids every other project package.
func leaf(self string) rule {
	return rule{
		name:    self + " is a leaf",
		why:     "DESIGN.md marks " + self + " [leaf]: it imports no other package of this module",
		applies: func(p string) bool { return p == self },
		forbidden: projectDep(func(dep string) bool {
			return dep != self
		}),
	}
}

// thirdParty confines a third-party module to the package dirs given.
func thirdParty(name, prefix string, allowed ...string) rule {
	return rule{
		name:    name + " only in " + strings.Join(allowed, ", "),
		why:     "STYLE.md's dependency budget: " + prefix + " is confined to " + strings.Join(allowed, ", "),
		direct:  true,
		applies: func(p string) bool { return !underAny(p, allowed...) },
		forbidden: func(_, dep string) bool {
			return dep == prefix || strings.HasPrefix(dep, prefix+"/")
		},
	}
}

// rules are DESIGN.md's "which way imports point", as code.
var rules = []rule{
	{
		name:      "storage imports no registry, auth or runtime",
		why:       "storage knows nothing of HTTP, auth or runtime",
		applies:   func(p string) bool { return under(p, "storage") },
		forbidden: projectDep(func(dep string) bool { return underAny(dep, "registry", "auth", "runtime") }),
	},
	leaf("storage/driver"),
	leaf("registry/errcode"),
	leaf("auth"),
	leaf("runtime/mount"),
	{
		name:      "nothing imports cmd",
		why:       "cmd/* are mains; libraries never depend on them",
		applies:   func(string) bool { return true },
		forbidden: projectDep(func(dep string) bool { return under(dep, "cmd") }),
	},
	{
		name: "registry/client imports no server package, storage or runtime",
		why: "registry/client is shared by ctl and the proxy; credentials arrive through an " +
			"interface it declares, so not even auth/credstore",
		applies: func(p string) bool { return under(p, "registry/client") },
		forbidden: projectDep(func(dep string) bool {
			return dep == "registry" ||
				underAny(dep, "registry/proxy", "registry/metrics", "registry/config",
					"storage", "runtime", "auth")
		}),
	},
	{
		name:      "auth imports no storage, registry or runtime",
		why:       "auth knows nothing of storage or registry",
		applies:   func(p string) bool { return under(p, "auth") },
		forbidden: projectDep(func(dep string) bool { return underAny(dep, "storage", "registry", "runtime") }),
	},
	{
		name:      "runtime imports no registry or auth",
		why:       "cmd/ctl plugs registry/client in as runtime/image.Remote",
		applies:   func(p string) bool { return under(p, "runtime") },
		forbidden: projectDep(func(dep string) bool { return underAny(dep, "registry", "auth") }),
	},
	{
		name:      "registry/config is imported only by cmd/registry",
		why:       "config is translated into constructor options in cmd/registry; libraries never see it",
		applies:   func(p string) bool { return !under(p, "registry/config") && p != "cmd/registry" },
		forbidden: projectDep(func(dep string) bool { return under(dep, "registry/config") }),
	},
	thirdParty("aws-sdk-go-v2", "github.com/aws/aws-sdk-go-v2", "storage/driver/s3"),
	thirdParty("aws-sdk-go (v1)", "github.com/aws/aws-sdk-go", "storage/driver/s3"),
	thirdParty("prometheus", "github.com/prometheus", "registry/metrics"),
	thirdParty("golang-jwt", "github.com/golang-jwt/jwt", "auth/token"),
	thirdParty("bcrypt", "golang.org/x/crypto/bcrypt", "auth/htpasswd"),
	thirdParty("docker-credential-helpers", "github.com/docker/docker-credential-helpers", "auth/credstore"),
	thirdParty("cobra", "github.com/spf13/cobra", "cmd/ctl"),
	thirdParty("mpb", "github.com/vbauerster/mpb", "cmd/ctl"),
	thirdParty("filepath-securejoin", "github.com/cyphar/filepath-securejoin", "runtime/archive", "runtime/container"),
}

// violations applies every rule to pkgs and returns one line per broken
// rule and offending import, sorted.
func violations(pkgs []pkg) []string {
	var out []string
	for _, p := range pkgs {
		r, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		for _, ru := range rules {
			if !ru.applies(r) {
				continue
			}
			deps := p.Deps
			if ru.direct {
				deps = p.allImports()
			}
			for _, d := range deps {
				if d != p.ImportPath && ru.forbidden(r, d) {
					out = append(out, p.ImportPath+" -> "+d+": breaks \""+ru.name+"\" ("+ru.why+")")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// listPackages runs `go list -e -json` over the whole module. Packages that
// fail to load (someone is mid-edit) are still listed with what go could
// resolve; their load errors are reported by the unit tests, not here.
func listPackages(t *testing.T, tags string) []pkg {
	t.Helper()
	args := []string{"list", "-e", "-deps=false",
		"-json=ImportPath,Imports,Deps,TestImports,XTestImports,Error"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, module+"/...")
	cmd := exec.Command("go", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages in " + module)
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is needed to list packages: %v", err)
	}
	// The default build, then with the e2e tag so the end-to-end suite is
	// held to the same rules.
	for _, tags := range []string{"", "e2e"} {
		t.Run("tags="+tags, func(t *testing.T) {
			pkgs := listPackages(t, tags)
			for _, p := range pkgs {
				if p.Error != nil {
					t.Logf("note: %s does not load: %s", p.ImportPath, p.Error.Err)
				}
			}
			for _, v := range violations(pkgs) {
				t.Error(v)
			}
		})
	}
}

// TestRulesCatchViolations checks the rules themselves against made-up
// package graphs, so a typo in a rule cannot make the real check vacuous.
func TestRulesCatchViolations(t *testing.T) {
	m := func(r string) string { return module + "/" + r }
	tests := []struct {
		name string
		pkg  pkg
		want int // violations expected
	}{
		{"storage importing registry", pkg{ImportPath: m("storage"), Deps: []string{m("registry/errcode")}}, 1},
		{"storage/gc importing auth", pkg{ImportPath: m("storage/gc"), Deps: []string{m("auth")}}, 1},
		{"storage importing its driver", pkg{ImportPath: m("storage"), Deps: []string{m("storage/driver")}}, 0},
		{"driver importing storage", pkg{ImportPath: m("storage/driver"), Deps: []string{m("storage")}}, 1},
		{"filesystem driver importing driver", pkg{ImportPath: m("storage/driver/filesystem"), Deps: []string{m("storage/driver")}}, 0},
		{"errcode importing auth", pkg{ImportPath: m("registry/errcode"), Deps: []string{m("auth")}}, 1},
		{"auth importing storage", pkg{ImportPath: m("auth"), Deps: []string{m("storage")}}, 2},
		{"auth/token importing auth", pkg{ImportPath: m("auth/token"), Deps: []string{m("auth")}}, 0},
		{"library importing cmd", pkg{ImportPath: m("runtime/image"), Deps: []string{m("cmd/ctl")}}, 1},
		{"client importing registry", pkg{ImportPath: m("registry/client"), Deps: []string{m("registry")}}, 1},
		{"client importing errcode", pkg{ImportPath: m("registry/client"), Deps: []string{m("registry/errcode")}}, 0},
		{"client importing storage", pkg{ImportPath: m("registry/client"), Deps: []string{m("storage/driver")}}, 1},
		{"client importing credstore", pkg{ImportPath: m("registry/client"), Deps: []string{m("auth/credstore")}}, 1},
		{"runtime importing client", pkg{ImportPath: m("runtime/image"), Deps: []string{m("registry/client")}}, 1},
		{"registry importing config", pkg{ImportPath: m("registry"), Deps: []string{m("registry/config")}}, 1},
		{"cmd/registry importing config", pkg{ImportPath: m("cmd/registry"), Deps: []string{m("registry/config")}}, 0},
		{"cmd/ctl importing config", pkg{ImportPath: m("cmd/ctl"), Deps: []string{m("registry/config")}}, 1},
		{"s3 driver importing aws", pkg{ImportPath: m("storage/driver/s3"), Imports: []string{"github.com/aws/aws-sdk-go-v2/service/s3"}}, 0},
		{"storage importing aws", pkg{ImportPath: m("storage"), Imports: []string{"github.com/aws/aws-sdk-go-v2/aws"}}, 1},
		{"test importing aws", pkg{ImportPath: m("storage/gc"), XTestImports: []string{"github.com/aws/aws-sdk-go-v2/aws"}}, 1},
		{"cmd/registry linking aws through s3", pkg{ImportPath: m("cmd/registry"), Deps: []string{"github.com/aws/aws-sdk-go-v2/aws"}}, 0},
		{"metrics importing prometheus", pkg{ImportPath: m("registry/metrics"), Imports: []string{"github.com/prometheus/client_golang/prometheus"}}, 0},
		{"registry importing prometheus", pkg{ImportPath: m("registry"), Imports: []string{"github.com/prometheus/client_golang/prometheus"}}, 1},
		{"outside the module", pkg{ImportPath: "example.com/x", Deps: []string{m("cmd/registry")}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := violations([]pkg{tt.pkg}); len(got) != tt.want {
				t.Errorf("got %d violations, want %d: %q", len(got), tt.want, got)
			}
		})
	}
}
