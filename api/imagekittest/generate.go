package imagekittest

import (
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"time"
)

// Generator builds made-up but realistic libraries, the same on every run
// for the same seeds: the one generator behind GenerateLibrary, the
// benchmarks' libraries and examples/library.json. Describe files one at a
// time with Add, or a folder of them with Folder, drawing from Rand.
type Generator struct {
	rng      *rand.Rand
	endpoint string
	ids      map[string]bool
	files    []File
}

// NewGenerator returns a Generator whose draws follow from the two seeds
// (a PCG source), with files under the URL endpoint
// https://ik.imagekit.io/demo.
func NewGenerator(seed1, seed2 uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed1, seed2)), endpoint: "https://ik.imagekit.io/demo", ids: map[string]bool{}}
}

// SetEndpoint sets the URL endpoint of the files added from now on.
func (g *Generator) SetEndpoint(url string) { g.endpoint = strings.TrimSuffix(url, "/") }

// Rand returns the generator's source of draws.
func (g *Generator) Rand() *rand.Rand { return g.rng }

// Files returns the files added so far, in the order they were added.
func (g *Generator) Files() []File { return g.files }

// NewID draws a fileId of 24 hex digits that no file of the generator has.
func (g *Generator) NewID() string {
	for {
		s := fmt.Sprintf("%08x%08x%08x", g.rng.Uint32(), g.rng.Uint32(), g.rng.Uint32())
		if !g.ids[s] {
			g.ids[s] = true
			return s
		}
	}
}

// Maybe returns []string{tag} with probability p, else nil.
func (g *Generator) Maybe(p float64, tag string) []string {
	if g.rng.Float64() < p {
		return []string{tag}
	}
	return nil
}

// FileSpec is what Add needs to know of a file; the rest of its object
// (type, name, versionInfo, url, thumbnail, mime, fileType) follows from it.
type FileSpec struct {
	ID        string // its fileId; drawn with NewID when empty
	Path      string // its filePath, "/folder/name.ext"; the extension gives its MIME type
	Tags      []string
	AITags    []AITag
	Created   time.Time
	Updated   time.Time // Created when zero
	Size      int64
	Width     int
	Height    int
	Private   bool
	Published bool
	HasAlpha  bool
}

// formats maps a file extension to its MIME type and file type.
var formats = map[string][2]string{
	"jpg":  {"image/jpeg", "image"},
	"jpeg": {"image/jpeg", "image"},
	"png":  {"image/png", "image"},
	"webp": {"image/webp", "image"},
	"gif":  {"image/gif", "image"},
	"svg":  {"image/svg+xml", "image"},
	"mp4":  {"video/mp4", "non-image"},
	"pdf":  {"application/pdf", "non-image"},
}

// Add completes the file spec describes, adds it to the library and
// returns it.
func (g *Generator) Add(spec FileSpec) File {
	if spec.ID == "" {
		spec.ID = g.NewID()
	}
	name := path.Base(spec.Path)
	format := formats[strings.TrimPrefix(path.Ext(name), ".")]
	if format[0] == "" {
		format = [2]string{"application/octet-stream", "non-image"}
	}
	updated := spec.Updated
	if updated.IsZero() {
		updated = spec.Created
	}
	g.ids[spec.ID] = true
	f := File{
		FileID:         spec.ID,
		Type:           "file",
		Name:           name,
		FilePath:       spec.Path,
		Tags:           spec.Tags,
		AITags:         spec.AITags,
		VersionInfo:    VersionInfo{ID: spec.ID, Name: "Version 1"},
		IsPrivateFile:  spec.Private,
		IsPublished:    spec.Published,
		URL:            g.endpoint + spec.Path,
		Thumbnail:      g.endpoint + "/tr:n-ik_ml_thumbnail" + spec.Path,
		FileType:       format[1],
		Mime:           format[0],
		Width:          spec.Width,
		Height:         spec.Height,
		Size:           spec.Size,
		HasAlpha:       spec.HasAlpha,
		CustomMetadata: map[string]any{},
		CreatedAt:      spec.Created,
		UpdatedAt:      updated,
	}
	g.files = append(g.files, f)
	return f
}

// FolderSpec describes the files of one folder for Folder.
type FolderSpec struct {
	Path     string    // the folder, "/products/shoes/"
	Count    int       // how many files
	Stem     string    // file names are STEM-001.jpg, STEM-002.jpg, ...
	From, To time.Time // createdAt is drawn in [From, To); updatedAt up to 90 days later
	// Tags are the tags a file may carry, each with probability 0.45.
	Tags []string
	// Extra returns more tags for the i-th file of the folder.
	Extra func(g *Generator, i int) []string
	// AITags are the AITag names a file may carry, each with probability 0.35.
	AITags []string
	// Format is "" for photos (JPEG, a quarter WebP), "png" for logos with
	// transparency, "pdf" for documents.
	Format  string
	Private bool     // private files
	IDs     []string // fileIds of the first files; the others are drawn
}

// Folder adds the files of one folder.
func (g *Generator) Folder(f FolderSpec) {
	span := f.To.Sub(f.From)
	for i := range f.Count {
		fileID := g.NewID()
		if i < len(f.IDs) {
			fileID = f.IDs[i]
			g.ids[fileID] = true
		}
		created := f.From.Add(time.Duration(g.rng.Int64N(int64(span)))).Truncate(time.Second).UTC()
		updated := created.Add(time.Duration(g.rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Second)

		var tags []string
		for _, t := range f.Tags {
			if g.rng.Float64() < 0.45 {
				tags = append(tags, t)
			}
		}
		if f.Extra != nil {
			for _, t := range f.Extra(g, i) {
				if !slices.Contains(tags, t) {
					tags = append(tags, t)
				}
			}
		}
		var ai []AITag
		for _, name := range f.AITags {
			if g.rng.Float64() < 0.35 {
				source := "google-auto-tagging"
				if g.rng.IntN(2) == 0 {
					source = "aws-auto-tagging"
				}
				ai = append(ai, AITag{Name: name, Confidence: float64(50+g.rng.IntN(50)) + float64(g.rng.IntN(100))/100, Source: source})
			}
		}

		ext := ".jpg"
		w, h := []int{800, 1200, 1600, 1920, 2400}[g.rng.IntN(5)], 0
		h = w * []int{9, 10, 12, 16}[g.rng.IntN(4)] / 16
		alpha := false
		switch {
		case f.Format == "pdf":
			ext, w, h = ".pdf", 0, 0
		case f.Format == "png":
			ext, alpha = ".png", true
		case g.rng.IntN(4) == 0:
			ext = ".webp"
		}
		name := fmt.Sprintf("%s-%03d%s", f.Stem, i+1, ext)
		size := int64(30_000 + g.rng.IntN(2_500_000))
		g.Add(FileSpec{
			ID: fileID, Path: f.Path + name, Tags: tags, AITags: ai,
			Created: created, Updated: updated, Size: size, Width: w, Height: h,
			Private: f.Private, Published: true, HasAlpha: alpha,
		})
	}
}

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
	genExts   = []string{"jpg", "png", "webp", "mp4", "pdf"}
)

// GenerateLibrary returns n realistic files built deterministically from
// seed: nested folders (/products/shoes/2021/ ...), a skewed mix of tags
// (some forbidden-looking, such as sale2019 and campaign-2023-*), AITags on
// some images, and createdAt rising from 2019 in library order.
func GenerateLibrary(n int, seed int64) []File {
	g := NewGenerator(uint64(seed), 0x5eed)
	rng := g.rng
	start := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 6 * 365 * 24 * time.Hour / time.Duration(max(n, 1))
	g.files = make([]File, 0, n)
	for i := range n {
		section := genSections[rng.IntN(len(genSections))]
		group := genGroups[rng.IntN(len(genGroups))]
		year := 2019 + rng.IntN(6)
		folder := fmt.Sprintf("/%s/%s/%d/", section, group, year)
		if rng.IntN(4) == 0 {
			folder += fmt.Sprintf("batch-%02d/", rng.IntN(40))
		}
		ext := genExts[rng.IntN(len(genExts))]
		image := formats[ext][1] == "image"
		id := fmt.Sprintf("%08x%016x", uint32(seed), uint64(i)*0x9e3779b97f4a7c15)
		name := fmt.Sprintf("%s-%s-%06d.%s", group, section, i, ext)
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
		if image && rng.IntN(3) == 0 {
			aiTags = append(aiTags, AITag{
				Name:       genAITags[rng.IntN(len(genAITags))],
				Confidence: 70 + float64(rng.IntN(30)),
				Source:     "google-auto-tagging",
			})
		}
		created := start.Add(time.Duration(i) * step)
		w, h := 0, 0
		if image {
			w, h = 200+rng.IntN(3800), 200+rng.IntN(3800)
		}
		g.Add(FileSpec{
			ID: id, Path: folder + name, Tags: tags, AITags: aiTags, Created: created,
			Size: int64(1000 + rng.IntN(5_000_000)), Width: w, Height: h,
		})
	}
	return g.files
}
