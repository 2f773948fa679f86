package server

import (
	"fmt"
	"net/http"
	"strings"
)

// ContentSecurityPolicy returns the policy sent with every response, with
// connectSources appended to connect-src. It assumes, without checking,
// that each source is a single CSP source expression; [New] validates them.
//
// Why each directive:
//   - script-src 'self' 'wasm-unsafe-eval': go-app v10's page loads only
//     external scripts (/wasm_exec.js, /app.js; no inline <script>, no
//     inline event handlers), so no hash or nonce is needed;
//     'wasm-unsafe-eval' allows WebAssembly.instantiate(Streaming) for the
//     Go app.wasm and onnxruntime's .wasm without allowing JS eval.
//   - worker-src 'self' blob:: go-app's service worker (/app-worker.js) and
//     onnxruntime-web's proxy and pthread workers, which it may start from a
//     blob: URL.
//   - connect-src 'self' + sources: fetch of app.wasm, ort-*.wasm and models.
//   - img-src/media-src blob: data: mediastream:: user images and the camera.
//   - style-src 'unsafe-inline': go-app renders style="..." attributes.
//   - object-src 'none', base-uri 'self', frame-ancestors 'none': no
//     plugins, no <base> hijack, no framing (clickjacking).
func ContentSecurityPolicy(connectSources []string) string {
	connect := "connect-src 'self'"
	if len(connectSources) > 0 {
		connect += " " + strings.Join(connectSources, " ")
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' 'wasm-unsafe-eval'",
		"worker-src 'self' blob:",
		connect,
		"img-src 'self' blob: data:",
		"media-src 'self' blob: mediastream:",
		"style-src 'self' 'unsafe-inline'",
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// contentSecurityPolicy validates sources and builds the policy. A source
// with whitespace, ';' or ',' would inject directives or split the header.
func contentSecurityPolicy(sources []string) (string, error) {
	for _, s := range sources {
		if s == "" || strings.ContainsAny(s, " \t\r\n;,\x00") || !isPrintableASCII(s) {
			return "", fmt.Errorf("invalid connect source %q", s)
		}
	}
	return ContentSecurityPolicy(sources), nil
}

// isPrintableASCII reports whether s holds only visible ASCII, the only
// bytes a header value built from it may carry safely.
func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// securityHeaders returns the headers set on every response. COOP and COEP
// make the page cross-origin isolated (SharedArrayBuffer for threaded
// wasm); CORP lets our own resources load under COEP require-corp while
// refusing other origins.
func securityHeaders(csp string) http.Header {
	return http.Header{
		"Cross-Origin-Opener-Policy":   {"same-origin"},
		"Cross-Origin-Embedder-Policy": {"require-corp"},
		"Cross-Origin-Resource-Policy": {"same-origin"},
		"X-Content-Type-Options":       {"nosniff"},
		"Content-Security-Policy":      {csp},
	}
}

// withSecurityHeaders sets the security headers before next runs, so every
// response carries them: files, pages, errors, redirects.
func withSecurityHeaders(next http.Handler, csp string) http.Handler {
	headers := securityHeaders(csp)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range headers {
			h[k] = v[:len(v):len(v)] // capped: a later Add copies, never shares
		}
		next.ServeHTTP(w, r)
	})
}
