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
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	path := filepath.Join(dir, "token.pem")
	key, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	if ec, ok := key.(*ecdsa.PrivateKey); !ok || ec.Curve != elliptic.P256() {
		t.Fatalf("key is %T, want P-256", key)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %v, want 0700", di.Mode().Perm())
	}
	again, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("second call: created %v, err %v", created, err)
	}
	if !publicEqual(key.Public(), again.Public()) {
		t.Fatal("second call returned a different key")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestLoadOrCreateKeyKeepsBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("accepted a file without a key")
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key" {
		t.Fatal("the file was overwritten")
	}
}

func TestLoadPrivateKey(t *testing.T) {
	ec := newECKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pk8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(ec.Public())
	tests := []struct {
		name string
		data []byte
		alg  string // "" means refused
	}{
		{"EC SEC1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}), "ES256"},
		{"EC PKCS8", pk8(ec), "ES256"},
		{"P-384", pk8(p384), "ES384"},
		{"RSA PKCS1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), "RS256"},
		{"RSA PKCS8", pk8(rsaKey), "RS256"},
		{"Ed25519", pk8(ed), "EdDSA"},
		{"after other blocks", append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), pk8(ec)...), "ES256"},
		{"P-521", pk8(p521), ""},
		{"small RSA", pk8(small), ""},
		{"encrypted", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), ""},
		{"public key only", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), ""},
		{"not PEM", []byte("hello"), ""},
		{"corrupt", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			key, err := LoadPrivateKey(path)
			if tt.alg == "" {
				if err == nil {
					t.Fatalf("accepted %T", key)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m, err := algFor(key.Public()); err != nil || m.Alg() != tt.alg {
				t.Fatalf("alg %v, err %v; want %s", m, err, tt.alg)
			}
			if _, err := NewIssuer(key, testIssuer, testService); err != nil {
				t.Fatalf("NewIssuer: %v", err)
			}
		})
	}
	if _, err := LoadPrivateKey(filepath.Join(t.TempDir(), "missing.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}

// selfSigned returns a PEM certificate for key.
func selfSigned(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "token signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestKeySetPEM(t *testing.T) {
	ec := newECKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	pkixPEM := func(pub any) []byte {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	tests := []struct {
		name string
		data []byte
		keys []crypto.Signer // nil means refused
	}{
		{"certificate bundle", append(selfSigned(t, ec), selfSigned(t, rsaKey)...), []crypto.Signer{ec, rsaKey}},
		{"PKIX public keys", append(pkixPEM(ec.Public()), pkixPEM(ed.Public())...), []crypto.Signer{ec, ed}},
		{"RSA PUBLIC KEY", pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)}), []crypto.Signer{rsaKey}},
		{"same key twice", append(pkixPEM(ec.Public()), selfSigned(t, ec)...), []crypto.Signer{ec}},
		{"private key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPriv}), nil},
		{"empty", nil, nil},
		{"corrupt certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bundle.pem")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var ks KeySet
			err := ks.AddPEMFile(path)
			if tt.keys == nil {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ks.Len() != 2*len(tt.keys) { // thumbprint and libtrust id each
				t.Fatalf("kids = %v", ks.KeyIDs())
			}
			clk := newClock()
			v, err := NewVerifier(&ks, testIssuer, testService, testRealm)
			if err != nil {
				t.Fatal(err)
			}
			v.now = clk.now
			for _, k := range tt.keys {
				tok, _, _, err := newTestIssuer(t, k, clk).Issue("alice", nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.Authorize(t.Context(), bearerRequest(tok), nil); err != nil {
					t.Fatalf("%T key: %v", k, err)
				}
			}
		})
	}
	if err := new(KeySet).AddPEMFile(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestKeySetConflict(t *testing.T) {
	a, b := newECKey(t), newECKey(t)
	var ks KeySet
	if err := ks.Add("k1", a.Public()); err != nil {
		t.Fatal(err)
	}
	if err := ks.Add("k1", a.Public()); err != nil {
		t.Fatalf("same key again: %v", err)
	}
	if err := ks.Add("k1", b.Public()); err == nil {
		t.Fatal("kid k1 rebound to another key")
	}
	if err := ks.Add("", "not a key"); err == nil {
		t.Fatal("accepted a string as key")
	}
	if got := ks.KeyIDs(); !slices.Equal(got, []string{"k1"}) {
		t.Fatalf("kids = %v", got)
	}
}

// rfc7638N is the RSA modulus of RFC 7638's example (section 3.1), whose
// thumbprint is rfc7638Thumbprint.
const (
	rfc7638N = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF" +
		"V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9" +
		"c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1" +
		"jF44-csFCur-kEgU8awapJzKnqDKgw"
	rfc7638Thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

func TestKeySetJWKS(t *testing.T) {
	ec := newECKey(t)
	raw, _ := ec.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	ecX, ecY := b64(raw[1:33]), b64(raw[33:])
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	edX := b64(ed.Public().(ed25519.PublicKey))
	tests := []struct {
		name string
		jwks string
		kids []string // nil means refused
	}{
		{"RFC 7638 example with kid", `{"keys":[{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB","alg":"RS256","kid":"2011-04-29"}]}`, []string{"2011-04-29"}},
		{"RFC 7638 example without kid", `{"keys":[{"kty":"RSA","n":"` + rfc7638N + `","e":"AQAB"}]}`, []string{rfc7638Thumbprint}},
		{"EC and OKP", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + ecX + `","y":"` + ecY + `","kid":"ec"},{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","kid":"ed","use":"sig"}]}`, []string{"ec", "ed"}},
		{"private members ignored", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + ecX + `","y":"` + ecY + `","d":"AAAA","kid":"ec"}]}`, []string{"ec"}},
		{"encryption key skipped", `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"` + edX + `","kid":"ed"},{"kty":"EC","crv":"P-256","x":"` + ecX + `","y":"` + ecY + `","use":"enc"}]}`, []string{"ed"}},
		{"alg does not fit", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + ecX + `","y":"` + ecY + `","alg":"HS256"}]}`, nil},
		{"point off the curve", `{"keys":[{"kty":"EC","crv":"P-256","x":"` + ecX + `","y":"` + ecX + `"}]}`, nil},
		{"short coordinates", `{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`, nil},
		{"symmetric key", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`, nil},
		{"small RSA", `{"keys":[{"kty":"RSA","n":"` + rfc7638N[:100] + `","e":"AQAB"}]}`, nil},
		{"empty set", `{"keys":[]}`, nil},
		{"not JSON", `keys`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys.jwks")
			if err := os.WriteFile(path, []byte(tt.jwks), 0o644); err != nil {
				t.Fatal(err)
			}
			var ks KeySet
			err := ks.AddJWKSFile(path)
			if tt.kids == nil {
				if err == nil {
					t.Fatalf("accepted: %v", ks.KeyIDs())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, kid := range tt.kids {
				if !slices.Contains(ks.KeyIDs(), kid) {
					t.Errorf("kid %q missing from %v", kid, ks.KeyIDs())
				}
			}
		})
	}
}

func TestThumbprint(t *testing.T) {
	ec := newECKey(t)
	raw, _ := ec.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	// encoding/json sorts map keys, which is RFC 7638's canonical order.
	canon, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])})
	sum := sha256.Sum256(canon)
	if got := thumb(t, ec.Public()); got != b64(sum[:]) {
		t.Fatalf("thumbprint %s, want %s", got, b64(sum[:]))
	}
	lt, err := libtrustKeyID(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$`).MatchString(lt) {
		t.Fatalf("libtrust id %q", lt)
	}
	if _, err := Thumbprint([]byte("secret")); err == nil {
		t.Fatal("thumbprint of a symmetric key")
	}
}
