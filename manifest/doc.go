// Package manifest loads and validates tagprune manifests into Rules, and
// compiles Rules into a Matcher that says which tags each file must lose.
//
// It does no network I/O and reads nothing but the files it is given. A Rule
// is the one rule model of tagprune: Load returns it, a plan file carries it
// (its JSON form), and Compile turns it into the form every check uses.
package manifest
