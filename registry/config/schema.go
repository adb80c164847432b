package config

import "fmt"

// Schema constructors.

func sec(keys map[string]*node) *node { return &node{kind: section, keys: keys} }

func val(parse func(name, value string) error) *node { return &node{kind: leaf, parse: parse} }

func ignore(note string) *node { return &node{kind: ignored, note: note} }

func reject(note string) *node { return &node{kind: rejected, note: note} }

const (
	noProxy  = "the pull-through cache (proxy) is not supported yet"
	noSecret = "not needed: Berth keeps upload state in storage, not in signed tokens"
)

// schema returns every key of a registry:2 version 0.1 configuration that
// Berth knows, bound to l's Config. Keys missing here are errors.
func (l *loader) schema() *node {
	c := l.cfg
	return sec(map[string]*node{
		"version": {kind: leaf, fileOnly: true, parse: func(name, value string) error {
			l.versionSet = true
			return str(&c.Version, checkVersion)(name, value)
		}},
		"loglevel": val(func(name, value string) error {
			l.warnf("%s: deprecated; use log.level", name)
			return enum(&l.legacyLevel, "debug", "info", "warn", "error")(name, value)
		}),
		"log":           l.logSchema(),
		"storage":       l.storageSchema(),
		"http":          l.httpSchema(),
		"auth":          l.authSchema(),
		"proxy":         reject(noProxy),
		"middleware":    ignore("middleware is not supported"),
		"reporting":     ignore("error reporting (bugsnag, newrelic) is not supported"),
		"notifications": ignore("notifications are not supported"),
		"redis":         ignore("Berth does not use redis"),
		"health":        ignore("health checks are not configurable; GET /healthz reports health"),
		"catalog":       ignore("the catalog page size is not configurable"),
		"validation":    ignore("manifest URL validation is not supported"),
		"compatibility": ignore("schema1 manifests are not supported"),
		"policy":        ignore("repository policies are not supported"),
	})
}

func (l *loader) logSchema() *node {
	c := &l.cfg.Log
	return sec(map[string]*node{
		"level": val(func(name, value string) error {
			l.levelSet = true
			return enum(&c.Level, "debug", "info", "warn", "error")(name, value)
		}),
		"formatter": val(func(name, value string) error {
			if err := enum(&c.Formatter, "text", "json", "logstash")(name, value); err != nil {
				return err
			}
			if c.Formatter == "logstash" {
				l.warnf("%s: logstash is written as json", name)
				c.Formatter = "json"
			}
			return nil
		}),
		"fields":       {kind: mapping, decode: fields(&c.Fields)},
		"accesslog":    ignore("Berth writes no separate access log"),
		"hooks":        ignore("log hooks are not supported"),
		"reportcaller": ignore("caller reporting is not supported"),
	})
}

func (l *loader) storageSchema() *node {
	s := &l.cfg.Storage
	p := &s.Maintenance.UploadPurging
	drivers := map[string]*node{
		"filesystem": {kind: section, driver: DriverFilesystem, keys: map[string]*node{
			"rootdirectory": val(str(&s.Filesystem.RootDirectory, checkNotEmpty)),
			"maxthreads":    ignore("Berth does not limit filesystem threads"),
		}},
		"inmemory": {kind: section, driver: DriverInMemory, keys: map[string]*node{}},
		"s3":       l.s3Schema(),
	}
	for _, name := range []string{"azure", "gcs", "swift", "oss"} {
		drivers[name] = reject(fmt.Sprintf("%s storage is not supported; use filesystem or s3", name))
	}
	keys := map[string]*node{
		"delete": sec(map[string]*node{"enabled": val(boolean(&s.Delete.Enabled))}),
		"maintenance": sec(map[string]*node{
			"uploadpurging": sec(map[string]*node{
				"enabled":  val(boolean(&p.Enabled)),
				"age":      val(duration(&p.Age)),
				"interval": val(duration(&p.Interval)),
				"dryrun":   val(boolean(&p.DryRun)),
			}),
			"readonly": sec(map[string]*node{"enabled": val(func(name, value string) error {
				if on, err := parseBool(value); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				} else if on {
					return fmt.Errorf("%s: read-only mode is not supported yet; remove it or set false", name)
				}
				return nil
			})}),
		}),
		"cache": ignore("Berth keeps no blob descriptor cache"),
		"redirect": sec(map[string]*node{"disable": val(func(name, value string) error {
			l.redirectSet = true
			return boolean(&s.Redirect.Disable)(name, value)
		})}),
		"tag": ignore("tag lookup concurrency is not configurable"),
	}
	choices := []string{"filesystem", "inmemory", "s3", "azure", "gcs", "swift", "oss"}
	for _, name := range choices {
		keys[name] = drivers[name]
	}
	return &node{kind: section, keys: keys, choices: choices}
}

// s3Schema is "storage.s3": registry:2's keys, plus Berth's redirect and
// partconcurrency.
func (l *loader) s3Schema() *node {
	c := &l.cfg.Storage.S3
	const fixedCopy = "Berth copies large objects in fixed 512 MiB parts, 8 at a time"
	return &node{kind: section, driver: DriverS3, keys: map[string]*node{
		"bucket":          val(str(&c.Bucket, checkNotEmpty)),
		"region":          val(str(&c.Region, nil)),
		"regionendpoint":  val(str(&c.RegionEndpoint, checkEndpoint)),
		"accesskey":       val(str(&c.AccessKey, nil)),
		"secretkey":       val(str(&c.SecretKey, nil)),
		"forcepathstyle":  val(boolean(&c.ForcePathStyle)),
		"secure":          val(boolean(&c.Secure)),
		"skipverify":      val(boolean(&c.SkipVerify)),
		"rootdirectory":   val(str(&c.RootDirectory, nil)),
		"chunksize":       val(integer(&c.ChunkSize, checkChunkSize)),
		"storageclass":    val(str(&c.StorageClass, checkStorageClass)),
		"encrypt":         val(boolean(&c.Encrypt)),
		"keyid":           val(str(&c.KeyID, nil)),
		"redirect":        val(boolean(&c.Redirect)),
		"partconcurrency": val(intValue(&c.PartConcurrency, checkPartConcurrency)),
		"sessiontoken": reject("temporary credentials are not supported in the configuration; " +
			"remove accesskey, secretkey and sessiontoken and set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN instead"),
		"v4auth":                      ignore("requests are always signed with AWS Signature Version 4"),
		"multipartcopychunksize":      ignore(fixedCopy),
		"multipartcopymaxconcurrency": ignore(fixedCopy),
		"multipartcopythresholdsize":  ignore("Berth copies objects up to 5 GiB with one request"),
		"usedualstack":                ignore("dual-stack endpoints are not supported; set regionendpoint to one"),
		"accelerate":                  ignore("transfer acceleration is not supported; set regionendpoint to the accelerate endpoint"),
		"loglevel":                    ignore("S3 requests are not logged"),
		"objectacl":                   ignore("objects get the bucket's default ACL"),
		"useragent":                   ignore("the user agent is the AWS SDK's"),
		"checksumdisabled":            ignore("checksums are sent only where S3 requires them"),
		"checksumalgorithm":           ignore("checksums are sent only where S3 requires them"),
	}}
}

func (l *loader) httpSchema() *node {
	h := &l.cfg.HTTP
	return sec(map[string]*node{
		"addr":         val(str(&h.Addr, checkAddr)),
		"net":          val(str(&h.Net, checkNet)),
		"host":         val(str(&h.Host, checkHost)),
		"draintimeout": val(duration(&h.DrainTimeout)),
		"headers":      {kind: mapping, decode: headers(&h.Headers)},
		"tls": sec(map[string]*node{
			"certificate":  val(str(&h.TLS.Certificate, nil)),
			"key":          val(str(&h.TLS.Key, nil)),
			"minimumtls":   val(str(&h.TLS.MinimumTLS, checkMinTLS)),
			"ciphersuites": ignore("Go's default cipher suites are used"),
			"clientcas":    reject("client certificate authentication is not supported yet, and Berth will not serve without it; remove clientcas to accept any client"),
			"letsencrypt":  reject("Let's Encrypt is not supported; set http.tls.certificate and http.tls.key"),
		}),
		"prefix":       ignore("Berth serves the API at /v2/ only"),
		"secret":       ignore(noSecret),
		"relativeurls": ignore("Location URLs are not configurable"),
		"debug":        ignore("the debug server is not supported"),
		"http2":        ignore("HTTP/2 is negotiated over TLS as Go's server does"),
		"h2c":          ignore("cleartext HTTP/2 is not supported"),
	})
}
