// Package config loads the registry's configuration: a YAML file shaped like
// the CNCF Distribution registry's (registry:2) config.yml, so that a
// registry:2 configuration using the features Berth has loads unchanged,
// followed by REGISTRY_* environment overrides.
//
// Loading is strict. Every key of the file is one of:
//
//   - supported: parsed into Config and checked;
//   - ignored: known to registry:2 but meaningless or not implemented here;
//     Load returns a warning naming it and the caller logs it;
//   - rejected: known to registry:2 but unsafe to ignore (Berth would quietly
//     serve without authentication, or from the wrong storage); an error;
//   - unknown: an error naming the key path ("storage.filesystem.rootdir:
//     unknown key (line 7); did you mean rootdirectory?").
//
// Invalid values are errors naming the key ("log.level: \"loud\" is not one
// of debug, info, warn, error (line 3)"). Load reports every problem it
// finds, joined.
//
// # Schema
//
// Supported (defaults are those of a file that leaves the key out):
//
//	version                                 required; "0.1"
//	loglevel                                deprecated form of log.level (warning)
//	log.level                               debug, info (default), warn, error; any case
//	log.formatter                           text (default), json; logstash loads as json (warning)
//	log.fields                              map of name -> value added to every log record
//	storage                                 exactly one driver: filesystem or inmemory;
//	                                        "storage: inmemory" names a driver without parameters
//	storage.filesystem.rootdirectory        required with filesystem
//	storage.inmemory                        no parameters; content is lost on exit (tests)
//	storage.delete.enabled                  false
//	storage.maintenance.uploadpurging       enabled true, age 168h, interval 24h, dryrun false
//	storage.maintenance.readonly.enabled    only false (read-only mode is not supported yet)
//	http.addr                               127.0.0.1:5000
//	http.net                                tcp (the only choice)
//	http.host                               absolute http(s) URL of the registry
//	http.draintimeout                       30s: how long shutdown waits for requests
//	http.tls.certificate, http.tls.key      both or neither; TLS when set
//	http.tls.minimumtls                     tls1.2 (Go's default) or tls1.3
//	http.headers                            map of header -> list of values, set on responses
//
// Ignored, with a warning: log.accesslog, log.hooks, log.reportcaller,
// storage.filesystem.maxthreads, storage.cache, storage.redirect,
// storage.tag, http.prefix, http.secret, http.relativeurls, http.debug,
// http.http2, http.h2c, http.tls.ciphersuites, middleware, reporting,
// notifications, redis, health, catalog, validation, compatibility, policy.
//
// Rejected: storage.s3 ("s3 storage is not supported yet"), storage.azure,
// storage.gcs, storage.swift, storage.oss, auth.htpasswd, auth.token,
// auth.silly, http.tls.clientcas, http.tls.letsencrypt, proxy.
//
// The built-in configuration (DefaultYAML, default.yml) uses filesystem
// storage in ./data, listens on 127.0.0.1:5000 and enables delete.
//
// # Environment
//
// After the file, variables from the env slice passed to Load override it,
// named like registry:2's: REGISTRY_ followed by the key path in upper case
// with "_" for ".". An invalid value is an error naming the variable. The
// variables Berth applies are exactly:
//
//	REGISTRY_LOGLEVEL
//	REGISTRY_LOG_LEVEL
//	REGISTRY_LOG_FORMATTER
//	REGISTRY_STORAGE                        filesystem or inmemory: replaces the file's driver
//	REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY
//	REGISTRY_STORAGE_DELETE_ENABLED
//	REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_ENABLED
//	REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_AGE
//	REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_INTERVAL
//	REGISTRY_STORAGE_MAINTENANCE_UPLOADPURGING_DRYRUN
//	REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED
//	REGISTRY_HTTP_ADDR
//	REGISTRY_HTTP_NET
//	REGISTRY_HTTP_HOST
//	REGISTRY_HTTP_DRAINTIMEOUT
//	REGISTRY_HTTP_TLS_CERTIFICATE
//	REGISTRY_HTTP_TLS_KEY
//	REGISTRY_HTTP_TLS_MINIMUMTLS
//
// A driver parameter selects that driver when the file names none
// (REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY alone gives filesystem
// storage) and is an error when the file names another. Variables for
// ignored keys (REGISTRY_HTTP_SECRET), REGISTRY_VERSION (the version comes
// from the file only) and unknown REGISTRY_* variables (such as Kubernetes'
// REGISTRY_PORT) are warnings; variables for rejected keys
// (REGISTRY_AUTH=htpasswd, REGISTRY_STORAGE=s3) are errors. Map-valued keys
// (log.fields, http.headers) are set in the file only. Values never appear in
// warnings. The package never reads the process environment itself.
package config
