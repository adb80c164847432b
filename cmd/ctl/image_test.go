package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// lines splits output into its lines.
func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

// configDigest is img's config digest.
func configDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPullOutput(t *testing.T) {
	reg := newTestRegistry(t)
	img := randomImage(t, 2048, 3)
	dgst := reg.push(t, "team/app:v1", img)
	e := newTestEnv(t)

	out := e.ok("", "pull", reg.ref("team/app:v1"))
	got := lines(out)
	if got[0] != "v1: Pulling from team/app" {
		t.Errorf("first line %q", got[0])
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		for _, step := range []string{"Download complete", "Pull complete"} {
			if want := d.Hex[:12] + ": " + step; !strings.Contains(out, want+"\n") {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	}
	if strings.Contains(out, "Downloading") {
		t.Errorf("plain output shows byte counts:\n%s", out)
	}
	tail := got[len(got)-3:]
	want := []string{
		"Digest: " + dgst.String(),
		"Status: Downloaded newer image for " + reg.ref("team/app:v1"),
		reg.ref("team/app:v1"),
	}
	if strings.Join(tail, "\n") != strings.Join(want, "\n") {
		t.Errorf("last lines\n%s\nwant\n%s", strings.Join(tail, "\n"), strings.Join(want, "\n"))
	}

	again := lines(e.ok("", "pull", reg.ref("team/app:v1")))
	if s := again[len(again)-2]; s != "Status: Image is up to date for "+reg.ref("team/app:v1") {
		t.Errorf("second pull: %q", s)
	}
	if out := e.ok("", "pull", "-q", reg.ref("team/app:v1")); out != reg.ref("team/app:v1")+"\n" {
		t.Errorf("pull -q: %q", out)
	}
}

func TestPullDefaultTagAndDigest(t *testing.T) {
	reg := newTestRegistry(t)
	dgst := reg.push(t, "app:latest", randomImage(t, 512, 1))
	e := newTestEnv(t)
	out := e.ok("", "pull", reg.ref("app"))
	if !strings.HasPrefix(out, "Using default tag: latest\nlatest: Pulling from app\n") {
		t.Errorf("pull without tag:\n%s", out)
	}
	byDigest := reg.ref("app@" + dgst.String())
	out = e.ok("", "pull", byDigest)
	if !strings.HasPrefix(out, dgst.String()+": Pulling from app\n") || !strings.HasSuffix(out, byDigest+"\n") {
		t.Errorf("pull by digest:\n%s", out)
	}
}

func TestPullAllTags(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "multi:a", randomImage(t, 256, 1))
	reg.push(t, "multi:b", randomImage(t, 256, 1))
	e := newTestEnv(t)
	out := e.ok("", "pull", "-a", reg.ref("multi"))
	for _, want := range []string{"a: Pulling from multi", "b: Pulling from multi",
		"Status: Downloaded newer image for " + reg.ref("multi")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	imgs := e.ok("", "images", "--format", "{{.Tag}}")
	if imgs != "a\nb\n" {
		t.Errorf("images: %q", imgs)
	}
	e.fails("tag can't be used with --all-tags/-a", "pull", "-a", reg.ref("multi:a"))
}

func TestImagesColumns(t *testing.T) {
	reg := newTestRegistry(t)
	img, err := mutate.CreatedAt(randomImage(t, 3000, 2), v1.Time{Time: time.Now().Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dgst := reg.push(t, "team/app:v1", img)
	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))
	id := configDigest(t, img)

	out := lines(e.ok("", "images"))
	if len(out) != 2 {
		t.Fatalf("images:\n%s", strings.Join(out, "\n"))
	}
	header := regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`)
	if !header.MatchString(out[0]) {
		t.Errorf("header %q", out[0])
	}
	fields := regexp.MustCompile(`\s{3,}`).Split(out[1], -1)
	want := []string{reg.ref("team/app"), "v1", id.Hex[:12], "2 hours ago"}
	if len(fields) != 5 || strings.Join(fields[:4], "|") != strings.Join(want, "|") {
		t.Errorf("row %q, want %q and a size", out[1], want)
	}
	if !regexp.MustCompile(`^\d+(\.\d+)?kB$`).MatchString(fields[len(fields)-1]) {
		t.Errorf("size %q, want kB", fields[len(fields)-1])
	}
	// Columns line up under the header, docker's way.
	if strings.Index(out[0], "TAG") != strings.Index(out[1], "v1") {
		t.Errorf("columns not aligned:\n%s\n%s", out[0], out[1])
	}

	if got := e.ok("", "images", "-q"); got != id.Hex[:12]+"\n" {
		t.Errorf("images -q: %q", got)
	}
	if got := e.ok("", "images", "--digests"); !strings.Contains(got, "DIGEST") || !strings.Contains(got, dgst.String()) {
		t.Errorf("images --digests:\n%s", got)
	}
	if got := e.ok("", "images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"); got != reg.ref("team/app:v1")+" "+id.Hex[:12]+"\n" {
		t.Errorf("images --format: %q", got)
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(e.ok("", "images", "--format", "json")), &row); err != nil || row["Tag"] != "v1" {
		t.Errorf("images --format json: %v %v", row, err)
	}
	if got := e.ok("", "images", "--format", "table {{.Tag}}\t{{.Size}}"); !strings.HasPrefix(got, "TAG") {
		t.Errorf("table format: %q", got)
	}
	if got := e.ok("", "images", reg.ref("team/other")); len(lines(got)) != 1 {
		t.Errorf("images filtered by another repository:\n%s", got)
	}
	e.fails("invalid --format", "images", "--format", "{{.Nope}}")
}

func TestTagRmiPrune(t *testing.T) {
	reg := newTestRegistry(t)
	img := randomImage(t, 1024, 2)
	reg.push(t, "team/app:v1", img)
	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))

	e.ok("", "tag", reg.ref("team/app:v1"), "mine:latest")
	id := configDigest(t, img).Hex[:12]
	e.ok("", "tag", id, "byid:1")
	if got := e.ok("", "images", "--format", "{{.Repository}}:{{.Tag}}"); got != "byid:1\n"+reg.ref("team/app:v1")+"\nmine:latest\n" &&
		got != "mine:latest\nbyid:1\n"+reg.ref("team/app:v1")+"\n" {
		// Same created time: any order of the three is docker's.
		if len(lines(got)) != 3 {
			t.Errorf("images after tag:\n%s", got)
		}
	}
	e.fails("no such image: nothere", "tag", "nothere", "x:1")

	// An ID naming several images needs -f.
	r := e.run("", "rmi", id)
	if r.code != 1 || !strings.Contains(r.stderr, "conflict") {
		t.Errorf("rmi by shared ID: %+v", r)
	}
	if got := e.ok("", "rmi", "mine"); got != "Untagged: mine:latest\n" {
		t.Errorf("rmi mine: %q", got)
	}
	// rmi goes on past an unknown image and fails at the end.
	r = e.run("", "rmi", "nothere", "byid:1")
	if r.code != 1 || r.stdout != "Untagged: byid:1\n" || r.stderr != "Error: no such image: nothere\n" {
		t.Errorf("rmi nothere byid:1: %+v", r)
	}
	e.ok("", "rmi", "-f", "nothere")
	if got := e.ok("", "rmi", "-f", id); got != "Untagged: "+reg.ref("team/app:v1")+"\n" {
		t.Errorf("rmi -f id: %q", got)
	}
	if got := e.ok("", "images", "-q"); got != "" {
		t.Errorf("images after rmi: %q", got)
	}
	out := e.ok("", "image", "prune", "-f")
	if !strings.Contains(out, "Deleted Images:") || !strings.Contains(out, "Total reclaimed space: ") {
		t.Errorf("prune:\n%s", out)
	}
	if out := e.ok("n\n", "image", "prune"); !strings.Contains(out, "Are you sure you want to continue? [y/N]") ||
		strings.Contains(out, "Total reclaimed") {
		t.Errorf("prune answered no:\n%s", out)
	}
	blobs, _ := os.ReadDir(filepath.Join(e.root, "content", "blobs", "sha256"))
	if len(blobs) != 0 {
		t.Errorf("%d blobs left after prune", len(blobs))
	}
}

func TestPushAndCopy(t *testing.T) {
	reg := newTestRegistry(t)
	other := newTestRegistry(t)
	img := randomImage(t, 1024, 2)
	dgst := reg.push(t, "team/app:v1", img)
	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))
	e.ok("", "tag", reg.ref("team/app:v1"), other.ref("pushed/app:v2"))

	out := e.ok("", "push", other.ref("pushed/app:v2"))
	if !strings.HasPrefix(out, "The push refers to repository ["+other.ref("pushed/app")+"]\n") {
		t.Errorf("push output:\n%s", out)
	}
	if !strings.Contains(out, ": Pushed\n") {
		t.Errorf("push shows no layer pushed:\n%s", out)
	}
	if last := lines(out)[len(lines(out))-1]; !regexp.MustCompile(`^v2: digest: ` + dgst.String() + ` size: \d+$`).MatchString(last) {
		t.Errorf("push last line %q", last)
	}
	remoteDigest(t, other.ref("pushed/app:v2"), dgst)
	if out := e.ok("", "push", other.ref("pushed/app:v2")); !strings.Contains(out, "Layer already exists") {
		t.Errorf("second push:\n%s", out)
	}
	e.fails("an image does not exist locally with the tag: "+other.ref("pushed/none"), "push", other.ref("pushed/none:v1"))

	out = e.ok("", "copy", reg.ref("team/app:v1"), other.ref("copied/app"))
	if last := lines(out)[len(lines(out))-1]; !strings.HasPrefix(last, "v1: digest: "+dgst.String()) {
		t.Errorf("copy output:\n%s", out)
	}
	remoteDigest(t, other.ref("copied/app:v1"), dgst)
	reg.push(t, "team/app:v2", randomImage(t, 256, 1))
	if out := e.ok("", "copy", "-q", "-a", reg.ref("team/app"), other.ref("all/app")); out != other.ref("all/app:v1")+"\n"+other.ref("all/app:v2")+"\n" {
		t.Errorf("copy -a -q: %q", out)
	}
	before := e.storeSnapshot()
	e.fails("manifest unknown", "copy", reg.ref("team/app:nope"), other.ref("x/y:z"))
	if after := e.storeSnapshot(); strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Error("copy touched the local store")
	}
}

// remoteDigest checks that ref resolves to want at its registry.
func remoteDigest(t *testing.T, ref string, want v1.Hash) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	if d.Digest != want {
		t.Errorf("%s is %s, want %s", ref, d.Digest, want)
	}
}

func TestSaveLoad(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "team/app:v1", randomImage(t, 1024, 2))
	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))
	archive := filepath.Join(t.TempDir(), "app.tar")
	if out := e.ok("", "save", "-o", archive, reg.ref("team/app:v1")); out != "" {
		t.Errorf("save printed %q", out)
	}
	if fi, err := os.Stat(archive); err != nil || fi.Size() == 0 {
		t.Fatalf("archive: %v", err)
	}
	e.fails("no such image", "save", "-o", filepath.Join(t.TempDir(), "x.tar"), "nothere")
	if entries, _ := os.ReadDir(filepath.Dir(archive)); len(entries) != 1 {
		t.Errorf("save left files behind: %v", entries)
	}

	fresh := newTestEnv(t)
	if out := fresh.ok("", "load", "-i", archive); out != "Loaded image: "+reg.ref("team/app:v1")+"\n" {
		t.Errorf("load: %q", out)
	}
	if got := fresh.ok("", "images", "--format", "{{.Repository}}:{{.Tag}}"); got != reg.ref("team/app:v1")+"\n" {
		t.Errorf("images after load: %q", got)
	}
	// Save to stdout, load from stdin.
	b := []byte(e.ok("", "save", reg.ref("team/app:v1")))
	third := newTestEnv(t)
	if out := third.ok(string(b), "load"); !strings.HasPrefix(out, "Loaded image: ") {
		t.Errorf("load from stdin: %q", out)
	}
	before := third.storeSnapshot()
	garbage := filepath.Join(t.TempDir(), "garbage.tar")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("garbage ", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
	third.fails("invalid archive", "load", "-i", garbage)
	r := third.run("this is not a tar", "load")
	if r.code != 1 {
		t.Errorf("load of garbage: %+v", r)
	}
	if after := third.storeSnapshot(); strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Errorf("failed loads changed the store:\n%v\n%v", before, after)
	}
}

func TestInspect(t *testing.T) {
	reg := newTestRegistry(t)
	img := randomImage(t, 1024, 2)
	dgst := reg.push(t, "team/app:v1", img)
	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))

	var got []map[string]any
	if err := json.Unmarshal([]byte(e.ok("", "inspect", reg.ref("team/app:v1"))), &got); err != nil || len(got) != 1 {
		t.Fatalf("inspect: %v %v", got, err)
	}
	if got[0]["Id"] != configDigest(t, img).String() {
		t.Errorf("Id %v, want the config digest", got[0]["Id"])
	}
	if tags, _ := got[0]["RepoTags"].([]any); len(tags) != 1 || tags[0] != reg.ref("team/app:v1") {
		t.Errorf("RepoTags %v", got[0]["RepoTags"])
	}
	if digests, _ := got[0]["RepoDigests"].([]any); len(digests) != 1 || digests[0] != reg.ref("team/app@"+dgst.String()) {
		t.Errorf("RepoDigests %v", got[0]["RepoDigests"])
	}
	for _, f := range []string{"{{.ID}}", "{{.Id}}", "{{index .RepoDigests 0 | len | printf \"%d\"}} {{.Id}}"} {
		want := configDigest(t, img).String() + "\n"
		if strings.HasPrefix(f, "{{index") {
			want = fmt.Sprint(len(reg.ref("team/app@"+dgst.String()))) + " " + want
		}
		if out := e.ok("", "inspect", "-f", f, reg.ref("team/app:v1")); out != want {
			t.Errorf("inspect -f %s: %q, want %q", f, out, want)
		}
	}
	e.fails("invalid --format", "inspect", "-f", "{{.Nope}}", reg.ref("team/app:v1"))
	r := e.run("", "inspect", reg.ref("team/app:v1"), "nothere")
	if r.code != 1 || r.stderr != "Error: no such image: nothere\n" || !strings.HasPrefix(r.stdout, "[") {
		t.Errorf("inspect with an unknown image: %+v", r)
	}

	var m map[string]any
	if err := json.Unmarshal([]byte(e.ok("", "inspect", "--remote", reg.ref("team/app:v1"))), &m); err != nil || m["config"] == nil {
		t.Errorf("inspect --remote: %v %v", m, err)
	}
}

func TestSearch(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "team/app:v1", randomImage(t, 128, 1))
	reg.push(t, "team/web:v1", randomImage(t, 128, 1))
	reg.push(t, "other/db:v1", randomImage(t, 128, 1))
	e := newTestEnv(t)
	out := e.ok("", "search", "--registry", reg.host, "TEAM")
	if out != "NAME\n"+reg.ref("team/app")+"\n"+reg.ref("team/web")+"\n" {
		t.Errorf("search:\n%s", out)
	}
	if out := e.ok("", "search", "--limit", "1", "--format", "{{.Name}}", reg.ref("team")); out != reg.ref("team/app")+"\n" {
		t.Errorf("search with host in the term: %q", out)
	}
}

func TestImageGroup(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "team/app:v1", randomImage(t, 512, 1))
	e := newTestEnv(t)
	e.ok("", "image", "pull", "-q", reg.ref("team/app:v1"))
	e.ok("", "image", "tag", reg.ref("team/app:v1"), "local:1")
	if got := e.ok("", "image", "ls", "--format", "{{.Repository}}"); len(lines(got)) != 2 {
		t.Errorf("image ls: %q", got)
	}
	if got := e.ok("", "image", "rm", "local:1"); got != "Untagged: local:1\n" {
		t.Errorf("image rm: %q", got)
	}
	out := e.ok("y\n", "image", "prune", "-a")
	for _, want := range []string{"WARNING! This will remove all images.", "Deleted Images:\nuntagged: " + reg.ref("team/app:v1") + "\ndeleted: sha256:",
		"Total reclaimed space: "} {
		if !strings.Contains(out, want) {
			t.Errorf("image prune -a lacks %q:\n%s", want, out)
		}
	}
	if got := e.ok("", "images", "-q"); got != "" {
		t.Errorf("images after prune -a: %q", got)
	}
	if out := e.ok("", "image", "prune", "-f"); out != "Total reclaimed space: 0B\n" {
		t.Errorf("prune of nothing: %q", out)
	}
}
