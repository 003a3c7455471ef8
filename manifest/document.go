package manifest

// SupportedVersion is the only manifest version this package reads.
const SupportedVersion = 1

// The types below are the manifest as written. The loader decodes into them
// and the JSON Schema (manifest.schema.json) is generated from them by a
// test, so the yaml names, the json names and the jsonschema constraints
// stay in one place. The structural checks of the loader read the same
// "required" and "anyof_required" tags.

// manifestDoc is one manifest file.
type manifestDoc struct {
	Version int       `yaml:"version" json:"version" jsonschema:"required" jsonschema_description:"Manifest format version. Only 1 is supported."`
	Rules   []ruleDoc `yaml:"rules" json:"rules" jsonschema:"required,minItems=1" jsonschema_description:"The rules of this manifest. Each one names the files it governs and the tags those files must not carry."`
}

// ruleDoc is one entry of rules. It needs at least one of the fields of the
// anyof_required groups (forbiddenTags, allowedTags, replaceTags,
// forbiddenAITags).
type ruleDoc struct {
	Name            string            `yaml:"name" json:"name" jsonschema:"required,minLength=1,pattern=\\S" jsonschema_description:"Unique name of the rule across all manifests loaded together. Shown in plans and reports."`
	Description     string            `yaml:"description" json:"description,omitempty" jsonschema_description:"Free text saying why the rule exists."`
	Files           filesDoc          `yaml:"files" json:"files" jsonschema:"required" jsonschema_description:"Which files the rule governs: those under paths or listed in fileIds that match searchQuery and are not excluded."`
	ForbiddenTags   []string          `yaml:"forbiddenTags" json:"forbiddenTags,omitempty" jsonschema:"anyof_required=forbiddenTags,minItems=1,minLength=1" jsonschema_description:"Tags that must not appear on the selected files. Exact and case-sensitive, or a glob (path.Match syntax) when the entry contains *, ? or [."`
	AllowedTags     []string          `yaml:"allowedTags" json:"allowedTags,omitempty" jsonschema:"anyof_required=allowedTags,minItems=1,minLength=1" jsonschema_description:"An allowlist: every tag of a selected file that matches none of these entries (exact, or globs with *, ? or [) is removed. With forbiddenTags too, a tag is removed when it matches forbiddenTags or matches no allowedTags entry."`
	ReplaceTags     map[string]string `yaml:"replaceTags" json:"replaceTags,omitempty" jsonschema:"anyof_required=replaceTags" jsonschema_description:"Renames, OLD: NEW, exact tags: on a selected file that carries OLD, NEW is added, then OLD is removed."`
	ForbiddenAITags []string          `yaml:"forbiddenAITags" json:"forbiddenAITags,omitempty" jsonschema:"anyof_required=forbiddenAITags,minItems=1,minLength=1" jsonschema_description:"AITag names that must not appear on the selected files (exact, or globs with *, ? or [). Without this key, AITags are never touched."`
}

// filesDoc is a rule's files selection.
type filesDoc struct {
	Paths       []string    `yaml:"paths" json:"paths,omitempty" jsonschema:"anyof_required=paths,minItems=1,pattern=^/" jsonschema_description:"Folders whose files (subfolders included) the rule governs. Each starts with /; / is the whole library."`
	FileIDs     []string    `yaml:"fileIds" json:"fileIds,omitempty" jsonschema:"anyof_required=fileIds,minItems=1,pattern=^[^\\s\"'\\\\]+$" jsonschema_description:"ImageKit fileIds the rule governs wherever they are."`
	SearchQuery string      `yaml:"searchQuery" json:"searchQuery,omitempty" jsonschema:"minLength=1,pattern=\\S" jsonschema_description:"Optional ImageKit searchQuery ANDed with the rest of the selection, such as createdAt < \"2024-01-01\"."`
	Exclude     *excludeDoc `yaml:"exclude" json:"exclude,omitempty" jsonschema_description:"Files left out of the rule even when selected above."`
}

// excludeDoc is the part of a selection removed from it. It needs at least
// one of its fields (the schema says so with minProperties).
type excludeDoc struct {
	Paths   []string `yaml:"paths" json:"paths,omitempty" jsonschema:"minItems=1,pattern=^/" jsonschema_description:"Folders (subfolders included) whose files the rule leaves alone."`
	FileIDs []string `yaml:"fileIds" json:"fileIds,omitempty" jsonschema:"minItems=1,pattern=^[^\\s\"'\\\\]+$" jsonschema_description:"fileIds the rule leaves alone."`
}
