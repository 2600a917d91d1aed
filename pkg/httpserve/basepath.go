package httpserve

import (
	"net/http"
	"net/url"
	"strings"
)

// BasePath is the escaped path of the base URL u that a server's URLs are
// made from (endpoint.base_url, ca.base_url), without its last "/": "" for
// none, or for a URL that does not parse.
func BasePath(u string) string {
	p, err := url.Parse(u)
	if err != nil || u == "" {
		return ""
	}
	return strings.TrimRight(p.EscapedPath(), "/")
}

// UnderBasePath serves h with basePath (BasePath) taken off the path of
// each request that starts with it: the URLs a server hands out (an ACME
// directory's, a certificate's CRL distribution point and OCSP URL) are
// under that path, and a proxy in front may pass them on as they are
// rather than strip it (tester: 404). Requests without it are served as
// they are. h itself without a base path.
func UnderBasePath(basePath string, h http.Handler) http.Handler {
	if basePath == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, stripBasePath(basePath, r))
	})
}

func stripBasePath(basePath string, r *http.Request) *http.Request {
	if !strings.HasPrefix(r.URL.EscapedPath(), basePath+"/") {
		return r
	}
	u := *r.URL
	u.RawPath = strings.TrimPrefix(r.URL.EscapedPath(), basePath)
	p, err := url.PathUnescape(u.RawPath)
	if err != nil {
		return r
	}
	u.Path = p
	r2 := r.Clone(r.Context())
	r2.URL = &u
	return r2
}
