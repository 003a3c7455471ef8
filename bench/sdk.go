package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/imagekit-developer/imagekit-go/v2"
	"github.com/imagekit-developer/imagekit-go/v2/option"
)

// sdkPageSize is the page the script asks for: the API's largest.
const sdkPageSize = 1000

// runSDK does what a careful user would do with the official Go SDK, left at
// its defaults (two retries, no pacing): list the folder page by page,
// compute each file's removals locally, then send one RemoveTags call per
// group of identical removals and 50 files, one call after another.
func runSDK(ctx context.Context, baseURL, key string, forbidden []string) error {
	client := imagekit.NewClient(option.WithBaseURL(baseURL), option.WithPrivateKey(key))
	groups := map[string][]string{}
	query := fmt.Sprintf("path : %q", scope)
	for skip := 0; ; skip += sdkPageSize {
		page, err := client.Assets.List(ctx, imagekit.AssetListParams{
			SearchQuery: imagekit.String(query),
			Limit:       imagekit.Int(sdkPageSize),
			Skip:        imagekit.Int(int64(skip)),
		})
		if err != nil {
			return fmt.Errorf("sdk: list %s from %d: %w", scope, skip, err)
		}
		for _, a := range *page {
			f := a.AsFileFileVersion()
			if rm := removals(f.Tags, forbidden); len(rm) > 0 {
				k := strings.Join(rm, "\x00")
				groups[k] = append(groups[k], f.FileID)
			}
		}
		if len(*page) < sdkPageSize {
			break
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		tags := strings.Split(k, "\x00")
		for ids := range slices.Chunk(groups[k], 50) {
			if _, err := client.Files.Bulk.RemoveTags(ctx, imagekit.FileBulkRemoveTagsParams{FileIDs: ids, Tags: tags}); err != nil {
				return fmt.Errorf("sdk: remove %q from %d files: %w", tags, len(ids), err)
			}
		}
	}
	return nil
}
