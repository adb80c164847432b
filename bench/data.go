package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"math/rand/v2"
	"time"
)

// blockSize is the period of generated content: one random block, stamped per block.
const blockSize = 1 << 20

// stampSize is how many leading bytes of each block carry its (salt, index) stamp.
const stampSize = 16

// pattern is one block of seeded random bytes. Generated content is this block repeated, with
// the first stampSize bytes of every block replaced by (salt, block index), so every block of every
// blob differs and the generator costs a memcpy per byte, not a random number.
type pattern struct {
	block []byte
}

// newPattern fills a block from a fixed seed; the same seed gives the same content every run.
func newPattern(seed uint64) *pattern {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, blockSize)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return &pattern{block: b}
}

// Reader returns size bytes of content for salt; distinct salts give distinct content.
func (p *pattern) Reader(salt uint64, size int64) io.Reader {
	return &contentReader{p: p, salt: salt, size: size}
}

// Fill writes the first len(dst) bytes of content for salt into dst.
func (p *pattern) Fill(salt uint64, dst []byte) {
	_, _ = io.ReadFull(p.Reader(salt, int64(len(dst))), dst)
}

// Digest returns the "sha256:<hex>" digest of size bytes of content for salt.
func (p *pattern) Digest(salt uint64, size int64) string {
	h := sha256.New()
	buf := make([]byte, blockSize)
	_, _ = io.CopyBuffer(struct{ io.Writer }{h}, p.Reader(salt, size), buf)
	return digestOf(h)
}

// contentReader streams generated content; see pattern.
type contentReader struct {
	p    *pattern
	salt uint64
	size int64
	off  int64
}

// Read copies at most up to the end of the current block.
func (r *contentReader) Read(b []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	in := int(r.off % blockSize)
	n := min(int64(len(b)), int64(blockSize-in), r.size-r.off)
	copy(b[:n], r.p.block[in:in+int(n)])
	if in < stampSize {
		var stamp [stampSize]byte
		binary.LittleEndian.PutUint64(stamp[0:], r.salt)
		binary.LittleEndian.PutUint64(stamp[8:], uint64(r.off/blockSize))
		copy(b[:n], stamp[in:])
	}
	r.off += n
	return int(n), nil
}

func digestOf(h hash.Hash) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// sha256Rate hashes size bytes in one goroutine with crypto/sha256 and returns bytes per second,
// the best of three tries so that other load on the machine counts as little as possible. It is
// the ceiling for a registry that hashes every pushed byte once on one core.
func sha256Rate(p *pattern, size int) float64 {
	buf := make([]byte, size)
	p.Fill(0xfeed, buf)
	sha256.Sum256(buf[:blockSize]) // warm up
	var best float64
	for range 3 {
		start := time.Now()
		sha256.Sum256(buf)
		best = max(best, float64(size)/time.Since(start).Seconds())
	}
	return best
}
