package storage

import (
	"path"

	"github.com/opencontainers/go-digest"
)

// The storage tree, identical to the CNCF Distribution registry's (registry:2)
// so that either registry serves the other's directory or bucket:
//
//	/docker/registry/v2/
//	  blobs/<alg>/<first two hex>/<hex>/data                 blob (and manifest) content
//	  repositories/<name>/
//	    _layers/<alg>/<hex>/link                             blob linked into the repository
//	    _manifests/revisions/<alg>/<hex>/link                manifest in the repository
//	    _manifests/tags/<tag>/current/link                   digest the tag points at
//	    _manifests/tags/<tag>/index/<alg>/<hex>/link         every digest the tag has pointed at
//	    _uploads/<id>/data                                   bytes received so far
//	    _uploads/<id>/startedat                              RFC 3339 start time
//	    _uploads/<id>/hashstates/<alg>/<offset>              hash state after <offset> bytes
//	    _referrers/<alg>/<subject hex>/<alg>/<hex>/link      Berth: manifest whose subject is <subject>
//
// A link file holds a digest string ("sha256:..."), nothing else. Berth adds
// only the _referrers index, which registry:2 ignores (it skips names
// starting with "_" when it walks a repository).
const rootPath = "/docker/registry/v2"

func blobDataPath(d digest.Digest) string {
	hex := d.Encoded()
	return path.Join(rootPath, "blobs", d.Algorithm().String(), hex[:2], hex, "data")
}

func reposPath() string { return path.Join(rootPath, "repositories") }

func repoPath(name string) string { return path.Join(rootPath, "repositories", name) }

func layersPath(name string) string { return path.Join(repoPath(name), "_layers") }

func layerLinkPath(name string, d digest.Digest) string {
	return path.Join(repoPath(name), "_layers", d.Algorithm().String(), d.Encoded(), "link")
}

func manifestsPath(name string) string { return path.Join(repoPath(name), "_manifests") }

func revisionLinkPath(name string, d digest.Digest) string {
	return path.Join(manifestsPath(name), "revisions", d.Algorithm().String(), d.Encoded(), "link")
}

func tagsPath(name string) string { return path.Join(manifestsPath(name), "tags") }

func tagPath(name, tag string) string { return path.Join(tagsPath(name), tag) }

func tagCurrentLinkPath(name, tag string) string {
	return path.Join(tagPath(name, tag), "current", "link")
}

func tagIndexLinkPath(name, tag string, d digest.Digest) string {
	return path.Join(tagPath(name, tag), "index", d.Algorithm().String(), d.Encoded(), "link")
}

func uploadsPath(name string) string { return path.Join(repoPath(name), "_uploads") }

func uploadPath(name, id string) string { return path.Join(uploadsPath(name), id) }

func uploadDataPath(name, id string) string { return path.Join(uploadPath(name, id), "data") }

func uploadStartedAtPath(name, id string) string {
	return path.Join(uploadPath(name, id), "startedat")
}

func uploadHashStatesPath(name, id string, alg digest.Algorithm) string {
	return path.Join(uploadPath(name, id), "hashstates", alg.String())
}

func referrersPath(name string, subject digest.Digest) string {
	return path.Join(repoPath(name), "_referrers", subject.Algorithm().String(), subject.Encoded())
}

func referrerLinkPath(name string, subject, d digest.Digest) string {
	return path.Join(referrersPath(name, subject), d.Algorithm().String(), d.Encoded(), "link")
}
