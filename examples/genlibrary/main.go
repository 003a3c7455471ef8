// Command genlibrary writes examples/library.json, a made-up but realistic
// ImageKit library for trying examples/manifest.yaml offline:
//
//	go run ./examples/genlibrary > examples/library.json
//
// The output is the same on every run (fixed seed, fixed dates).
package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/tagprune/tagprune/api/imagekittest"
)

// legalHoldIDs are the files that examples/manifest.yaml names by fileId.
var legalHoldIDs = []string{
	"65a1f0c2e4b0d1a2b3c4d5e6",
	"65a1f0c2e4b0d1a2b3c4d5e7",
	"65a1f0c2e4b0d1a2b3c4d5e8",
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

// generate returns the library in the library format, built by the
// emulator's generator.
func generate() ([]byte, error) {
	g := imagekittest.NewGenerator(2024, 301)
	for _, f := range folders() {
		g.Folder(f)
	}
	var out bytes.Buffer
	if err := imagekittest.EncodeLibrary(&out, g.Files()); err != nil {
		return nil, fmt.Errorf("encode the library: %w", err)
	}
	return out.Bytes(), nil
}

// folders describes the library, folder by folder.
func folders() []imagekittest.FolderSpec {
	return []imagekittest.FolderSpec{
		{Path: "/products/shoes/", Count: 40, Stem: "shoe", From: day("2021-03-01"), To: day("2024-06-30"),
			Tags: []string{"shoes", "leather", "new-arrival", "bestseller", "running"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				// A few shoes were pulled into the 2022 sale.
				return slices.Concat(g.Maybe(0.08, "spring-sale-2022"), g.Maybe(0.05, "sale"))
			},
			AITags: []string{"Shoe", "Footwear", "Sneakers", "sale", "Leather"}},
		{Path: "/products/bags/", Count: 30, Stem: "bag", From: day("2021-01-15"), To: day("2024-05-31"),
			Tags:   []string{"bags", "leather", "bestseller", "travel"},
			Extra:  func(g *imagekittest.Generator, i int) []string { return g.Maybe(0.04, "sale") },
			AITags: []string{"Handbag", "Bag", "Luggage", "sale"}},
		{Path: "/products/spring-sale-2022/", Count: 25, Stem: "spring-sale", From: day("2022-02-01"), To: day("2022-04-30"),
			Tags: []string{"shoes", "bags", "bestseller"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				if i%3 == 2 { // already cleaned up by hand
					return nil
				}
				return slices.Concat([]string{"spring-sale-2022"}, g.Maybe(0.4, "sale"))
			},
			AITags: []string{"Sale", "sale", "Shoe", "Banner"}},
		{Path: "/products/accessories/", Count: 25, Stem: "accessory", From: day("2022-06-01"), To: day("2024-08-31"),
			Tags:   []string{"accessories", "belts", "wallets", "new-arrival"},
			AITags: []string{"Belt", "Wallet", "Accessory"}},
		{Path: "/marketing/banners/", Count: 30, Stem: "banner", From: day("2023-01-10"), To: day("2024-09-30"),
			Tags: []string{"banner", "homepage", "campaign-2024-spring"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				return slices.Concat(g.Maybe(0.25, "campaign-2023-summer"), g.Maybe(0.15, "campaign-2023-bf"))
			},
			AITags: []string{"Banner", "Text", "Advertising", "campaign-2023-summer"}},
		{Path: "/marketing/social/", Count: 30, Stem: "post", From: day("2023-02-01"), To: day("2024-10-15"),
			Tags:   []string{"instagram", "facebook", "ugc", "campaign-2024-spring"},
			Extra:  func(g *imagekittest.Generator, i int) []string { return g.Maybe(0.2, "campaign-2023-holiday") },
			AITags: []string{"Person", "Smile", "Outdoor"}},
		{Path: "/marketing/archive/", Count: 25, Stem: "archived", From: day("2022-05-01"), To: day("2023-12-31"),
			Tags: []string{"archive", "banner"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				// The archive keeps its campaign tags: the manifest excludes it.
				return []string{[]string{"campaign-2023-summer", "campaign-2023-bf", "campaign-2022-xmas"}[i%3]}
			},
			AITags: []string{"Banner", "Text"}},
		{Path: "/blog/2023/", Count: 30, Stem: "post-2023", From: day("2023-01-05"), To: day("2023-12-20"),
			Tags: []string{"blog", "hero", "inline"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				return slices.Concat(g.Maybe(0.25, "draft"), g.Maybe(0.15, "needs-review"))
			},
			AITags: []string{"Laptop", "Coffee", "draft", "Desk"}},
		{Path: "/blog/2024/", Count: 25, Stem: "post-2024", From: day("2024-01-08"), To: day("2024-11-30"),
			Tags: []string{"blog", "hero", "inline"},
			// Drafts of 2024 are real drafts: the manifest's searchQuery leaves them.
			Extra:  func(g *imagekittest.Generator, i int) []string { return g.Maybe(0.3, "draft") },
			AITags: []string{"Laptop", "Phone", "Desk"}},
		{Path: "/press/", Count: 20, Stem: "press", From: day("2023-06-01"), To: day("2024-02-28"), IDs: legalHoldIDs,
			Tags: []string{"press", "executive", "event"},
			Extra: func(g *imagekittest.Generator, i int) []string {
				// The first files are the ones legal released; the others stay on hold.
				if i < len(legalHoldIDs) || i%5 == 0 {
					return []string{"legal-hold"}
				}
				return nil
			},
			AITags: []string{"Person", "Suit", "Stage"}},
		{Path: "/legal/", Count: 10, Stem: "contract", From: day("2021-01-01"), To: day("2024-06-30"),
			Tags: []string{"contract", "signed", "legal-hold"}, Format: "pdf", Private: true},
		{Path: "/brand/logos/", Count: 10, Stem: "logo", From: day("2020-01-01"), To: day("2023-06-30"),
			Tags: []string{"logo", "brand", "svg-source"}, Format: "png",
			AITags: []string{"Logo", "Font"}},
	}
}

// day parses a YYYY-MM-DD date of the folder table.
func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
