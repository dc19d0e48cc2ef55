package proxy

import (
	"net"
	"strings"
	"testing"
	"time"
)

// typicalHead is a browser's request header block (about 900 bytes).
var typicalHead = []byte("GET /news/2026/12/article-about-things?utm_source=x HTTP/1.1\r\n" +
	"Host: www.example-news.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Sec-GPC: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\n" +
	"Cookie: _ga=GA1.1.1234567890.1700000000; session=" + strings.Repeat("a", 200) + "; usprivacy=1YYN\r\n\r\n")

// BenchmarkClientConnScan is what watching a header block costs per
// request: the scan of one browser's header block, read in one piece.
func BenchmarkClientConnScan(b *testing.B) {
	c := &clientConn{}
	b.SetBytes(int64(len(typicalHead)))
	b.ReportAllocs()
	for b.Loop() {
		c.watch, c.lead, c.last = true, true, [3]byte{}
		c.scan(typicalHead)
		if c.watch || c.bad {
			b.Fatal("the block's end was not found")
		}
	}
}

// BenchmarkClientConnWrite compares a 6 KB write to a loopback TCP
// connection directly and through a clientConn, which sets a write
// deadline before it.
func BenchmarkClientConnWrite(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	p := make([]byte, 6<<10)
	for _, bc := range []struct {
		name string
		c    net.Conn
	}{{"direct", raw}, {"clientConn", &clientConn{Conn: raw, writeIdle: 30 * time.Second}}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.c.Write(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
