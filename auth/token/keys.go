package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted for signing or verifying.
const minRSABits = 2048

// algFor returns the one JWS algorithm a public key may verify (or, for its
// private half, sign): P-256 -> ES256, P-384 -> ES384, RSA -> RS256,
// Ed25519 -> EdDSA. Other keys are refused.
func algFor(pub crypto.PublicKey) (jwt.SigningMethod, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jwt.SigningMethodES256, nil
		case elliptic.P384():
			return jwt.SigningMethodES384, nil
		}
		return nil, fmt.Errorf("unsupported EC curve %s: want P-256 or P-384", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is too small: want at least %d", k.N.BitLen(), minRSABits)
		}
		return jwt.SigningMethodRS256, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, errors.New("malformed Ed25519 public key")
		}
		return jwt.SigningMethodEdDSA, nil
	}
	return nil, fmt.Errorf("unsupported key type %T: want EC P-256/P-384, RSA or Ed25519", pub)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: the base64url
// (unpadded) SHA-256 of its canonical JWK. It is the default kid. Fails for
// key types algFor refuses.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	if _, err := algFor(pub); err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	var canon string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		raw, err := k.Bytes() // 0x04 || X || Y, each at full curve size
		if err != nil {
			return "", fmt.Errorf("thumbprint: %w", err)
		}
		n := (len(raw) - 1) / 2
		canon = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`,
			k.Curve.Params().Name, b64(raw[1:1+n]), b64(raw[1+n:]))
	case *rsa.PublicKey:
		canon = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`,
			b64(big.NewInt(int64(k.E)).Bytes()), b64(k.N.Bytes()))
	case ed25519.PublicKey:
		canon = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64(k))
	}
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:]), nil
}

// libtrustKeyID returns the key id docker's libtrust gave pub (twelve
// colon-separated groups of base32 over the SHA-256 of its PKIX form).
// Token servers built on libtrust (docker_auth, Harbor, GitLab) still put
// it in "kid", so a KeySet accepts it as a second name for the same key.
func libtrustKeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	s := strings.TrimRight(base32.StdEncoding.EncodeToString(sum[:30]), "=")
	groups := make([]string, 0, len(s)/4)
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:min(i+4, len(s))])
	}
	return strings.Join(groups, ":"), nil
}

// ParsePrivateKey parses the first private key in PEM data: PKCS#8
// ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY").
// The key must be EC P-256/P-384, RSA of 2048 bits or more, or Ed25519.
// Encrypted keys are refused.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("no PEM private key found")
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("encrypted private keys are not supported")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", block.Type, err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("unsupported private key type %T", key)
		}
		if _, err := algFor(signer.Public()); err != nil {
			return nil, err
		}
		return signer, nil
	}
}

// LoadPrivateKey reads a token signing key from a PEM file (see
// ParsePrivateKey). A missing file fails with an error matching
// fs.ErrNotExist.
func LoadPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token signing key: %w", err)
	}
	key, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("token signing key %s: %w", path, err)
	}
	return key, nil
}

// LoadOrCreateKey loads the signing key at path, or when there is no file
// there creates an EC P-256 key and writes it as PKCS#8 PEM with mode 0600
// (parent directories are created 0700). The file appears atomically: it is
// written to a temporary file beside it, synced, and linked into place, so
// two processes starting at once on shared storage end up with the same key
// (the loser of the race loads the winner's). created reports whether this
// call wrote the file.
func LoadOrCreateKey(path string) (key crypto.Signer, created bool, err error) {
	key, err = LoadPrivateKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("generate token signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, false, fmt.Errorf("encode token signing key: %w", err)
	}
	placed, err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		return nil, false, fmt.Errorf("write token signing key: %w", err)
	}
	if !placed { // someone else created it first
		key, err = LoadPrivateKey(path)
		return key, false, err
	}
	return priv, true, nil
}

// writeNew writes data to a new file at path with mode 0600, atomically:
// temp file, fsync, hard link into place (which fails if path exists),
// fsync of the directory. Where hard links are unsupported it renames
// instead. placed is false when path already existed.
func writeNew(path string, data []byte) (placed bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		if err := os.Rename(tmp, path); err != nil {
			return false, err
		}
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return false, err
		}
	}
	return true, nil
}
