package imagekittest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// Generated libraries draw from these folders, tags and names.
var (
	genSections = []string{"products", "campaigns", "blog", "brand", "users", "archive"}
	genGroups   = []string{"shoes", "bags", "summer", "winter", "sale", "news", "team", "press", "home", "kids", "outdoor", "misc"}
	genTags     = []string{
		"product", "hero", "banner", "thumbnail", "lifestyle", "catalog", "approved", "draft",
		"sale2019", "sale2020", "black-friday", "summer-sale", "winter-sale", "campaign-2023-spring",
		"campaign-2023-fall", "campaign-2024-spring", "legacy", "do-not-use", "internal", "press",
		"social", "instagram", "retouched", "print", "web", "mobile", "new-arrival", "clearance",
	}
	genAITags = []string{"Shoe", "Bag", "Person", "Outdoor", "Text", "Sky", "Product", "Clothing"}
	genExts   = []struct{ ext, mime, fileType string }{
		{"jpg", "image/jpeg", "image"}, {"png", "image/png", "image"}, {"webp", "image/webp", "image"},
		{"mp4", "video/mp4", "non-image"}, {"pdf", "application/pdf", "non-image"},
	}
)

// GenerateLibrary returns n realistic files built deterministically from
// seed: nested folders (/products/shoes/2021/ ...), a skewed mix of tags
// (some forbidden-looking, such as sale2019 and campaign-2023-*), AITags on
// some images, and createdAt rising from 2019 in library order.
func GenerateLibrary(n int, seed int64) []File {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 6 * 365 * 24 * time.Hour / time.Duration(max(n, 1))
	files := make([]File, n)
	for i := range files {
		section := genSections[rng.IntN(len(genSections))]
		group := genGroups[rng.IntN(len(genGroups))]
		year := 2019 + rng.IntN(6)
		folder := fmt.Sprintf("/%s/%s/%d/", section, group, year)
		if rng.IntN(4) == 0 {
			folder += fmt.Sprintf("batch-%02d/", rng.IntN(40))
		}
		ext := genExts[rng.IntN(len(genExts))]
		id := fmt.Sprintf("%08x%016x", uint32(seed), uint64(i)*0x9e3779b97f4a7c15)
		name := fmt.Sprintf("%s-%s-%06d.%s", group, section, i, ext.ext)
		var tags []string
		for range rng.IntN(5) {
			// Squaring skews the draw towards the first, common tags.
			r := rng.Float64()
			t := genTags[int(r*r*float64(len(genTags)))]
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		var aiTags []AITag
		if ext.fileType == "image" && rng.IntN(3) == 0 {
			aiTags = append(aiTags, AITag{
				Name:       genAITags[rng.IntN(len(genAITags))],
				Confidence: 70 + float64(rng.IntN(30)),
				Source:     "google-auto-tagging",
			})
		}
		created := start.Add(time.Duration(i) * step)
		w, h := 0, 0
		if ext.fileType == "image" {
			w, h = 200+rng.IntN(3800), 200+rng.IntN(3800)
		}
		files[i] = File{
			FileID:         id,
			Type:           "file",
			Name:           name,
			FilePath:       folder + name,
			Tags:           tags,
			AITags:         aiTags,
			VersionInfo:    VersionInfo{ID: id, Name: "Version 1"},
			URL:            "https://ik.imagekit.io/demo" + folder + name,
			Thumbnail:      "https://ik.imagekit.io/demo/tr:n-ik_ml_thumbnail" + folder + name,
			FileType:       ext.fileType,
			Mime:           ext.mime,
			Width:          w,
			Height:         h,
			Size:           int64(1000 + rng.IntN(5_000_000)),
			CustomMetadata: map[string]any{},
			CreatedAt:      created,
			UpdatedAt:      created,
		}
	}
	return files
}
