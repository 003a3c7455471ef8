package imagekittest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/imagekit-developer/imagekit-go/v2"
	"github.com/imagekit-developer/imagekit-go/v2/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// TestOfficialSDK drives the emulator with the official ImageKit Go SDK,
// unchanged: if the SDK and the emulator disagree, the emulator is wrong.
func TestOfficialSDK(t *testing.T) {
	srv := imagekittest.NewServer(library(), imagekittest.WithPrivateKey("private_test_key"))
	defer srv.Close()
	client := imagekit.NewClient(
		option.WithBaseURL(srv.URL),
		option.WithPrivateKey("private_test_key"),
		option.WithMaxRetries(0),
	)
	ctx := context.Background()

	t.Run("SearchWithQuery", func(t *testing.T) {
		res, err := client.Assets.List(ctx, imagekit.AssetListParams{
			SearchQuery: imagekit.String(`path : "/products/" AND tags IN ["sale2019"]`),
			Sort:        imagekit.AssetListParamsSortDescCreated,
			Limit:       imagekit.Int(2),
		})
		require.NoError(t, err)
		var got []string
		for _, a := range *res {
			f := a.AsFileFileVersion()
			got = append(got, f.FileID)
			assert.Equal(t, imagekit.FileTypeFile, f.Type)
		}
		assert.Equal(t, []string{"f3", "f2"}, got)
		assert.Equal(t, "sale2019", (*res)[0].AsFileFileVersion().AITags[0].Name)
	})
	t.Run("ListFolderWithFolders", func(t *testing.T) {
		res, err := client.Assets.List(ctx, imagekit.AssetListParams{
			Path: imagekit.String("/products/"),
			Type: imagekit.AssetListParamsTypeAll,
		})
		require.NoError(t, err)
		require.Len(t, *res, 3)
		folder := (*res)[0].AsFolder()
		assert.Equal(t, "shoes", folder.Name)
		assert.Equal(t, "/products/shoes", folder.FolderPath)
		assert.Equal(t, "a.jpg", (*res)[1].AsFileFileVersion().Name)
	})
	t.Run("FileDetails", func(t *testing.T) {
		f, err := client.Files.Get(ctx, "f1")
		require.NoError(t, err)
		assert.Equal(t, "/products/a.jpg", f.FilePath)
		assert.Equal(t, []string{"sale2019", "hero"}, f.Tags)
		assert.Equal(t, library()[0].CreatedAt, f.CreatedAt)
		assert.EqualValues(t, 300, f.Size)
	})
	t.Run("MissingFileIsAnAPIError", func(t *testing.T) {
		_, err := client.Files.Get(ctx, "nope")
		var apiErr *imagekit.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	})
	t.Run("RemoveTags", func(t *testing.T) {
		res, err := client.Files.Bulk.RemoveTags(ctx, imagekit.FileBulkRemoveTagsParams{
			FileIDs: []string{"f1", "f5"},
			Tags:    []string{"sale2019"},
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"f1", "f5"}, res.SuccessfullyUpdatedFileIDs)
		files := byID(srv.Handler().Files())
		assert.Equal(t, []string{"hero"}, files["f1"].Tags)
		assert.Equal(t, []string{"draft"}, files["f5"].Tags)
	})
	t.Run("AddTags", func(t *testing.T) {
		res, err := client.Files.Bulk.AddTags(ctx, imagekit.FileBulkAddTagsParams{
			FileIDs: []string{"f6"},
			Tags:    []string{"new"},
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"f6"}, res.SuccessfullyUpdatedFileIDs)
		f, err := client.Files.Get(ctx, "f6")
		require.NoError(t, err)
		assert.Equal(t, []string{"new"}, f.Tags)
	})
	t.Run("RemoveTagsOfMissingFileIs404", func(t *testing.T) {
		_, err := client.Files.Bulk.RemoveTags(ctx, imagekit.FileBulkRemoveTagsParams{
			FileIDs: []string{"f4", "gone"},
			Tags:    []string{"keep"},
		})
		var apiErr *imagekit.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
		assert.Contains(t, apiErr.RawJSON(), `"missingFileIds":["gone"]`)
		assert.Equal(t, []string{"keep"}, byID(srv.Handler().Files())["f4"].Tags)
	})
	t.Run("WrongKeyIs401", func(t *testing.T) {
		other := imagekit.NewClient(option.WithBaseURL(srv.URL), option.WithPrivateKey("wrong"), option.WithMaxRetries(0))
		_, err := other.Files.Get(ctx, "f1")
		var apiErr *imagekit.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	})
	t.Run("RemoveAITags", func(t *testing.T) {
		res, err := client.Files.Bulk.RemoveAITags(ctx, imagekit.FileBulkRemoveAITagsParams{
			FileIDs: []string{"f3"},
			AITags:  []string{"sale2019"},
		})
		require.NoError(t, err)
		assert.Equal(t, []string{"f3"}, res.SuccessfullyUpdatedFileIDs)
		assert.Nil(t, byID(srv.Handler().Files())["f3"].AITags)
	})
	t.Run("UploadThenDeleteItsFolder", func(t *testing.T) {
		res, err := client.Files.Upload(ctx, imagekit.FileUploadParams{
			File:     bytes.NewReader(pngImage(t, 4, 4)),
			FileName: "dot.png",
			Folder:   imagekit.String("/tagprune-conformance-sdk/"),
			Tags:     []string{"conformance", "tiny"},
		}, option.WithBaseURL(srv.URL))
		require.NoError(t, err)
		assert.Equal(t, "/tagprune-conformance-sdk/"+res.Name, res.FilePath)
		assert.Equal(t, []string{"conformance", "tiny"}, res.Tags)
		assert.EqualValues(t, 4, res.Width)
		assert.Equal(t, "Version 1", res.VersionInfo.Name)
		f, err := client.Files.Get(ctx, res.FileID)
		require.NoError(t, err)
		assert.Equal(t, res.FilePath, f.FilePath)

		// ImageKit's API reference answers a folder deletion 204 with an
		// empty body, which the SDK's Folders.Delete (v2.10.0) cannot
		// decode: delete the folder with a plain request.
		req, err := http.NewRequest("DELETE", srv.URL+"/v1/folder", strings.NewReader(`{"folderPath":"/tagprune-conformance-sdk/"}`))
		require.NoError(t, err)
		req.SetBasicAuth("private_test_key", "")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		_, err = client.Files.Get(ctx, res.FileID)
		var apiErr *imagekit.Error
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	})
	t.Run("RequestsWereTheDocumentedOnes", func(t *testing.T) {
		reqs := srv.Handler().Requests()
		require.NotEmpty(t, reqs)
		q, err := url.ParseQuery(reqs[0].Query)
		require.NoError(t, err)
		assert.Equal(t, "/v1/files", reqs[0].Path)
		assert.Equal(t, `path : "/products/" AND tags IN ["sale2019"]`, q.Get("searchQuery"))
		assert.Equal(t, "DESC_CREATED", q.Get("sort"))
	})
}
