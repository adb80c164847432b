package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// KeySet holds the public keys tokens may be signed with, by kid. Several
// keys at once let a signing key be rotated: add the new one, then drop the
// old one once its tokens have expired. The zero value is an empty set
// ready for use; a KeySet is not safe for concurrent Adds. NewVerifier takes
// a copy, so adding to a set later does not change a Verifier built from it.
type KeySet struct {
	keys map[string]verificationKey
}

// verificationKey is a trusted public key and the one algorithm it verifies.
type verificationKey struct {
	pub    crypto.PublicKey
	method jwt.SigningMethod
}

// Add trusts pub under kid. With kid "" the key is named by its RFC 7638
// thumbprint and also, for tokens from libtrust-based token servers, by its
// libtrust key id. Fails for unsupported keys (see Thumbprint) and for a kid
// already naming a different key; adding the same key twice is harmless.
func (s *KeySet) Add(kid string, pub crypto.PublicKey) error {
	method, err := algFor(pub)
	if err != nil {
		return err
	}
	kids := []string{kid}
	if kid == "" {
		tp, err := Thumbprint(pub)
		if err != nil {
			return err
		}
		lt, err := libtrustKeyID(pub)
		if err != nil {
			return err
		}
		kids = []string{tp, lt}
	}
	for _, k := range kids {
		if old, ok := s.keys[k]; ok && !publicEqual(old.pub, pub) {
			return fmt.Errorf("kid %q already names a different key", k)
		}
	}
	if s.keys == nil {
		s.keys = make(map[string]verificationKey)
	}
	for _, k := range kids {
		s.keys[k] = verificationKey{pub: pub, method: method}
	}
	return nil
}

// publicEqual reports whether two public keys are the same key.
func publicEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// Len returns the number of kids in the set (a key added without a kid
// counts twice: its thumbprint and its libtrust id).
func (s *KeySet) Len() int { return len(s.keys) }

// KeyIDs returns the kids in the set, sorted.
func (s *KeySet) KeyIDs() []string {
	ids := make([]string, 0, len(s.keys))
	for k := range s.keys {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	return ids
}

// clone returns an independent copy of s.
func (s *KeySet) clone() *KeySet {
	c := &KeySet{keys: make(map[string]verificationKey, len(s.keys))}
	for k, v := range s.keys {
		c.keys[k] = v
	}
	return c
}

// AddPEM trusts every public key in PEM data: "PUBLIC KEY" (PKIX), "RSA
// PUBLIC KEY" (PKCS#1) and "CERTIFICATE" blocks, the last as in
// registry:2's rootcertbundle. Certificates are only key containers here:
// their validity dates and chains are not checked, and a token's own x5c
// header is never trusted. Each key is named as by Add(""). Private keys are
// refused (give the public key or a certificate); other block types are
// skipped. Fails when no key is found.
func (s *KeySet) AddPEM(data []byte) error {
	n := 0
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			pub any
			err error
		)
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				pub = cert.PublicKey
			}
		case "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return errors.New("found a private key where public keys or certificates belong")
		default:
			continue
		}
		if err != nil {
			return fmt.Errorf("parse %s block %d: %w", block.Type, n+1, err)
		}
		if err := s.Add("", pub); err != nil {
			return fmt.Errorf("%s block %d: %w", block.Type, n+1, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("no PEM public key or certificate found")
	}
	return nil
}

// AddPEMFile is AddPEM over the file at path.
func (s *KeySet) AddPEMFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("token verification keys: %w", err)
	}
	if err := s.AddPEM(data); err != nil {
		return fmt.Errorf("token verification keys %s: %w", path, err)
	}
	return nil
}

// jwk is the part of an RFC 7517 JSON Web Key this package reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// AddJWKS trusts the keys of a JSON Web Key Set ({"keys": [...]}), as in
// registry:2's jwks option: kty EC (P-256, P-384), RSA and OKP (Ed25519).
// A key is named by its "kid", or as by Add("") without one. Keys marked
// "use": "enc" are skipped; an "alg" must be the one the key type implies.
// Private members are ignored. Fails on a malformed key or an empty set.
func (s *KeySet) AddJWKS(data []byte) error {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return fmt.Errorf("parse JWKS: %w", err)
	}
	n := 0
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		pub, err := k.public()
		if err != nil {
			return fmt.Errorf("JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		if k.Alg != "" {
			if m, _ := algFor(pub); m == nil || m.Alg() != k.Alg {
				return fmt.Errorf("JWKS key %d (kid %q): alg %q does not fit a %s key", i, k.Kid, k.Alg, k.Kty)
			}
		}
		if err := s.Add(k.Kid, pub); err != nil {
			return fmt.Errorf("JWKS key %d (kid %q): %w", i, k.Kid, err)
		}
		n++
	}
	if n == 0 {
		return errors.New("JWKS holds no signing key")
	}
	return nil
}

// AddJWKSFile is AddJWKS over the file at path.
func (s *KeySet) AddJWKSFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("token verification keys: %w", err)
	}
	if err := s.AddJWKS(data); err != nil {
		return fmt.Errorf("token verification keys %s: %w", path, err)
	}
	return nil
}

// public decodes the key's public part.
func (k jwk) public() (crypto.PublicKey, error) {
	dec := base64.RawURLEncoding.DecodeString
	switch k.Kty {
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		default:
			return nil, fmt.Errorf("unsupported EC curve %q", k.Crv)
		}
		x, errX := dec(k.X)
		y, errY := dec(k.Y)
		size := (curve.Params().BitSize + 7) / 8
		if errX != nil || errY != nil || len(x) != size || len(y) != size {
			return nil, errors.New("malformed EC coordinates")
		}
		return ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	case "RSA":
		n, errN := dec(k.N)
		e, errE := dec(k.E)
		if errN != nil || errE != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("malformed RSA modulus or exponent")
		}
		exp := new(big.Int).SetBytes(e).Int64()
		if exp < 3 || exp%2 == 0 {
			return nil, errors.New("bad RSA exponent")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}, nil
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", k.Crv)
		}
		x, err := dec(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("unsupported key type %q", k.Kty)
}
