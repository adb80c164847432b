//go:build e2e

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rawResult is what came back on a hand-written HTTP exchange: a parsed
// response, or Status 0 when the server closed the connection without one.
type rawResult struct {
	Status int
	Codes  []string
	Body   string
}

// rawRequest writes an HTTP/1.1 request byte by byte, so it can lie
// (a Content-Length that does not match the body), half-closes the
// connection when hangUp is set (the client "disappears" mid-body), and
// reads one response.
func rawRequest(t testing.TB, reg *Registry, method, target string, headers hdr, body []byte, hangUp bool) rawResult {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", reg.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, u.RequestURI(), reg.Host)
	for i := 0; i+1 < len(headers); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", headers[i], headers[i+1])
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(body); err != nil {
		t.Fatal(err)
	}
	if hangUp {
		conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawResult{} // closed without answering: acceptable for a broken request
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	r := &response{Body: rb}
	return rawResult{Status: resp.StatusCode, Codes: r.codes(), Body: string(rb)}
}
