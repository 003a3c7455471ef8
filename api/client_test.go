package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api"
)

func TestNewBaseURL(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		wantErr string // empty: accepted
	}{
		{"HTTPSAccepted", "https://api.imagekit.io", ""},
		{"HTTPSWithPathAccepted", "https://proxy.example.com/imagekit/", ""},
		{"HTTPLoopbackIPv4Accepted", "http://127.0.0.1:8080", ""},
		{"HTTPLoopbackRangeAccepted", "http://127.3.2.1", ""},
		{"HTTPLocalhostAccepted", "http://localhost:9000", ""},
		{"HTTPLoopbackIPv6Accepted", "http://[::1]:9000", ""},
		{"HTTPRemoteRefused", "http://api.imagekit.io", "use https://"},
		{"HTTPPrivateAddressRefused", "http://10.0.0.5:8080", "loopback"},
		{"RelativeRefused", "api.imagekit.io/v1", "absolute http(s)"},
		{"OtherSchemeRefused", "ftp://api.imagekit.io", "absolute http(s)"},
		{"EmptyRefused", "", "absolute http(s)"},
		{"CredentialsRefused", "https://user:secretpw@api.imagekit.io", "must not carry credentials"},
		{"QueryRefused", "https://api.imagekit.io/?x=1", "query"},
		{"UnparsableRefused", "https://api.imagekit.io/%zz", "invalid API base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := api.New(api.WithBaseURL(tt.url))
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.NotEmpty(t, c.BaseURL())
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "secretpw")
		})
	}
}

func TestBaseURLEndingInV1(t *testing.T) {
	tests := []struct {
		name, suffix string
	}{
		{"Bare", ""},
		{"TrailingSlash", "/"},
		{"V1", "/v1"},
		{"V1Slash", "/v1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{handlers: []http.HandlerFunc{answer(200, []any{})}}
			srv := httptest.NewServer(rec)
			t.Cleanup(srv.Close)
			c, err := api.New(api.WithBaseURL(srv.URL+tt.suffix), api.WithRate(0, 0))
			require.NoError(t, err)
			assert.Equal(t, srv.URL, c.BaseURL())
			_, err = c.ListPage(context.Background(), api.ListParams{})
			require.NoError(t, err)
			require.Len(t, rec.Requests(), 1)
			assert.Equal(t, "/v1/files", rec.Requests()[0].Path)
		})
	}
	t.Run("BelowAPrefix", func(t *testing.T) {
		c, err := api.New(api.WithBaseURL("https://proxy.example.com/imagekit/v1/"))
		require.NoError(t, err)
		assert.Equal(t, "https://proxy.example.com/imagekit", c.BaseURL())
	})
}

func TestShortKeysAreRefused(t *testing.T) {
	tests := []struct{ key, want string }{
		{"Q", "private key refused: 1 character is too short"},
		{"Q234567", "private key refused: 7 characters is too short"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dCharacters", len(tt.key)), func(t *testing.T) {
			_, err := api.New(api.WithPrivateKey(tt.key))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), tt.key)
		})
	}
	t.Run("EightCharactersAccepted", func(t *testing.T) {
		_, err := api.New(api.WithPrivateKey("12345678"))
		require.NoError(t, err)
	})
}

func TestRequestHeaders(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{answer(200, []any{})},
		api.WithPrivateKey("private_abc"), api.WithUserAgent("tagprune/1.2.3"))
	_, err := c.ListPage(context.Background(), api.ListParams{})
	require.NoError(t, err)
	reqs := rec.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("private_abc:")), reqs[0].Auth)
	assert.Equal(t, "tagprune/1.2.3", reqs[0].UserAgent)
}

func TestErrorsNameNoFlagOrCommand(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := srv.URL
	srv.Close()
	advice := regexp.MustCompile(`--[a-z]|IMAGEKIT_|re-plan|re-run|raise the|tagprune`)
	unreachable, err := api.New(api.WithBaseURL(closed), api.WithRate(0, 0), api.WithClock(newFakeClock()))
	require.NoError(t, err)
	_, err = unreachable.Details(context.Background(), "f1")
	require.ErrorIs(t, err, api.ErrTransport)
	errs := []error{err}
	for _, status := range []int{301, 400, 401, 403, 404, 422, 429, 500, 503} {
		c, _, _ := serve(t, []http.HandlerFunc{answer(status, errBody("no"), "X-RateLimit-Reset", "1")},
			api.WithRetry(api.RetryPolicy{MaxAttempts: 1}))
		_, err := c.RemoveTags(context.Background(), []string{"f1"}, []string{"x"})
		require.Error(t, err)
		errs = append(errs, err)
	}
	c, _, _ := serve(t, []http.HandlerFunc{answer(200, "<html>")})
	_, err = c.ListPage(context.Background(), api.ListParams{})
	errs = append(errs, err)
	for _, err := range errs {
		assert.NotRegexp(t, advice, err.Error())
	}
}

// bulkCall is one of the client's bulk tag calls, as the tests drive it.
type bulkCall struct {
	name  string
	path  string
	key   string // the body's list of values
	run   func(c *api.Client, ctx context.Context, ids, values []string) (api.BulkResult, error)
	count func(api.Stats) int64
}

var bulkCalls = []bulkCall{
	{"RemoveTags", "/v1/files/removeTags", "tags", (*api.Client).RemoveTags, func(s api.Stats) int64 { return s.RemoveTags }},
	{"AddTags", "/v1/files/addTags", "tags", (*api.Client).AddTags, func(s api.Stats) int64 { return s.AddTags }},
	{"RemoveAITags", "/v1/files/removeAITags", "AITags", (*api.Client).RemoveAITags, func(s api.Stats) int64 { return s.RemoveAITags }},
}

func TestBulkCallAnswers(t *testing.T) {
	ids := []string{"f1", "f2", "f3"}
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantResult api.RemoveTagsResult
		wantKind   error // nil: success or partial
		wantErr    string
		check      func(t *testing.T, err error)
	}{
		{
			name:       "OKReturnsUpdatedIDs",
			handler:    answer(200, map[string]any{"successfullyUpdatedFileIds": ids}),
			wantResult: api.RemoveTagsResult{StatusCode: 200, Succeeded: ids, Attempts: 1},
		},
		{
			name: "MultiStatusKeepsFailedFiles",
			handler: answer(207, map[string]any{
				"successfullyUpdatedFileIds": []string{"f1"},
				"errors": []map[string]string{
					{"fileId": "f2", "error": "Error in removing tags"},
					{"fileId": "f3", "error": "Error in removing tags"},
				},
			}),
			wantResult: api.RemoveTagsResult{StatusCode: 207, Succeeded: []string{"f1"}, Attempts: 1, Failed: []api.FileError{
				{FileID: "f2", Error: "Error in removing tags"}, {FileID: "f3", Error: "Error in removing tags"},
			}},
			check: func(t *testing.T, err error) {
				var pe *api.PartialError
				require.ErrorAs(t, err, &pe)
				assert.Len(t, pe.Failed, 2)
				assert.Equal(t, 1, pe.Succeeded)
				assert.Contains(t, err.Error(), "f2: Error in removing tags")
			},
		},
		{
			name: "NotFoundListsMissingIDs",
			handler: answer(404, map[string]any{
				"message": "The requested file(s) does not exist.", "help": "For support kindly contact us at support@imagekit.io .",
				"missingFileIds": []string{"f2", "f3"},
			}),
			wantKind: api.ErrNotFound,
			wantErr:  "missing fileIds f2, f3",
			check: func(t *testing.T, err error) {
				var ae *api.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, []string{"f2", "f3"}, ae.MissingFileIDs)
				assert.Equal(t, 404, ae.StatusCode)
			},
		},
		{
			name:     "BadRequestKeepsMessageAndRequestID",
			handler:  answer(400, errBody("Your request contains invalid fileIds parameter."), "X-Ik-Requestid", "req-400"),
			wantKind: api.ErrBadRequest,
			wantErr:  "bad request (HTTP 400): Your request contains invalid fileIds parameter (request id req-400)",
			check: func(t *testing.T, err error) {
				var ae *api.Error
				require.ErrorAs(t, err, &ae)
				assert.Equal(t, "Your request contains invalid fileIds parameter.", ae.Message)
				assert.Equal(t, "req-400", ae.RequestID)
			},
		},
		{
			name:     "UnauthorizedIsAuth",
			handler:  answer(401, errBody("Your request does not contain private API key.")),
			wantKind: api.ErrAuth,
			wantErr:  "authentication failed (HTTP 401): Your request does not contain private API key",
		},
		{
			name:     "ForbiddenIsAuth",
			handler:  answer(403, errBody("Your account cannot be authenticated.")),
			wantKind: api.ErrAuth,
			wantErr:  "HTTP 403",
		},
		{
			name:     "OtherClientErrorIsBadRequest",
			handler:  answer(422, "unprocessable"),
			wantKind: api.ErrBadRequest,
			wantErr:  "unprocessable",
		},
		{
			name:     "NotImplementedIsServerErrorWithoutRetry",
			handler:  answer(501, errBody("not implemented")),
			wantKind: api.ErrServer,
			wantErr:  "HTTP 501",
		},
		{
			name:     "MalformedOKIsDecodeError",
			handler:  answer(200, `{"successfullyUpdatedFileIds": [`),
			wantKind: api.ErrDecode,
			wantErr:  "HTTP 200",
		},
	}
	for _, call := range bulkCalls {
		for _, tt := range tests {
			t.Run(call.name+"/"+tt.name, func(t *testing.T) {
				c, rec, _ := serve(t, []http.HandlerFunc{tt.handler})
				got, err := call.run(c, context.Background(), ids, []string{"sale", "old"})

				reqs := rec.Requests()
				require.Len(t, reqs, 1, "exactly one request, no retry")
				assert.Equal(t, http.MethodPost, reqs[0].Method)
				assert.Equal(t, call.path, reqs[0].Path)
				assert.Equal(t, "application/json", reqs[0].ContentType)
				assert.JSONEq(t, `{"fileIds":["f1","f2","f3"],"`+call.key+`":["sale","old"]}`, string(reqs[0].Body))
				assert.Equal(t, int64(1), call.count(c.Stats()))

				if tt.wantKind == nil {
					if diff := cmp.Diff(tt.wantResult, got); diff != "" {
						t.Errorf("result (-want +got):\n%s", diff)
					}
					if got.StatusCode == 200 {
						require.NoError(t, err)
					}
				} else {
					require.ErrorIs(t, err, tt.wantKind)
					var ae *api.Error
					require.ErrorAs(t, err, &ae)
					assert.Equal(t, 1, ae.Attempts)
					assert.Contains(t, err.Error(), call.path)
				}
				if tt.wantErr != "" {
					assert.Contains(t, err.Error(), tt.wantErr)
				}
				if tt.check != nil {
					tt.check(t, err)
				}
			})
		}
	}
}

func TestBulkCallsRefusedLocally(t *testing.T) {
	many := make([]string, api.MaxRemoveTagsFiles+1)
	for i := range many {
		many[i] = "f" + strconv.Itoa(i)
	}
	tests := []struct {
		name      string
		ids, tags []string
		wantErr   string
	}{
		{"TooManyFiles", many, []string{"x"}, "at most 50"},
		{"NoFiles", nil, []string{"x"}, "at least one"},
		{"NoTags", []string{"f1"}, nil, "at least one"},
	}
	for _, call := range bulkCalls {
		for _, tt := range tests {
			t.Run(call.name+"/"+tt.name, func(t *testing.T) {
				c, rec, _ := serve(t, []http.HandlerFunc{answer(200, map[string]any{})})
				_, err := call.run(c, context.Background(), tt.ids, tt.tags)
				require.ErrorIs(t, err, api.ErrBadRequest)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Empty(t, rec.Requests())
				assert.Equal(t, api.Stats{}, c.Stats())
			})
		}
	}
}

func TestRemoveTagsAcceptsFifty(t *testing.T) {
	ids := make([]string, api.MaxRemoveTagsFiles)
	for i := range ids {
		ids[i] = fmt.Sprintf("f%02d", i)
	}
	c, rec, _ := serve(t, []http.HandlerFunc{answer(200, map[string]any{"successfullyUpdatedFileIds": ids})})
	got, err := c.RemoveTags(context.Background(), ids, []string{"x"})
	require.NoError(t, err)
	assert.Equal(t, ids, got.Succeeded)
	assert.Len(t, rec.Requests(), 1)
}

// library serves GET /v1/files over n generated files, honouring skip and limit.
func library(n int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		skip, _ := strconv.Atoi(q.Get("skip"))
		limit := 1000
		if l := q.Get("limit"); l != "" {
			limit, _ = strconv.Atoi(l)
		}
		page := []map[string]any{}
		for i := skip; i < n && i < skip+limit; i++ {
			page = append(page, map[string]any{
				"fileId": fmt.Sprintf("id%05d", i), "type": "file", "name": fmt.Sprintf("f%d.jpg", i),
				"filePath": fmt.Sprintf("/p/f%d.jpg", i), "tags": []string{"t"}, "AITags": nil,
				"createdAt": "2024-01-02T03:04:05.000Z", "updatedAt": "2024-01-02T03:04:05.000Z",
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(page)
	}
}

func TestListPaginates(t *testing.T) {
	tests := []struct {
		name      string
		files     int
		limit     int
		wantQuery []string
	}{
		{"ShortFirstPage", 3, 0, []string{"limit=1000"}},
		{"ExactMultipleNeedsEmptyPage", 4, 2, []string{"limit=2", "limit=2&skip=2", "limit=2&skip=4"}},
		{"SeveralPages", 2500, 1000, []string{"limit=1000", "limit=1000&skip=1000", "limit=1000&skip=2000"}},
		{"EmptyLibrary", 0, 0, []string{"limit=1000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, _ := serve(t, []http.HandlerFunc{library(tt.files)}, api.WithListPrefetch(1))
			var ids []string
			for f, err := range c.List(context.Background(), api.ListParams{Limit: tt.limit}) {
				require.NoError(t, err)
				ids = append(ids, f.FileID)
			}
			require.Len(t, ids, tt.files)
			if tt.files > 0 {
				assert.Equal(t, fmt.Sprintf("id%05d", tt.files-1), ids[len(ids)-1])
			}
			var queries []string
			for _, r := range rec.Requests() {
				assert.Equal(t, "/v1/files", r.Path)
				queries = append(queries, r.Query)
			}
			assert.Equal(t, tt.wantQuery, queries)
			assert.Equal(t, int64(len(tt.wantQuery)), c.Stats().List)
		})
	}
}

func TestListStopsWhenTheCallerStops(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{library(5000)}, api.WithListPrefetch(1))
	n := 0
	for _, err := range c.List(context.Background(), api.ListParams{Limit: 10}) {
		require.NoError(t, err)
		n++
		if n == 15 {
			break
		}
	}
	assert.Len(t, rec.Requests(), 2)
}

func TestListSendsParameters(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{answer(200, []any{})})
	p := api.ListParams{
		Path: "/products/", SearchQuery: `path : "/products/" AND tags IN ["sale"]`,
		Type: "file", Sort: "ASC_CREATED", FileType: "image", Limit: 50, Skip: 100,
	}
	for _, err := range c.List(context.Background(), p) {
		require.NoError(t, err)
	}
	reqs := rec.Requests()
	require.Len(t, reqs, 1)
	want := "fileType=image&limit=50&path=%2Fproducts%2F&searchQuery=path+%3A+%22%2Fproducts%2F%22+AND+tags+IN+%5B%22sale%22%5D&skip=100&sort=ASC_CREATED&type=file"
	assert.Equal(t, want, reqs[0].Query)
}

func TestListRefusesBadPageSize(t *testing.T) {
	for _, p := range []api.ListParams{{Limit: 1001}, {Limit: -1}, {Skip: -5}} {
		t.Run(fmt.Sprintf("Limit%dSkip%d", p.Limit, p.Skip), func(t *testing.T) {
			c, rec, _ := serve(t, []http.HandlerFunc{answer(200, []any{})})
			var errs []error
			for f, err := range c.List(context.Background(), p) {
				assert.Zero(t, f)
				errs = append(errs, err)
			}
			require.Len(t, errs, 1)
			assert.ErrorIs(t, errs[0], api.ErrBadRequest)
			assert.Empty(t, rec.Requests())
		})
	}
}

func TestListErrorEndsIteration(t *testing.T) {
	c, rec, _ := serve(t, []http.HandlerFunc{library(2000), answer(401, errBody("no key"))}, api.WithListPrefetch(1))
	var n int
	var last error
	for _, err := range c.List(context.Background(), api.ListParams{}) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	assert.Equal(t, 1000, n)
	assert.ErrorIs(t, last, api.ErrAuth)
	assert.Len(t, rec.Requests(), 2)
}

func TestNullListsDecodeAsEmpty(t *testing.T) {
	file := `{"fileId":"a","type":"file","name":"a.jpg","filePath":"/a.jpg","tags":null,"AITags":null,"createdAt":"2024-01-01T00:00:00Z","updatedAt":"2024-01-01T00:00:00Z"}`
	c, _, _ := serve(t, []http.HandlerFunc{answer(200, "["+file+"]"), answer(200, file)})

	pg, err := c.ListPage(context.Background(), api.ListParams{})
	page := pg.Files
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.NotNil(t, page[0].Tags)
	assert.Empty(t, page[0].Tags)
	assert.NotNil(t, page[0].AITags)

	f, err := c.Details(context.Background(), "a")
	require.NoError(t, err)
	assert.NotNil(t, f.Tags)
	assert.Empty(t, f.Tags)
}

func TestDetails(t *testing.T) {
	file := map[string]any{
		"fileId": "id/1", "type": "file", "name": "x.png", "filePath": "/x.png", "fileType": "image",
		"tags": []string{"a", "b"}, "AITags": []map[string]any{{"name": "Shoe", "confidence": 91.5, "source": "google-auto-tagging"}},
		"createdAt": "2024-01-02T03:04:05Z", "updatedAt": "2024-02-02T03:04:05Z",
	}
	t.Run("FoundFile", func(t *testing.T) {
		c, rec, _ := serve(t, []http.HandlerFunc{answer(200, file)})
		f, err := c.Details(context.Background(), "id/1")
		require.NoError(t, err)
		assert.Equal(t, "id/1", f.FileID)
		assert.Equal(t, []string{"a", "b"}, f.Tags)
		assert.Equal(t, []api.AITag{{Name: "Shoe", Confidence: 91.5, Source: "google-auto-tagging"}}, f.AITags)
		assert.Equal(t, 2024, f.CreatedAt.Year())
		reqs := rec.Requests()
		require.Len(t, reqs, 1)
		assert.Equal(t, "/v1/files/id/1/details", reqs[0].Path) // escaped on the wire, decoded by the server
		assert.Equal(t, int64(1), c.Stats().Details)
	})
	t.Run("MissingFileIsNotFound", func(t *testing.T) {
		c, rec, _ := serve(t, []http.HandlerFunc{answer(404, errBody("The requested file does not exist."))})
		_, err := c.Details(context.Background(), "nope")
		require.ErrorIs(t, err, api.ErrNotFound)
		assert.Contains(t, err.Error(), "The requested file does not exist")
		assert.Len(t, rec.Requests(), 1)
	})
	t.Run("EmptyIDRefusedLocally", func(t *testing.T) {
		c, rec, _ := serve(t, []http.HandlerFunc{answer(200, file)})
		_, err := c.Details(context.Background(), "")
		require.ErrorIs(t, err, api.ErrBadRequest)
		assert.Empty(t, rec.Requests())
	})
}

func TestMalformedAnswers(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"NotJSON", "<html>gateway</html>"},
		{"WrongShape", `{"files": []}`},
		{"Null", "null"},
		{"BadTimestamp", `[{"fileId":"a","createdAt":"yesterday"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, _ := serve(t, []http.HandlerFunc{answer(200, tt.body)})
			_, err := c.ListPage(context.Background(), api.ListParams{})
			require.ErrorIs(t, err, api.ErrDecode)
			assert.Contains(t, err.Error(), "/v1/files?limit=1000")
			assert.Contains(t, err.Error(), "HTTP 200")
			assert.Len(t, rec.Requests(), 1, "a complete but malformed answer is not retried")
		})
	}
}

func TestErrorUnwrapsKindAndCause(t *testing.T) {
	cause := errors.New("boom")
	err := error(&api.Error{Op: "list files", Kind: api.ErrTransport, Err: cause})
	assert.ErrorIs(t, err, api.ErrTransport)
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, api.ErrAuth)
}
