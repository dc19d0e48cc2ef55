package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// nginxCommon is the part of both nginx configs that keeps nginx inside its
// directory and off the disk's logs: one worker, no access log, every temp
// path under DIR.
const nginxCommon = `worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid {{DIR}}/nginx.pid;
error_log {{DIR}}/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path {{DIR}}/tmp/body;
  proxy_temp_path {{DIR}}/tmp/proxy;
  fastcgi_temp_path {{DIR}}/tmp/fastcgi;
  uwsgi_temp_path {{DIR}}/tmp/uwsgi;
  scgi_temp_path {{DIR}}/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  types { text/html html; application/octet-stream bin; }
  default_type application/octet-stream;
`

// nginxOrigin serves the harness pages from files, the gzip page through
// gzip_static.
const nginxOrigin = nginxCommon + `  sendfile on;
  tcp_nopush on;
  server {
    listen {{LISTEN}};
    root {{DIR}}/www;
    location /gz/ { gzip_static always; }
  }
}
`

// nginxProxy is a plain proxy_pass peer with upstream keep-alive.
const nginxProxy = nginxCommon + `  upstream origin {
    server {{UPSTREAM}};
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen {{LISTEN}};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_max_temp_file_size 0;
    }
  }
}
`

// startNginx writes conf (with {{DIR}}, {{LISTEN}} and {{UPSTREAM}} filled)
// into dir and runs nginx on it in the foreground.
func startNginx(ctx context.Context, bin, name, dir, conf, listen, upstream string) (*proc, error) {
	for _, d := range []string{"tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	r := strings.NewReplacer("{{DIR}}", dir, "{{LISTEN}}", listen, "{{UPSTREAM}}", upstream)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(r.Replace(conf)), 0o644); err != nil {
		return nil, err
	}
	if out, err := exec.Command(bin, "-t", "-q", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", file).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("nginx -t %s: %v\n%s", file, err, out)
	}
	p, err := start(name, filepath.Join(dir, "stderr.log"), bin, "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", file)
	if err != nil {
		return nil, err
	}
	return p, p.waitListen(ctx, listen, 10*time.Second)
}

// writeSite writes the pages an nginx origin serves under dir/www, readable
// by nginx's unprivileged workers.
func writeSite(dir string, files map[string][]byte) error {
	for name, b := range files {
		f := filepath.Join(dir, "www", name)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func toolVersion(bin string, args ...string) string {
	if bin == "" {
		return "not installed"
	}
	out, _ := exec.Command(bin, args...).CombinedOutput()
	v, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if i := strings.Index(v, " Copyright"); i > 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}
