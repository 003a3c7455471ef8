package imagekittest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // image sizes of uploads
	_ "image/jpeg" // image sizes of uploads
	_ "image/png"  // image sizes of uploads
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"time"
)

// This file holds the endpoints a test uses to make and remove its own
// files: a minimal upload and the deletion of a folder.

// urlEndpoint is the URL endpoint of uploaded files.
const urlEndpoint = "https://ik.imagekit.io/emulator"

// uploadForm is what an upload request gives.
type uploadForm struct {
	content        []byte
	fileName       string
	folder         string
	tags           []string
	unique         bool
	private        bool
	published      bool
	customMetadata json.RawMessage
	responseFields []string
}

// uploadedObject is an uploaded file as searches serve it.
type uploadedObject struct {
	FileID            string          `json:"fileId"`
	Type              string          `json:"type"`
	Name              string          `json:"name"`
	FilePath          string          `json:"filePath"`
	Tags              []string        `json:"tags"`
	AITags            []AITag         `json:"AITags"`
	VersionInfo       VersionInfo     `json:"versionInfo"`
	IsPrivateFile     bool            `json:"isPrivateFile"`
	IsPublished       bool            `json:"isPublished"`
	CustomCoordinates *string         `json:"customCoordinates"`
	URL               string          `json:"url"`
	Thumbnail         string          `json:"thumbnail"`
	FileType          string          `json:"fileType"`
	Mime              string          `json:"mime"`
	Width             *int            `json:"width,omitempty"`
	Height            *int            `json:"height,omitempty"`
	Size              int             `json:"size"`
	HasAlpha          bool            `json:"hasAlpha"`
	CustomMetadata    json.RawMessage `json:"customMetadata"`
	CreatedAt         string          `json:"createdAt"`
	UpdatedAt         string          `json:"updatedAt"`
}

// uploadAnswer is the answer to an upload, in the upload API's shape.
type uploadAnswer struct {
	FileID            string           `json:"fileId"`
	Name              string           `json:"name"`
	Size              int              `json:"size"`
	VersionInfo       VersionInfo      `json:"versionInfo"`
	FilePath          string           `json:"filePath"`
	URL               string           `json:"url"`
	FileType          string           `json:"fileType"`
	Height            *int             `json:"height,omitempty"`
	Width             *int             `json:"width,omitempty"`
	ThumbnailURL      string           `json:"thumbnailUrl"`
	Tags              []string         `json:"tags"`
	AITags            []AITag          `json:"AITags"`
	IsPrivateFile     *bool            `json:"isPrivateFile,omitempty"`
	CustomCoordinates *json.RawMessage `json:"customCoordinates,omitempty"`
	CustomMetadata    json.RawMessage  `json:"customMetadata,omitempty"`
}

// upload serves POST /api/v1/files/upload: a multipart form with the file
// (as a file part, or base64 text), fileName, and optionally folder, tags
// (comma-separated), useUniqueFileName (default true), isPrivateFile,
// isPublished, customMetadata (a JSON object) and responseFields. With a
// unique name, the name gets a random suffix; without one, a file already
// at that path is replaced by a new version of it (same fileId, its tags
// and AITags replaced).
func (h *Handler) upload(w http.ResponseWriter, c *apiCall) {
	form, err := h.parseUpload(c.r, c.body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	summary, _ := json.Marshal(map[string]any{
		"fileName": form.fileName, "folder": form.folder, "tags": form.tags,
		"useUniqueFileName": form.unique, "size": len(form.content),
	})
	h.logBody(c.log, summary)

	now := h.cfg.clock().UTC().Truncate(time.Millisecond)
	mimeType, fileType, width, height, alpha := describeContent(form.fileName, form.content)
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	name := form.fileName
	if form.unique {
		name = h.uniqueName(name)
	}
	filePath := form.folder + name
	obj := uploadedObject{
		Type: "file", Name: name, FilePath: filePath, Tags: form.tags,
		IsPrivateFile: form.private, IsPublished: form.published,
		URL: urlEndpoint + filePath, Thumbnail: urlEndpoint + "/tr:n-ik_ml_thumbnail" + filePath,
		FileType: fileType, Mime: mimeType, Width: width, Height: height, Size: len(form.content), HasAlpha: alpha,
		CustomMetadata: form.customMetadata, CreatedAt: formatTime(now), UpdatedAt: formatTime(now),
	}
	if len(obj.CustomMetadata) == 0 {
		obj.CustomMetadata = json.RawMessage("{}")
	}
	old := h.store.byPath(filePath)
	if old != nil {
		obj.FileID = old.id
		obj.CreatedAt = formatTime(old.createdAt())
		versions := 1
		if m, ok := findMember(old.raw, "versionInfo"); ok {
			var vi VersionInfo
			if json.Unmarshal(old.raw[m.from:m.to], &vi) == nil {
				if _, err := fmt.Sscanf(vi.Name, "Version %d", &versions); err != nil {
					versions = 1
				}
			}
		}
		obj.VersionInfo = VersionInfo{ID: h.newID(), Name: fmt.Sprintf("Version %d", versions+1)}
		h.store.unindex(old)
	} else {
		obj.FileID = h.newID()
		obj.VersionInfo = VersionInfo{ID: obj.FileID, Name: "Version 1"}
	}
	raw, err := json.MarshalIndent(obj, "  ", "  ")
	if err == nil {
		_, err = h.store.add(raw)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not store the upload: "+err.Error())
		return
	}
	ans := uploadAnswer{
		FileID: obj.FileID, Name: name, Size: obj.Size, VersionInfo: obj.VersionInfo, FilePath: filePath,
		URL: obj.URL, FileType: fileType, Height: height, Width: width,
		ThumbnailURL: obj.Thumbnail, Tags: obj.Tags,
	}
	for _, f := range form.responseFields {
		switch f {
		case "isPrivateFile":
			ans.IsPrivateFile = &obj.IsPrivateFile
		case "customCoordinates":
			null := json.RawMessage("null")
			ans.CustomCoordinates = &null
		case "customMetadata":
			ans.CustomMetadata = obj.CustomMetadata
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// parseUpload reads an upload's multipart form.
func (h *Handler) parseUpload(r *http.Request, body []byte) (*uploadForm, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, errors.New("an upload is a multipart/form-data request: send the file in the field file and its name in fileName")
	}
	form := &uploadForm{folder: "/", unique: true, published: true}
	fields := map[string]string{}
	hasFile := false
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed multipart body: %v", err)
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, fmt.Errorf("malformed multipart body: %v", err)
		}
		if part.FormName() == "file" {
			hasFile = true
			if part.FileName() != "" {
				form.content = data
				continue
			}
			if form.content, err = textContent(string(data)); err != nil {
				return nil, err
			}
			continue
		}
		fields[part.FormName()] = string(data)
	}
	if !hasFile {
		return nil, errors.New("missing file parameter for upload: send the file's bytes in the field file")
	}
	form.fileName = fields["fileName"]
	if form.fileName == "" {
		return nil, errors.New("missing fileName parameter for upload: name the file")
	}
	if strings.Contains(form.fileName, "/") {
		return nil, fmt.Errorf("fileName %q holds a /: give the folder in the field folder", form.fileName)
	}
	if f, ok := fields["folder"]; ok && f != "" {
		if strings.Contains(f, "//") || strings.Contains(f, "..") {
			return nil, fmt.Errorf("folder %q is not a folder path such as /products/shoes", f)
		}
		form.folder = path.Clean("/"+f) + "/"
		if form.folder == "//" {
			form.folder = "/"
		}
	}
	if t := fields["tags"]; t != "" {
		for _, tag := range strings.Split(t, ",") {
			if tag = strings.TrimSpace(tag); tag != "" && !contains(form.tags, tag) {
				form.tags = append(form.tags, tag)
			}
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"useUniqueFileName", &form.unique}, {"isPrivateFile", &form.private}, {"isPublished", &form.published}} {
		switch v := fields[b.name]; v {
		case "":
		case "true":
			*b.dst = true
		case "false":
			*b.dst = false
		default:
			return nil, fmt.Errorf("%s %q is not true or false", b.name, v)
		}
	}
	if cm := fields["customMetadata"]; cm != "" {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(cm), &obj); err != nil {
			return nil, fmt.Errorf("customMetadata is not a JSON object: %v", err)
		}
		form.customMetadata = json.RawMessage(cm)
	}
	if rf := fields["responseFields"]; rf != "" {
		form.responseFields = strings.Split(rf, ",")
	}
	return form, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// textContent reads a file given as text: base64, or a data URI. A URL
// would need a download, which the emulator does not do.
func textContent(s string) ([]byte, error) {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return nil, errors.New("uploading from a URL is not supported by the emulator: send the file's bytes")
	}
	if _, data, ok := strings.Cut(s, ";base64,"); ok && strings.HasPrefix(s, "data:") {
		s = data
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("the field file is neither a file part nor base64: send the file's bytes as a file part")
	}
	return b, nil
}

// describeContent returns the MIME type, file type and, for images it can
// read, the size and transparency of an upload.
func describeContent(name string, content []byte) (mimeType, fileType string, width, height *int, alpha bool) {
	mimeType = http.DetectContentType(content)
	if i := strings.IndexByte(mimeType, ';'); i >= 0 {
		mimeType = mimeType[:i]
	}
	if mimeType == "application/octet-stream" || mimeType == "text/plain" {
		if byExt := mime.TypeByExtension(path.Ext(name)); byExt != "" {
			mimeType, _, _ = strings.Cut(byExt, ";")
		}
	}
	fileType = "non-image"
	if strings.HasPrefix(mimeType, "image/") {
		fileType = "image"
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(content)); err == nil {
			w, h := cfg.Width, cfg.Height
			width, height = &w, &h
			switch cfg.ColorModel {
			case color.RGBAModel, color.RGBA64Model, color.NRGBAModel, color.NRGBA64Model, color.AlphaModel, color.Alpha16Model:
				alpha = true
			}
		}
	}
	return mimeType, fileType, width, height, alpha
}

// uniqueName adds a random suffix to a file name, before its extension.
// The caller holds h.store.mu.
func (h *Handler) uniqueName(name string) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	suffix := make([]byte, 9)
	for i := range suffix {
		suffix[i] = letters[h.rng.IntN(len(letters))]
	}
	return stem + "_" + string(suffix) + ext
}

// newID returns a new, unused 24-hex-digit id. The caller holds
// h.store.mu.
func (h *Handler) newID() string {
	h.rngMu.Lock()
	defer h.rngMu.Unlock()
	for {
		id := fmt.Sprintf("%08x%016x", h.rng.Uint32(), h.rng.Uint64())
		if h.store.byID[id] == nil {
			return id
		}
	}
}

// deleteFolder serves DELETE /v1/folder: {"folderPath": "/a/b/"} deletes
// the folder and every file in it and below; 204, or 404 when no file is
// there.
func (h *Handler) deleteFolder(w http.ResponseWriter, body []byte) {
	var req struct {
		FolderPath *string `json:"folderPath"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf(`malformed JSON body: %v; send {"folderPath": "/folder/"}`, err))
		return
	}
	if req.FolderPath == nil || *req.FolderPath == "" {
		writeError(w, http.StatusBadRequest, `folderPath is missing: send {"folderPath": "/folder/"}`)
		return
	}
	p := *req.FolderPath
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("folderPath %q is not a folder path such as /products/old/", p))
		return
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if p == "/" {
		writeError(w, http.StatusBadRequest, "folderPath / is the root folder, which cannot be deleted")
		return
	}
	if !h.store.removeFolder(p) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("No folder found with folderPath %s.", strings.TrimSuffix(p, "/")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
