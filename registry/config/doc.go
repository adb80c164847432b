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
//	storage                                 exactly one driver: filesystem, s3 or inmemory;
//	                                        "storage: inmemory" names a driver without parameters
//	storage.filesystem.rootdirectory        required with filesystem
//	storage.s3.bucket                       required with s3
//	storage.s3.region                       required unless regionendpoint is set (us-east-1 then)
//	storage.s3.regionendpoint               URL of an S3-compatible server (http://minio:9000);
//	                                        absent: AWS. Without a scheme, https unless secure is false
//	storage.s3.accesskey, .secretkey        both or neither; neither: the AWS SDK's credential
//	                                        chain (AWS_* variables, shared files, instance role)
//	storage.s3.forcepathstyle               false; true addresses host/bucket/key (most
//	                                        S3-compatible servers need it)
//	storage.s3.secure                       true: https for an endpoint without a scheme
//	storage.s3.skipverify                   false: true skips TLS certificate verification
//	storage.s3.rootdirectory                key prefix of everything stored; absent: bucket root
//	storage.s3.chunksize                    multipart part size in bytes: 10485760 (10 MiB);
//	                                        from 5242880 (5 MiB) to 5368709120 (5 GiB)
//	storage.s3.storageclass                 STANDARD (default), REDUCED_REDUNDANCY, STANDARD_IA,
//	                                        ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, OUTPOSTS,
//	                                        or NONE (the bucket's default)
//	storage.s3.encrypt, .keyid              false; server-side encryption, aws:kms with keyid
//	                                        when set, AES256 otherwise
//	storage.s3.redirect                     Berth's; false: blob GETs are streamed through the
//	                                        registry. true: answered with 307 to a presigned URL
//	                                        (20 minutes) after the access check. Off by default,
//	                                        unlike registry:2: clients in restricted networks
//	                                        often cannot reach the bucket
//	storage.s3.partconcurrency              Berth's; 4: parts one upload sends at once (1-64);
//	                                        memory per upload is (partconcurrency+1) x chunksize
//	storage.redirect.disable                true turns storage.s3.redirect off; false alone does
//	                                        not turn it on (warning)
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
//	auth.token                              docker token authentication; absent: anonymous access.
//	                                        "auth: token" turns it on with every default
//	auth.token.realm                        absolute http(s) URL of the token endpoint; default
//	                                        http.host + /token, else this server's own /token
//	auth.token.service                      berth: service name in challenges, token audience
//	auth.token.issuer                       berth: token issuer
//	auth.token.htpasswd                     bcrypt htpasswd file of users; set, the registry
//	                                        issues tokens itself at /token
//	auth.token.signingkey                   PEM private key signing the tokens; default
//	                                        <rootdirectory>/berth/token.key, created on first
//	                                        start (in-memory storage: a new key at each start)
//	auth.token.rootcertbundle               PEM certificates trusted to sign tokens
//	auth.token.jwks                         JSON Web Key Set file of keys trusted to sign tokens
//	auth.token.expiration                   5m: lifetime of the tokens issued
//	auth.token.catalog                      who may list repositories: authenticated (default),
//	                                        anyone, none
//	auth.token.groups                       map of group -> list of accounts
//	auth.token.acl                          list of {account, name, actions} rules; absent:
//	                                        [{account: "*", name: "**", actions: ["*"]}]
//
// Without auth.token.htpasswd an external issuer signs the tokens:
// auth.token.realm and one of auth.token.rootcertbundle or auth.token.jwks
// are required, and signingkey, catalog, groups and acl are errors (the
// issuer decides access). With it, rootcertbundle and jwks add keys trusted
// besides the signing key's own (another issuer, or a key being rotated).
//
// An acl rule grants actions (pull, push, delete, or * for all three) on
// the repositories matching name to account: a name, * (any authenticated
// account), anonymous (every caller, authenticated or not), ${account}
// (the caller, with name holding ${account}) or group:NAME (the accounts of
// auth.token.groups NAME). In name, * matches within one path segment
// (team/* matches team/app, not team/a/b), ** one or more segments
// (library/** matches library/a/b) and ${account} the caller's account. A
// caller gets the union of the rules that match; none matching, nothing.
// The syntax is checked here; package auth/acl compiles and applies the
// rules:
//
//	auth:
//	  token:
//	    htpasswd: /etc/berth/htpasswd
//	    groups: {admins: [alice, bob]}
//	    acl:
//	      - {account: group:admins, name: "**", actions: ["*"]}
//	      - {account: "${account}", name: "${account}/**", actions: [pull, push]}
//	      - {account: "*", name: "library/**", actions: [pull]}
//	      - {account: anonymous, name: "public/**", actions: [pull]}
//
// Ignored, with a warning: log.accesslog, log.hooks, log.reportcaller,
// storage.filesystem.maxthreads, storage.s3.v4auth (always SigV4),
// storage.s3.multipartcopychunksize, storage.s3.multipartcopymaxconcurrency,
// storage.s3.multipartcopythresholdsize, storage.s3.usedualstack,
// storage.s3.accelerate, storage.s3.loglevel, storage.s3.objectacl (the
// bucket's default ACL applies), storage.s3.useragent,
// storage.s3.checksumdisabled, storage.s3.checksumalgorithm, storage.cache,
// storage.redirect with a driver other than s3, storage.tag, http.prefix, http.secret, http.relativeurls, http.debug,
// http.http2, http.h2c, http.tls.ciphersuites, auth.token.autoredirect,
// auth.token.autoredirectpath, auth.token.signingalgorithms, middleware,
// reporting, notifications, redis, health, catalog, validation,
// compatibility, policy.
//
// Rejected: storage.s3.sessiontoken (temporary credentials come from the
// AWS SDK's credential chain instead), storage.azure, storage.gcs,
// storage.swift, storage.oss, auth.htpasswd (basic
// authentication; Berth's htpasswd is auth.token.htpasswd), auth.silly,
// http.tls.clientcas, http.tls.letsencrypt, proxy.
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
//	REGISTRY_STORAGE                        filesystem, s3 or inmemory: replaces the file's driver
//	REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY
//	REGISTRY_STORAGE_S3_BUCKET
//	REGISTRY_STORAGE_S3_REGION
//	REGISTRY_STORAGE_S3_REGIONENDPOINT
//	REGISTRY_STORAGE_S3_ACCESSKEY
//	REGISTRY_STORAGE_S3_SECRETKEY
//	REGISTRY_STORAGE_S3_FORCEPATHSTYLE
//	REGISTRY_STORAGE_S3_SECURE
//	REGISTRY_STORAGE_S3_SKIPVERIFY
//	REGISTRY_STORAGE_S3_ROOTDIRECTORY
//	REGISTRY_STORAGE_S3_CHUNKSIZE
//	REGISTRY_STORAGE_S3_STORAGECLASS
//	REGISTRY_STORAGE_S3_ENCRYPT
//	REGISTRY_STORAGE_S3_KEYID
//	REGISTRY_STORAGE_S3_REDIRECT
//	REGISTRY_STORAGE_S3_PARTCONCURRENCY
//	REGISTRY_STORAGE_REDIRECT_DISABLE
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
//	REGISTRY_AUTH                           token: turns token authentication on
//	REGISTRY_AUTH_TOKEN_REALM
//	REGISTRY_AUTH_TOKEN_SERVICE
//	REGISTRY_AUTH_TOKEN_ISSUER
//	REGISTRY_AUTH_TOKEN_HTPASSWD
//	REGISTRY_AUTH_TOKEN_SIGNINGKEY
//	REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE
//	REGISTRY_AUTH_TOKEN_JWKS
//	REGISTRY_AUTH_TOKEN_EXPIRATION
//	REGISTRY_AUTH_TOKEN_CATALOG
//
// Any REGISTRY_AUTH_TOKEN_* variable above turns token authentication on,
// as the section in the file would. A driver parameter selects that driver
// when the file names none (REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY alone
// gives filesystem storage) and is an error when the file names another:
// over the built-in configuration (filesystem), S3 from the environment
// alone takes REGISTRY_STORAGE=s3 with REGISTRY_STORAGE_S3_BUCKET and the
// rest. Variables for
// ignored keys (REGISTRY_HTTP_SECRET), REGISTRY_VERSION (the version comes
// from the file only) and unknown REGISTRY_* variables (such as Kubernetes'
// REGISTRY_PORT) are warnings; variables for rejected keys
// (REGISTRY_AUTH=htpasswd, REGISTRY_STORAGE=gcs) are errors. Map- and
// list-valued keys (log.fields, http.headers, auth.token.groups,
// auth.token.acl) are set in the file only. Values never appear in
// warnings. The package never reads the process environment itself.
package config
