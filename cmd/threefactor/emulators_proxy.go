package main

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// tunnelProxy is the HTTPS_PROXY of a kit with Azure. The function apps' hosts (<site>.<suffix>
// and <site>.scm.<suffix>, where the provider publishes code) and the Service Bus namespaces'
// (<namespace>.servicebus.windows.net, where the runner and dlq receive) are tunnelled to the fake
// Resource Manager, which serves them; every other CONNECT goes to its own
// destination, so that the kit's environment still reaches registries, package managers and
// anything else over HTTPS.
type tunnelProxy struct {
	srv      *http.Server
	url      string
	suffixes []string // "." + each lowercase DNS suffix of the fake's hosts
	fake     string   // the fake's host:port
}

func startTunnelProxy(fake string, suffixes ...string) (*tunnelProxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &tunnelProxy{url: "http://" + l.Addr().String(), fake: fake}
	for _, s := range suffixes {
		p.suffixes = append(p.suffixes, "."+strings.ToLower(s))
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *tunnelProxy) close() { _ = p.srv.Close() }

func (p *tunnelProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "the kit's proxy only tunnels HTTPS (CONNECT host:port)", http.StatusMethodNotAllowed)
		return
	}
	target := r.Host
	if host, _, err := net.SplitHostPort(target); err == nil && slices.ContainsFunc(p.suffixes, func(s string) bool { return strings.HasSuffix(strings.ToLower(host), s) }) {
		target = p.fake
	}
	upstream, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = upstream.Close()
		http.Error(w, "CONNECT needs HTTP/1.1", http.StatusBadRequest)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		_ = conn.Close()
		_ = upstream.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(upstream, buf); _ = upstream.Close() }) // buf first holds what the client sent early
	wg.Go(func() { _, _ = io.Copy(conn, upstream); _ = conn.Close() })
	wg.Wait()
}
