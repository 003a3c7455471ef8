// Command genlibrary writes examples/library.json, a made-up but realistic
// ImageKit library for trying examples/manifest.yaml offline:
//
//	go run ./examples/genlibrary > examples/library.json
//
// The output is the same on every run (fixed seed, fixed dates).
package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// file is one ImageKit file object in the library format: the emulator's
// own wire type, so the example always loads.
type (
	file        = imagekittest.File
	aiTag       = imagekittest.AITag
	versionInfo = imagekittest.VersionInfo
)

// legalHoldIDs are the files that examples/manifest.yaml names by fileId.
var legalHoldIDs = []string{
	"65a1f0c2e4b0d1a2b3c4d5e6",
	"65a1f0c2e4b0d1a2b3c4d5e7",
	"65a1f0c2e4b0d1a2b3c4d5e8",
}

const urlEndpoint = "https://ik.imagekit.io/demo"

// gen holds the generator's state.
type gen struct {
	rng   *rand.Rand
	ids   map[string]bool
	files []file
}

// folder describes the files of one folder.
type folder struct {
	path     string
	count    int
	stem     string   // file name stem
	from, to string   // createdAt range, YYYY-MM-DD
	common   []string // tags every file may carry
	extra    func(g *gen, i int) []string
	ai       []string // AITag names that may be assigned
	pdf      bool     // non-image documents
}

func main() {
	out, err := generate()
	if err == nil {
		_, err = os.Stdout.Write(out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genlibrary:", err)
		os.Exit(1)
	}
}

// generate returns the library as indented JSON.
func generate() ([]byte, error) {
	g := &gen{rng: rand.New(rand.NewPCG(2024, 301)), ids: map[string]bool{}}
	for _, f := range folders() {
		g.folder(f)
	}
	out, err := json.MarshalIndent(g.files, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode the library: %w", err)
	}
	return append(out, '\n'), nil
}

// maybe returns tag with probability p.
func (g *gen) maybe(p float64, tag string) []string {
	if g.rng.Float64() < p {
		return []string{tag}
	}
	return nil
}

func folders() []folder {
	return []folder{
		{path: "/products/shoes/", count: 40, stem: "shoe", from: "2021-03-01", to: "2024-06-30",
			common: []string{"shoes", "leather", "new-arrival", "bestseller", "running"},
			extra: func(g *gen, i int) []string {
				// A few shoes were pulled into the 2022 sale.
				return slices.Concat(g.maybe(0.08, "spring-sale-2022"), g.maybe(0.05, "sale"))
			},
			ai: []string{"Shoe", "Footwear", "Sneakers", "sale", "Leather"}},
		{path: "/products/bags/", count: 30, stem: "bag", from: "2021-01-15", to: "2024-05-31",
			common: []string{"bags", "leather", "bestseller", "travel"},
			extra:  func(g *gen, i int) []string { return g.maybe(0.04, "sale") },
			ai:     []string{"Handbag", "Bag", "Luggage", "sale"}},
		{path: "/products/spring-sale-2022/", count: 25, stem: "spring-sale", from: "2022-02-01", to: "2022-04-30",
			common: []string{"shoes", "bags", "bestseller"},
			extra: func(g *gen, i int) []string {
				if i%3 == 2 { // already cleaned up by hand
					return nil
				}
				return slices.Concat([]string{"spring-sale-2022"}, g.maybe(0.4, "sale"))
			},
			ai: []string{"Sale", "sale", "Shoe", "Banner"}},
		{path: "/products/accessories/", count: 25, stem: "accessory", from: "2022-06-01", to: "2024-08-31",
			common: []string{"accessories", "belts", "wallets", "new-arrival"},
			ai:     []string{"Belt", "Wallet", "Accessory"}},
		{path: "/marketing/banners/", count: 30, stem: "banner", from: "2023-01-10", to: "2024-09-30",
			common: []string{"banner", "homepage", "campaign-2024-spring"},
			extra: func(g *gen, i int) []string {
				return slices.Concat(g.maybe(0.25, "campaign-2023-summer"), g.maybe(0.15, "campaign-2023-bf"))
			},
			ai: []string{"Banner", "Text", "Advertising", "campaign-2023-summer"}},
		{path: "/marketing/social/", count: 30, stem: "post", from: "2023-02-01", to: "2024-10-15",
			common: []string{"instagram", "facebook", "ugc", "campaign-2024-spring"},
			extra:  func(g *gen, i int) []string { return g.maybe(0.2, "campaign-2023-holiday") },
			ai:     []string{"Person", "Smile", "Outdoor"}},
		{path: "/marketing/archive/", count: 25, stem: "archived", from: "2022-05-01", to: "2023-12-31",
			common: []string{"archive", "banner"},
			extra: func(g *gen, i int) []string {
				// The archive keeps its campaign tags: the manifest excludes it.
				return []string{[]string{"campaign-2023-summer", "campaign-2023-bf", "campaign-2022-xmas"}[i%3]}
			},
			ai: []string{"Banner", "Text"}},
		{path: "/blog/2023/", count: 30, stem: "post-2023", from: "2023-01-05", to: "2023-12-20",
			common: []string{"blog", "hero", "inline"},
			extra: func(g *gen, i int) []string {
				return slices.Concat(g.maybe(0.25, "draft"), g.maybe(0.15, "needs-review"))
			},
			ai: []string{"Laptop", "Coffee", "draft", "Desk"}},
		{path: "/blog/2024/", count: 25, stem: "post-2024", from: "2024-01-08", to: "2024-11-30",
			common: []string{"blog", "hero", "inline"},
			// Drafts of 2024 are real drafts: the manifest's searchQuery leaves them.
			extra: func(g *gen, i int) []string { return g.maybe(0.3, "draft") },
			ai:    []string{"Laptop", "Phone", "Desk"}},
		{path: "/press/", count: 20, stem: "press", from: "2023-06-01", to: "2024-02-28",
			common: []string{"press", "executive", "event"},
			extra: func(g *gen, i int) []string {
				// The first files are the ones legal released; the others stay on hold.
				if i < len(legalHoldIDs) || i%5 == 0 {
					return []string{"legal-hold"}
				}
				return nil
			},
			ai: []string{"Person", "Suit", "Stage"}},
		{path: "/legal/", count: 10, stem: "contract", from: "2021-01-01", to: "2024-06-30",
			common: []string{"contract", "signed", "legal-hold"}, pdf: true},
		{path: "/brand/logos/", count: 10, stem: "logo", from: "2020-01-01", to: "2023-06-30",
			common: []string{"logo", "brand", "svg-source"},
			ai:     []string{"Logo", "Font"}},
	}
}

// id returns a new random fileId of 24 hex characters.
func (g *gen) id() string {
	for {
		s := fmt.Sprintf("%08x%08x%08x", g.rng.Uint32(), g.rng.Uint32(), g.rng.Uint32())
		if !g.ids[s] {
			g.ids[s] = true
			return s
		}
	}
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func (g *gen) folder(f folder) {
	from, to := day(f.from), day(f.to)
	span := to.Sub(from)
	for i := range f.count {
		fileID := g.id()
		if f.path == "/press/" && i < len(legalHoldIDs) {
			fileID = legalHoldIDs[i]
			g.ids[fileID] = true
		}
		created := from.Add(time.Duration(g.rng.Int64N(int64(span)))).Truncate(time.Second).UTC()
		updated := created.Add(time.Duration(g.rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Second)

		var tags []string
		for _, t := range f.common {
			if g.rng.Float64() < 0.45 {
				tags = append(tags, t)
			}
		}
		if f.extra != nil {
			for _, t := range f.extra(g, i) {
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
		}
		var ai []aiTag
		for _, name := range f.ai {
			if g.rng.Float64() < 0.35 {
				source := "google-auto-tagging"
				if g.rng.IntN(2) == 0 {
					source = "aws-auto-tagging"
				}
				ai = append(ai, aiTag{Name: name, Confidence: float64(50+g.rng.IntN(50)) + float64(g.rng.IntN(100))/100, Source: source})
			}
		}

		ext, mime, fileType := ".jpg", "image/jpeg", "image"
		w, h := []int{800, 1200, 1600, 1920, 2400}[g.rng.IntN(5)], 0
		h = w * []int{9, 10, 12, 16}[g.rng.IntN(4)] / 16
		hasAlpha := false
		switch {
		case f.pdf:
			ext, mime, fileType, w, h = ".pdf", "application/pdf", "non-image", 0, 0
		case strings.HasPrefix(f.path, "/brand/"):
			ext, mime, hasAlpha = ".png", "image/png", true
		case g.rng.IntN(4) == 0:
			ext, mime = ".webp", "image/webp"
		}
		name := fmt.Sprintf("%s-%03d%s", f.stem, i+1, ext)
		filePath := f.path + name
		size := int64(30_000 + g.rng.IntN(2_500_000))
		if len(tags) == 0 {
			tags = nil
		}
		g.files = append(g.files, file{
			FileID:         fileID,
			Type:           "file",
			Name:           name,
			FilePath:       filePath,
			Tags:           tags,
			AITags:         ai,
			VersionInfo:    versionInfo{ID: fileID, Name: "Version 1"},
			IsPrivateFile:  strings.HasPrefix(f.path, "/legal/"),
			IsPublished:    true,
			URL:            urlEndpoint + filePath,
			Thumbnail:      urlEndpoint + "/tr:n-ik_ml_thumbnail" + filePath,
			FileType:       fileType,
			Mime:           mime,
			Width:          w,
			Height:         h,
			Size:           size,
			HasAlpha:       hasAlpha,
			CustomMetadata: map[string]any{},
			CreatedAt:      created,
			UpdatedAt:      updated,
		})
	}
}
