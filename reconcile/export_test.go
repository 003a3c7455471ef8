package reconcile

// BruteRemove lets the external tests share the package's brute-force
// oracle of remove(f).
var BruteRemove = bruteRemove
