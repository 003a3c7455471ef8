package manifest

// DocumentForSchema lets the external tests generate the JSON Schema from
// the document types the loader decodes into.
type DocumentForSchema = manifestDoc
