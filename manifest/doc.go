package manifest

import "github.com/invopop/jsonschema"

// SupportedVersion is the only manifest version this package reads.
const SupportedVersion = 1

// The types below are the manifest as written. The loader decodes into them
// and Schema reflects them, so the yaml names, the json names and the
// jsonschema constraints stay in one place. The structural checks of the
// loader read the same "required" and "minItems" tags.

// manifestDoc is one manifest file.
type manifestDoc struct {
	Version int       `yaml:"version" json:"version" jsonschema:"required" jsonschema_description:"Manifest format version. Only 1 is supported."`
	Rules   []ruleDoc `yaml:"rules" json:"rules" jsonschema:"required,minItems=1" jsonschema_description:"The rules of this manifest. Each one names the files it governs and the tags those files must not carry."`
}

// JSONSchemaExtend pins version to the supported value.
func (manifestDoc) JSONSchemaExtend(s *jsonschema.Schema) {
	if v, ok := s.Properties.Get("version"); ok {
		v.Const = SupportedVersion
	}
}

// ruleDoc is one entry of rules.
type ruleDoc struct {
	Name          string   `yaml:"name" json:"name" jsonschema:"required,minLength=1,pattern=\\S" jsonschema_description:"Unique name of the rule across all manifests loaded together. Shown in plans and reports."`
	Description   string   `yaml:"description" json:"description,omitempty" jsonschema_description:"Free text saying why the rule exists."`
	Files         filesDoc `yaml:"files" json:"files" jsonschema:"required" jsonschema_description:"Which files the rule governs: those under paths or listed in fileIds that match searchQuery and are not excluded."`
	ForbiddenTags []string `yaml:"forbiddenTags" json:"forbiddenTags" jsonschema:"required,minItems=1,minLength=1" jsonschema_description:"Tags that must not appear on the selected files. Exact and case-sensitive, or a glob (path.Match syntax) when the entry contains *, ? or [."`
}

// filesDoc is a rule's files selection.
type filesDoc struct {
	Paths       []string    `yaml:"paths" json:"paths,omitempty" jsonschema:"anyof_required=paths,minItems=1,pattern=^/" jsonschema_description:"Folders whose files (subfolders included) the rule governs. Each starts with /; / is the whole library."`
	FileIDs     []string    `yaml:"fileIds" json:"fileIds,omitempty" jsonschema:"anyof_required=fileIds,minItems=1,pattern=^[^\\s\"'\\\\]+$" jsonschema_description:"ImageKit fileIds the rule governs wherever they are."`
	SearchQuery string      `yaml:"searchQuery" json:"searchQuery,omitempty" jsonschema:"minLength=1,pattern=\\S" jsonschema_description:"Optional ImageKit searchQuery ANDed with the rest of the selection, such as createdAt < \"2024-01-01\"."`
	Exclude     *excludeDoc `yaml:"exclude" json:"exclude,omitempty" jsonschema_description:"Files left out of the rule even when selected above."`
}

// excludeDoc is the part of a selection removed from it.
type excludeDoc struct {
	Paths   []string `yaml:"paths" json:"paths,omitempty" jsonschema:"minItems=1,pattern=^/" jsonschema_description:"Folders (subfolders included) whose files the rule leaves alone."`
	FileIDs []string `yaml:"fileIds" json:"fileIds,omitempty" jsonschema:"minItems=1,pattern=^[^\\s\"'\\\\]+$" jsonschema_description:"fileIds the rule leaves alone."`
}

// JSONSchemaExtend requires an exclude to say something.
func (excludeDoc) JSONSchemaExtend(s *jsonschema.Schema) {
	one := uint64(1)
	s.MinProperties = &one
}
