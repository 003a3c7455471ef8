package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/imagekit-developer/imagekit-go/v2"
	"github.com/imagekit-developer/imagekit-go/v2/option"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// expertWorkers is how many RemoveTags calls the expert script keeps in
// flight.
const expertWorkers = 4

// runExpert does the job the way an expert user of the official Go SDK
// (left at its defaults) would: ask the API for the candidates only
// (`path : "/products/" AND tags IN [...]`; a glob cannot be searched, so
// then the whole folder), compute each file's removals locally, group the
// files by identical removals, and send chunks of 50 from expertWorkers
// goroutines behind a client-side limiter at the account's rate limit
// (requestsPerSecond; 0 means none). Every request, list or RemoveTags,
// waits for the limiter.
func runExpert(ctx context.Context, baseURL, key string, forbidden []string, glob bool, requestsPerSecond int) error {
	client := imagekit.NewClient(option.WithBaseURL(baseURL), option.WithPrivateKey(key))
	limit := rate.Inf
	if requestsPerSecond > 0 {
		limit = rate.Limit(requestsPerSecond)
	}
	limiter := rate.NewLimiter(limit, 1)

	query := fmt.Sprintf("path : %q", scope)
	if !glob {
		quoted := make([]string, len(forbidden))
		for i, t := range forbidden {
			quoted[i] = fmt.Sprintf("%q", t)
		}
		query += " AND tags IN [" + strings.Join(quoted, ",") + "]"
	}
	groups := map[string][]string{}
	for skip := 0; ; skip += sdkPageSize {
		if err := limiter.Wait(ctx); err != nil {
			return err
		}
		page, err := client.Assets.List(ctx, imagekit.AssetListParams{
			SearchQuery: imagekit.String(query),
			Limit:       imagekit.Int(sdkPageSize),
			Skip:        imagekit.Int(int64(skip)),
		})
		if err != nil {
			return fmt.Errorf("expert: list %s from %d: %w", query, skip, err)
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

	type call struct{ ids, tags []string }
	var calls []call
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for ids := range slices.Chunk(groups[k], 50) {
			calls = append(calls, call{ids: ids, tags: strings.Split(k, "\x00")})
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(expertWorkers)
	for _, c := range calls {
		g.Go(func() error {
			if err := limiter.Wait(gctx); err != nil {
				return err
			}
			if _, err := client.Files.Bulk.RemoveTags(gctx, imagekit.FileBulkRemoveTagsParams{FileIDs: c.ids, Tags: c.tags}); err != nil {
				return fmt.Errorf("expert: remove %q from %d files: %w", c.tags, len(c.ids), err)
			}
			return nil
		})
	}
	return g.Wait()
}
