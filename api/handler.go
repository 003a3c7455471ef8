package api

import (
	"net/http"
	"net/http/httptest"
)

// handlerTransport serves requests with an http.Handler in process.
type handlerTransport struct{ h http.Handler }

// RoundTrip runs the handler and returns what it wrote.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	sreq := req.Clone(req.Context())
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = "127.0.0.1:0"
	if sreq.Host == "" {
		sreq.Host = req.URL.Host
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, sreq)
	resp := rec.Result()
	resp.Request = req
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return resp, nil
}
